"""The logged-in admin's own settings: time zone, password and two-factor sign-in.

Two-factor sign-in is turned on here (a POST to the account page with a ``code``), turned off
and given new recovery codes; recovery codes are shown on the page that answers, once.
"""

from __future__ import annotations

from zoneinfo import available_timezones

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from ..accounts import service as accounts
from ..accounts import throttle, two_factor
from ..models import AdminUser
from . import bp
from .forms import AccountForm
from .two_factor import qr_svg
from .two_factor_forms import DisableForm, EnableForm, RenewForm


@bp.route("/account", methods=["GET", "POST"])
def account():  # type: ignore[no-untyped-def]
    """The admin's time zone and password, and turning two-factor sign-in on."""
    admin = current_user._get_current_object()
    if request.method == "POST" and "code" in request.form:
        return _enable(admin)
    form = _account_form(admin)
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
    return _page(admin, form=form)


def _enable(admin: AdminUser):  # type: ignore[no-untyped-def]
    form = EnableForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(admin, form.code.data)
        except two_factor.TwoFactorProblem as exc:
            form.code.errors.append(str(exc))
        else:
            return render_template("admin/two_factor_recovery.html", codes=codes, renewed=False)
    return _page(admin, enable=form)


@bp.post("/account/two-factor/recovery-codes")
def two_factor_recovery():  # type: ignore[no-untyped-def]
    """New recovery codes for a current code (the old ones stop working); shown once."""
    admin = current_user._get_current_object()
    if not two_factor.enabled(admin):
        flash("Two-factor sign-in is off: there are no recovery codes to renew.")
        return redirect(url_for("admin.account"))
    form = RenewForm()
    if form.validate_on_submit():
        _refuse_if_throttled(admin)
        try:
            codes = two_factor.renew_recovery_codes(admin, form.code.data)
        except two_factor.TwoFactorProblem as exc:
            if isinstance(exc, two_factor.WrongCode):
                throttle.record_failure(admin.email, request.remote_addr)
            form.code.errors.append(str(exc))
        else:
            return render_template("admin/two_factor_recovery.html", codes=codes, renewed=True)
    return _page(admin, renew=form)


@bp.post("/account/two-factor/disable")
def two_factor_disable():  # type: ignore[no-untyped-def]
    """Turn two-factor sign-in off, for a current code or the password."""
    admin = current_user._get_current_object()
    if not two_factor.enabled(admin):
        flash("Two-factor sign-in is already off.")
        return redirect(url_for("admin.account"))
    form = DisableForm()
    if form.validate_on_submit():
        _refuse_if_throttled(admin)
        proof = form.code.data
        try:
            two_factor.disable(admin, proof, accounts.password_matches(admin, proof))
        except two_factor.TwoFactorProblem as exc:
            if isinstance(exc, two_factor.WrongCode):
                throttle.record_failure(admin.email, request.remote_addr)
            form.code.errors.append(str(exc))
        else:
            flash("Two-factor sign-in is off: the password alone signs you in.")
            return redirect(url_for("admin.account"))
    return _page(admin, disable=form)


def _refuse_if_throttled(admin: AdminUser) -> None:
    # A code or password asked for again counts with the login's failures: a stolen session
    # is no way to guess them faster than the login page allows.
    if throttle.refused(admin.email, request.remote_addr):
        abort(429)


def _account_form(admin: AdminUser, **kwargs) -> AccountForm:  # type: ignore[no-untyped-def]
    form = AccountForm(timezone=admin.timezone, **kwargs)
    form.timezone.choices = sorted(available_timezones())
    return form


def _page(admin: AdminUser, form: AccountForm | None = None, **two_factor_forms):  # type: ignore[no-untyped-def]
    """The account page; the forms not being answered are shown empty."""
    form = form or _account_form(admin, formdata=None)
    forms = {
        "enable": EnableForm(formdata=None),
        "renew": RenewForm(formdata=None),
        "disable": DisableForm(formdata=None),
    } | two_factor_forms
    setup = None
    if not two_factor.enabled(admin):
        secret = two_factor.pending_secret(admin)
        setup = {"secret": secret, "qr": qr_svg(two_factor.provisioning_uri(admin, secret))}
    failed = form.errors or any(f.errors for f in forms.values())
    return render_template(
        "admin/account.html",
        form=form,
        setup=setup,
        required=two_factor.required(),
        **forms,
    ), (400 if failed else 200)
