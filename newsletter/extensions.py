"""Flask extensions, created unbound here and bound to the app in the factory."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base so models are typed SQLAlchemy 2.0 classes."""


class CountedElsewhereLimiter(Limiter):
    """Flask-Limiter, except for the endpoints named with :meth:`counted_elsewhere`.

    A request filter is not enough to leave an endpoint alone: Flask-Limiter asks the filters
    only after it has looked the view up, and goes on to check meta limits and exemption scopes
    for the empty list of limits the filter left (about 0.06 ms a request). Those endpoints have
    no Flask-Limiter limits, so skipping its before-request check changes nothing but the time.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counted_elsewhere: set[str] = set()

    def counted_elsewhere(self, endpoint: str) -> None:
        """Leave ``endpoint`` to its own counting: no Flask-Limiter check for its requests."""
        self._counted_elsewhere.add(endpoint)

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if request.endpoint in self._counted_elsewhere:
            return
        super()._check_request_limit(callable_name, in_middleware)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()  # bound by languages.init_app, which adds our language choice
limiter = CountedElsewhereLimiter(key_func=get_remote_address, default_limits=[])
