"""Owners manage the admins: list them, change a role, delete one.

There is always at least one owner: only an owner can make owners or tokens, so demoting or
deleting the last one would lock everyone out of half the admin for good.
"""

from __future__ import annotations

from sqlalchemy import func, select

from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..models import AdminUser, Role
from . import audit


class NoSuchAdmin(NotFound):
    """No admin has that id."""


class LastOwner(NotAllowed):
    """The change would leave no owner."""


LAST_OWNER = "There must be at least one owner: make another admin an owner first."


def listed() -> list[AdminUser]:
    """Every admin, by address."""
    return list(db.session.scalars(select(AdminUser).order_by(AdminUser.email)))


def get(admin_id: int) -> AdminUser:
    """The admin with ``admin_id``, or :class:`NoSuchAdmin`."""
    admin = db.session.get(AdminUser, admin_id)
    if admin is None:
        raise NoSuchAdmin(f"no such admin: {admin_id}")
    return admin


def find(email: str) -> AdminUser | None:
    """The admin with address ``email`` (any case, spaces around ignored), or None."""
    return db.session.scalar(
        select(AdminUser).where(func.lower(AdminUser.email) == email.strip().lower())
    )


def get_by_email(email: str) -> AdminUser:
    """The admin with address ``email`` (any case), or :class:`NoSuchAdmin`."""
    admin = find(email)
    if admin is None:
        raise NoSuchAdmin(f"no such admin: {email}")
    return admin


def _is_last_owner(admin: AdminUser) -> bool:
    if admin.role != Role.OWNER:
        return False
    owners = db.session.scalar(
        select(func.count()).select_from(AdminUser).where(AdminUser.role == Role.OWNER)
    )
    return owners <= 1


def change_role(admin: AdminUser, role: Role | str, commit: bool = True) -> None:
    """Give ``admin`` ``role``; :class:`LastOwner` if that would leave no owner."""
    role = Role(role)
    if role == admin.role:
        return
    if _is_last_owner(admin):
        raise LastOwner(LAST_OWNER)
    audit.record("admin.role", f"{admin.email}: {admin.role} -> {role}")
    admin.role = role
    if commit:
        db.session.commit()


def delete(admin: AdminUser) -> None:
    """Delete ``admin`` (their sessions die with the row); never the last owner."""
    if _is_last_owner(admin):
        raise LastOwner(LAST_OWNER)
    audit.record("admin.delete", admin.email)
    db.session.delete(admin)
    db.session.commit()
