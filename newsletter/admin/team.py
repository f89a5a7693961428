"""Owners' pages: the admins (add, change a role, delete) and the API tokens (create, revoke).

Both are owners' only (``permissions``). A new token is shown on the page that answers its
creation and nowhere else: it is not put in the session or a flash message, and the database
keeps only its hash.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..accounts import admins, api_tokens
from ..accounts import service as accounts
from ..models import Role
from . import bp
from .forms import ActionForm, AdminAddForm, RoleForm, TokenForm
from .two_factor import admins_page_parts


@bp.get("/admins", endpoint="admins")
def admins_page():  # type: ignore[no-untyped-def]
    """Every admin with their role, and the form for a new one."""
    return _admins(AdminAddForm())


def _admins(form: AdminAddForm, status: int = 200):  # type: ignore[no-untyped-def]
    return render_template(
        "admin/admins.html",
        admins=admins.listed(),
        form=form,
        role_form=RoleForm(),
        action=ActionForm(),
        **admins_page_parts(),
    ), status


@bp.post("/admins/new")
def admin_add():  # type: ignore[no-untyped-def]
    """Add an admin with a temporary password they change under Account."""
    form = AdminAddForm()
    if form.validate_on_submit():
        try:
            added = accounts.add_admin(form.email.data, form.password.data, Role(form.role.data))
        except accounts.AccountProblem as exc:
            form.email.errors.append(str(exc))
        else:
            flash(f"Added {added.email} as {added.role}. Give them the temporary password.")
            return redirect(url_for("admin.admins"))
    return _admins(form, 400)


@bp.post("/admins/<int:admin_id>/role")
def admin_role(admin_id: int):  # type: ignore[no-untyped-def]
    """Change one admin's role (never the last owner's)."""
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    admin = admins.get(admin_id)
    try:
        admins.change_role(admin, form.role.data)
    except admins.LastOwner as exc:
        flash(str(exc), "error")
    else:
        flash(f"{admin.email} is now {admin.role}.")
    return redirect(url_for("admin.admins"))


@bp.post("/admins/<int:admin_id>/delete")
def admin_delete(admin_id: int):  # type: ignore[no-untyped-def]
    """Delete an admin (never the last owner); their sessions end with the account."""
    if not ActionForm().validate_on_submit():
        abort(400)
    admin = admins.get(admin_id)
    myself = admin.id == current_user.id
    try:
        admins.delete(admin)
    except admins.LastOwner as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.admins"))
    flash(f"Deleted {admin.email}.")
    return redirect(url_for("admin.login" if myself else "admin.admins"))


@bp.route("/tokens", methods=["GET", "POST"])
def tokens():  # type: ignore[no-untyped-def]
    """The API tokens, and the form for a new one; a new token is shown once, here."""
    form = TokenForm()
    created = None
    if form.validate_on_submit():
        try:
            created = api_tokens.create(form.name.data, Role(form.role.data))
        except api_tokens.TokenProblem as exc:
            form.name.errors.append(str(exc))
        else:
            form = TokenForm(formdata=None)
    return render_template(
        "admin/tokens.html",
        tokens=api_tokens.listed(),
        form=form,
        created=created,
        action=ActionForm(),
    ), (400 if form.errors else 200)


@bp.post("/tokens/<int:token_id>/revoke")
def token_revoke(token_id: int):  # type: ignore[no-untyped-def]
    """Revoke a token: calls made with it answer 401 from now on."""
    if not ActionForm().validate_on_submit():
        abort(400)
    name = api_tokens.get_by_id(token_id).name
    api_tokens.revoke(name)
    flash(f"Revoked the token “{name}”.")
    return redirect(url_for("admin.tokens"))
