"""The logged-in admin's own settings: time zone and password."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_user

from ..accounts import service as accounts
from . import bp
from .forms import AccountForm


@bp.route("/account", methods=["GET", "POST"])
def account():  # type: ignore[no-untyped-def]
    """The admin's time zone and password."""
    admin = current_user._get_current_object()
    form = AccountForm(timezone=admin.timezone)
    form.timezone.choices = sorted(available_timezones())
    if form.validate_on_submit():
        try:
            changed = accounts.update(
                admin,
                form.timezone.data,
                form.current_password.data or "",
                form.new_password.data or "",
            )
        except accounts.AccountProblem as exc:
            form.current_password.errors.append(str(exc))
        else:
            if changed:
                login_user(admin)  # the new session token; other sessions are logged out
            flash("Password changed; other sessions are logged out." if changed else "Saved.")
            return redirect(url_for("admin.account"))
    return render_template("admin/account.html", form=form), (400 if form.errors else 200)
