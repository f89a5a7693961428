"""Admin accounts: argon2 password hashes and the session token Flask-Login keeps."""

from __future__ import annotations

import secrets
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..database import unique_or
from ..extensions import db
from ..models import AdminUser, Role, utcnow
from .admins import change_role, find

MIN_PASSWORD = 10
TAKEN = "There is already an admin with that address."
_hasher = PasswordHasher()


# Verified against when the address is unknown, so a wrong address costs as long as a
# wrong password and login timing reveals nothing about who has an account.
@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountProblem(ValueError):
    """The account cannot be created as asked; ``str(exc)`` says why."""


def set_admin(
    email: str, password: str, timezone: str = "UTC", role: Role | None = None
) -> tuple[AdminUser, bool]:
    """Create the admin (an owner unless ``role`` says otherwise), or reset an existing one's
    password (and role, when given); returns (admin, created)."""
    email = email.strip().lower()
    if "@" not in email:
        raise AccountProblem("That does not look like an email address.")
    if len(password) < MIN_PASSWORD:
        raise AccountProblem(f"The password needs at least {MIN_PASSWORD} characters.")
    check_timezone(timezone)
    admin = find(email)
    created = admin is None
    if created:
        admin = AdminUser(email=email, role=role or Role.OWNER)
        db.session.add(admin)
    elif role is not None:
        change_role(admin, role, commit=False)
    admin.password_hash = _hasher.hash(password)
    admin.timezone = timezone
    _rotate_session_token(admin)
    with unique_or(AccountProblem(TAKEN)):  # the same address added at the same instant
        db.session.commit()
    return admin, created


def add_admin(email: str, password: str, role: Role) -> AdminUser:
    """A new admin with a temporary password (an owner adds them in the admin); an address
    that already has an account is refused rather than having its password reset."""
    email = email.strip().lower()
    if find(email) is not None:
        raise AccountProblem(TAKEN)
    return set_admin(email, password, role=role)[0]


def end_sessions(admin: AdminUser) -> None:
    """Log the admin out everywhere: every copy of every session cookie stops working."""
    _rotate_session_token(admin)
    db.session.commit()


def _rotate_session_token(admin: AdminUser) -> None:
    # Flask-Login keeps this token (not the id) in the cookie, so a new one ends every
    # session made with the old: logout, a password change or reset.
    admin.session_token = secrets.token_urlsafe(32)


def check_timezone(name: str) -> ZoneInfo:
    """The zone for an IANA name, or :class:`AccountProblem`."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AccountProblem(
            f"Unknown time zone {name!r}; use a name like Europe/Berlin."
        ) from None


def authenticate(email: str, password: str) -> AdminUser | None:
    """The admin if the address and password match, else None (same cost either way)."""
    admin = find(email)
    try:
        _hasher.verify(admin.password_hash if admin else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if admin is None:
        return None
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = _hasher.hash(password)
        db.session.commit()
    return admin


def logged_in(admin: AdminUser) -> None:
    """Note the login (the admins page's "Last login"): once the session starts, which with
    two-factor sign-in is after the code, not the password."""
    admin.last_login_at = utcnow()
    db.session.commit()


def password_matches(admin: AdminUser, password: str) -> bool:
    """True when ``password`` is the admin's (asked again before changing what guards the
    account: the password itself, two-factor sign-in)."""
    try:
        return _hasher.verify(admin.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def update(admin: AdminUser, timezone: str, current: str = "", new: str = "") -> bool:
    """Change an admin's time zone and, given the current password, the password; returns
    True when the password changed (which ends the admin's other sessions)."""
    check_timezone(timezone)
    admin.timezone = timezone
    changed = bool(new)
    if changed:
        if not password_matches(admin, current):
            db.session.rollback()
            raise AccountProblem("The current password is not right.")
        if len(new) < MIN_PASSWORD:
            raise AccountProblem(f"The password needs at least {MIN_PASSWORD} characters.")
        admin.password_hash = _hasher.hash(new)
        _rotate_session_token(admin)
    db.session.commit()
    return changed
