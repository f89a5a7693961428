"""Admin sessions: login, logout, and the rule that every other admin page needs a login."""

from __future__ import annotations

import re
import time

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from ..accounts import service as accounts
from ..accounts import throttle
from ..extensions import db, limiter, login
from ..models import AdminUser
from . import bp
from .forms import LoginForm

PUBLIC_ENDPOINTS = {"admin.login"}
SEEN_KEY = "admin_seen"  # when the session was last used (seconds since the epoch)


@login.user_loader
def load_admin(session_token: str) -> AdminUser | None:
    """Find the admin whose current session token is in the cookie (rotated on logout and on
    password change)."""
    return db.session.scalar(select(AdminUser).where(AdminUser.session_token == session_token))


@bp.before_request
def require_login():  # type: ignore[no-untyped-def]
    """Send anyone not logged in, or idle too long, to the login page, remembering where they
    wanted to go; a session in use stays alive (the idle time slides)."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user.is_authenticated:
        if not _idle_too_long():
            session[SEEN_KEY] = int(time.time())
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
        else:
            # A fresh session on login: nothing set before (a planted CSRF token or
            # anything else) survives into the authenticated session.
            session.clear()
            login_user(admin)
            session.permanent = False
            session[SEEN_KEY] = int(time.time())
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("That address and password do not match an admin account.")
    return render_template("admin/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """End the session, and every copy of its cookie (a POST, so no link can log an admin
    out). The admin's sessions in other browsers end too: they share one session token."""
    accounts.end_sessions(current_user._get_current_object())
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("admin.login"))
