"""API tokens: named keys for the REST API, each with a role.

The plain token is returned once, by :func:`create`, and never stored: the database keeps its
SHA-256 only, so a leaked database does not leak working keys. Looking a token up by its hash
compares no secret byte by byte, so authentication takes the same time whatever was sent.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from ..database import unique_or
from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..models import ApiToken, Role, utcnow
from . import audit

PREFIX = "nl_"
NAME_MAX = 100
# Writing last_used_at on every call would make every API read a database write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class NoSuchToken(NotFound):
    """No API token has that name."""


class TokenProblem(NotAllowed):
    """The token cannot be created as asked (name taken, empty or too long)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(name: str, role: Role | str = Role.VIEWER) -> str:
    """Make a token called ``name`` with ``role``; returns the plain token, the one time it
    is ever seen."""
    name = name.strip()
    if not name or len(name) > NAME_MAX:
        raise TokenProblem(f"A token needs a name of 1 to {NAME_MAX} characters.")
    taken = TokenProblem(f"There is already a token called {name!r}.")
    if db.session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise taken
    token = PREFIX + secrets.token_urlsafe(32)
    with unique_or(taken):  # the same name added at the same moment elsewhere
        db.session.add(ApiToken(name=name, role=Role(role), token_hash=_digest(token)))
        audit.record("api_token.create", f"{name} ({Role(role)})")
        db.session.commit()
    return token


def authenticate(token: str) -> ApiToken | None:
    """The token's record if ``token`` is a live one, else None; notes when it was used."""
    if not token or not token.startswith(PREFIX):
        return None
    found = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if found is None:
        return None
    now = utcnow()
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_GRANULARITY:
        found.last_used_at = now
        db.session.commit()
    return found


def listed() -> list[ApiToken]:
    """Every token, by name (the hash is all they hold: nothing secret to show)."""
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.name)))


def get(name: str) -> ApiToken:
    """The token called ``name``, or :class:`NoSuchToken`."""
    found = db.session.scalar(select(ApiToken).where(ApiToken.name == name))
    if found is None:
        raise NoSuchToken(f"There is no token called {name!r}.")
    return found


def get_by_id(token_id: int) -> ApiToken:
    """The token with ``token_id`` (the admin's revoke button), or :class:`NoSuchToken`."""
    found = db.session.get(ApiToken, token_id)
    if found is None:
        raise NoSuchToken(f"There is no token {token_id}.")
    return found


def revoke(name: str) -> None:
    """Delete the token called ``name``: from now on it answers 401."""
    db.session.delete(get(name))
    audit.record("api_token.revoke", name)
    db.session.commit()
