"""Admin sessions: login, logout, and the rule that every other admin page needs a login."""

from __future__ import annotations

import re

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from .. import accounts
from ..extensions import db, limiter, login
from ..models import AdminUser
from . import bp
from .forms import LoginForm

PUBLIC_ENDPOINTS = {"admin.login"}


@login.user_loader
def load_admin(session_token: str) -> AdminUser | None:
    """Find the admin whose current session token is in the cookie (rotated on password change)."""
    return db.session.scalar(select(AdminUser).where(AdminUser.session_token == session_token))


@bp.before_request
def require_login():  # type: ignore[no-untyped-def]
    """Send anyone not logged in to the login page, remembering where they wanted to go."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


@bp.after_request
def no_store(response):  # type: ignore[no-untyped-def]
    """Admin pages hold subscriber data: never keep them in a shared cache."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# A post-login destination: a path inside the admin in printable ASCII. No spaces, control
# characters (a CR/LF would split the Location header) or backslashes (browsers read "\\"
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
        admin = accounts.authenticate(form.email.data, form.password.data)
        if admin is not None:
            # A fresh session on login: nothing set before (a planted CSRF token or
            # anything else) survives into the authenticated session.
            session.clear()
            login_user(admin)
            session.permanent = False
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("That address and password do not match an admin account.")
    return render_template("admin/login.html", form=form), 200 if not form.errors else 400


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """End the session (a POST, so no link can log an admin out)."""
    logout_user()
    session.clear()
    flash("You are logged out.")
    return redirect(url_for("admin.login"))
