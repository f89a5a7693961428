"""Admin sessions: Flask-Login loads the admin by a per-account session token."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db, login
from ..models import AdminUser


@login.user_loader
def load_admin(session_token: str) -> AdminUser | None:
    """Find the admin whose current session token is in the cookie (rotated on password change)."""
    return db.session.scalar(select(AdminUser).where(AdminUser.session_token == session_token))
