"""Roles: what an admin or an API token may do, and the one place that says no.

``owner`` may do everything, ``editor`` the newsletter's work, ``viewer`` read only (the
table is in the README, "Roles"). The role comes from the current actor: the API token the
API put on ``flask.g.api_token`` when there is one, else the logged-in admin. A refusal is
the same everywhere: whatever the request had begun is rolled back, an audit entry says who
was refused what, and the answer is 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request
from flask_login import current_user

from ..extensions import db
from ..models import Role
from . import audit

RANK = {Role.VIEWER: 0, Role.EDITOR: 1, Role.OWNER: 2}
View = TypeVar("View", bound=Callable[..., Any])


def may(role: Role | str | None, need: Role | str) -> bool:
    """True when ``role`` ranks at least as high as ``need`` (no role may nothing)."""
    if role is None:
        return False
    return RANK[Role(role)] >= RANK[Role(need)]


def current_role() -> Role | None:
    """The role of whoever makes this request: its API token, else the logged-in admin."""
    token = g.get("api_token")
    if token is not None:
        return Role(token.role)
    if current_user.is_authenticated:
        return Role(current_user.role)
    return None


def current_actor() -> str:
    """Who makes this request: ``token:NAME`` or the admin's address (as the audit log has it)."""
    return audit.current_actor()


def enforce(need: Role | str) -> None:
    """Let the request go on if the current actor may act as ``need``; else refuse: nothing
    changed, an audit entry, 403."""
    if may(current_role(), need):
        return
    db.session.rollback()
    audit.record(
        "forbidden",
        f"{request.method} {request.path} needs {Role(need)}, has {current_role() or 'none'}",
    )
    db.session.commit()
    abort(403)


def requires(need: Role) -> Callable[[View], View]:
    """A view decorator: the view runs only for an actor whose role is at least ``need``.
    The rule is kept on the view (``required_role``) so tests can check every route has one."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            enforce(need)
            return view(*args, **kwargs)

        guarded.required_role = need  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate
