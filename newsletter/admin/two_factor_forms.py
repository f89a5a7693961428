"""The forms of two-factor sign-in: the code at login, turning it on and off, new recovery
codes and the owners' requirement. Each code field is named ``code``; the ids differ, as
several share the account page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

_CODE = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}


class LoginCodeForm(FlaskForm):
    """The second step of signing in."""

    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired(), Length(max=64)],
        render_kw=_CODE,
    )


class EnableForm(FlaskForm):
    """Turning two-factor sign-in on: a code proving the app holds the secret."""

    code = StringField(
        "Code the app shows now",
        validators=[DataRequired(), Length(max=64)],
        render_kw={**_CODE, "inputmode": "numeric"},
    )


class RenewForm(FlaskForm):
    """New recovery codes, for a current code."""

    code = StringField(
        "Code from your authenticator app",
        id="renew-code",
        validators=[DataRequired(), Length(max=64)],
        render_kw=_CODE,
    )


class DisableForm(FlaskForm):
    """Turning two-factor sign-in off, for a current code or the password."""

    code = PasswordField(
        "A current code, or your password",
        id="disable-code",
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )


class RequireForm(FlaskForm):
    """The owners' setting."""

    required = BooleanField("Every admin must use two-factor sign-in")
