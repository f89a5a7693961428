"""The REST API under ``/api/v1``: Bearer tokens with roles, JSON in and out, errors as
``application/problem+json``, and an OpenAPI 3.1 spec generated from the routes' own models.

Routes are thin: they parse the request with a pydantic model (spectree checks it against the
same model the spec shows) and call the service functions the admin and the CLI call.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # no cookies are read or set here: the Bearer token is the authority

from . import (  # noqa: E402, F401
    auth,
    docs,
    errors,
    issue_actions,
    issues,
    lists,
    media,
    segments,
    sequences,
    subscribers,
    webhooks,
)


def init_app(app: Flask) -> None:
    """Register the API, its docs page, and its answers to requests that match no route."""
    app.register_blueprint(bp)
    app.register_blueprint(docs.bp)
    errors.init_app(app)
