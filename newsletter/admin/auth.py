"""Admin sessions: login (the password, then a code for an admin with two-factor sign-in),
logout, and the rule that every other admin page needs a login.

Between the two steps the browser is half signed in: its session cookie names the admin
(by session token, so a password change voids it) for a few minutes, and nothing else. No
page but the code's opens until the code is right; only then does the session become the
admin's, fresh, as after a password alone.
"""

from __future__ import annotations

import re
import time

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..accounts import service as accounts
from ..accounts import throttle, two_factor
from ..extensions import db, limiter, login
from ..models import AdminUser
from . import bp
from .forms import LoginForm
from .two_factor_forms import LoginCodeForm

PUBLIC_ENDPOINTS = {"admin.login", "admin.login_code"}
SEEN_KEY = "admin_seen"  # when the session was last used (seconds since the epoch)
HALFWAY_KEY = "admin_halfway"  # password right, code still to come: {token, until, next}
HALFWAY_SECONDS = 5 * 60
# What an admin who must still set up two-factor sign-in may open (static files are not the
# admin's: they are always served).
SETUP_ENDPOINTS = {"admin.account", "admin.logout"}


@login.user_loader
def load_admin(session_token: str) -> AdminUser | None:
    """Find the admin whose current session token is in the cookie (rotated on logout and on
    password change)."""
    return db.session.scalar(select(AdminUser).where(AdminUser.session_token == session_token))


@bp.before_request
def require_login():  # type: ignore[no-untyped-def]
    """Send anyone not logged in, or idle too long, to the login page, remembering where they
    wanted to go; a session in use stays alive (the idle time slides). An admin who must turn
    on two-factor sign-in first is sent to do that."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if not _idle_too_long():
            session[SEEN_KEY] = int(time.time())
            if request.endpoint not in SETUP_ENDPOINTS and two_factor.must_set_up(current_user):
                return redirect(url_for("admin.account"))
            return None
        logout_user()
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


def _idle_too_long() -> bool:
    # The time sits in the signed cookie, so a copy stops working once the copy itself has
    # been idle that long; a session from before this check has no time and ends too.
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    return time.time() - session.get(SEEN_KEY, 0) > idle


@bp.after_request
def no_store(response):  # type: ignore[no-untyped-def]
    """Admin pages hold subscriber data: never keep them in a shared cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# A post-login destination: a path inside the admin in printable ASCII. No spaces, control
# characters (a CR/LF would split the Location header) or backslashes (browsers read "\"
# as "/"), so nothing can turn it into another host.
_SAFE_NEXT = re.compile(r"/admin/[!-\[\]-~]*")


def _safe_next(target: str | None) -> str:
    """``target`` if it is a safe place inside the admin (no open redirect), else the
    dashboard."""
    if target and _SAFE_NEXT.fullmatch(target):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@limiter.limit(_login_limit, methods=["POST"])
def login_page():  # type: ignore[no-untyped-def]
    """The login form; a fresh session on success."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        email, ip = form.email.data, request.remote_addr
        if throttle.refused(email, ip):
            abort(429)
        admin = accounts.authenticate(email, form.password.data)
        if admin is None:
            throttle.record_failure(email, ip)
        elif two_factor.enabled(admin):
            session.clear()
            session[HALFWAY_KEY] = {
                "token": admin.session_token,
                "until": int(time.time()) + HALFWAY_SECONDS,
                "next": _safe_next(request.args.get("next")),
            }
            return redirect(url_for("admin.login_code"))
        else:
            _start_session(admin)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("That address and password do not match an admin account.")
    return render_template("admin/login.html", form=form), 200 if not form.errors else 400


def _start_session(admin: AdminUser) -> None:
    # A fresh session on login: nothing set before (a planted CSRF token, the half-signed-in
    # state or anything else) survives into the authenticated session.
    session.clear()
    login_user(admin)
    accounts.logged_in(admin)
    session.permanent = False
    session[SEEN_KEY] = int(time.time())


def _halfway_admin() -> AdminUser | None:
    """The admin this browser gave the password of, while the code may still come."""
    halfway = session.get(HALFWAY_KEY)
    if not isinstance(halfway, dict) or halfway.get("until", 0) < time.time():
        return None
    admin = load_admin(str(halfway.get("token")))
    return admin if admin is not None and two_factor.enabled(admin) else None


@bp.route("/login/code", methods=["GET", "POST"], endpoint="login_code")
@limiter.limit(_login_limit, methods=["POST"])
def login_code():  # type: ignore[no-untyped-def]
    """The second step for an admin with two-factor sign-in: a TOTP or recovery code,
    throttled per account as passwords are."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    admin = _halfway_admin()
    if admin is None:
        if session.pop(HALFWAY_KEY, None) is not None:
            flash("That took too long: please log in again.")
        return redirect(url_for("admin.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        ip = request.remote_addr
        if throttle.refused(admin.email, ip):
            abort(429)
        used = two_factor.accept(admin, form.code.data)
        if used is not None:
            target = _safe_next(session[HALFWAY_KEY].get("next"))
            _start_session(admin)
            if used == two_factor.Used.RECOVERY:
                left = len(admin.recovery_code_hashes)
                flash(f"You used a recovery code; {left} left. Make new ones under Account.")
            return redirect(target)
        throttle.record_failure(admin.email, ip)
        form.code.errors.append("That code is not right, or it was used already.")
    return render_template("admin/login_code.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """End the session, and every copy of its cookie (a POST, so no link can log an admin
    out). The admin's sessions in other browsers end too: they share one session token."""
    accounts.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("admin.login"))
