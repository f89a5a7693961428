"""Settings owners change in the admin rather than the environment, kept in the database
(``SiteSetting``, one JSON value per key): the mail layout, whether every admin must use
two-factor sign-in. Read with :func:`get`, written with :func:`put`."""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import SiteSetting


def get(key: str, default: Any = None) -> Any:
    """The value stored under ``key``, or ``default`` when owners never set it."""
    row = db.session.get(SiteSetting, key)
    return default if row is None else row.value


def put(key: str, value: Any) -> None:
    """Store ``value`` under ``key``; the caller commits (with the audit entry saying who)."""
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        row.value = value
