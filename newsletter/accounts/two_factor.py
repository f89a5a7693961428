"""Two-factor sign-in: a TOTP authenticator per admin (RFC 6238: 6 digits, 30 s steps) and
ten one-time recovery codes for when the phone is lost.

Turning it on takes two steps: :func:`pending_secret` makes the secret (kept in
``totp_secret`` while ``totp_enabled_at`` is empty, so a reload shows the same QR code) and
:func:`enable` takes a current code, proof that the authenticator holds it. From then on
:func:`accept` takes each code once: a TOTP code only from a time step after the last one
accepted (``totp_last_step``), so a code read over a shoulder cannot be used again, and a
recovery code only while its hash is still in ``recovery_code_hashes`` (the codes themselves
are shown once and never stored).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from email.utils import parseaddr
from enum import StrEnum

import pyotp
from flask import current_app
from sqlalchemy import Text, cast, or_, select, update

from ..config import site
from ..errors import NotAllowed
from ..extensions import db
from ..models import AdminUser, utcnow
from . import audit

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # an authenticator whose clock is a step off either way still works
RECOVERY_CODES = 10
REQUIRED_KEY = "require_2fa"  # the owners' setting (SiteSetting)
# No 0/O or 1/I: recovery codes are read off paper. 16 characters of 32 = 80 random bits.
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class Used(StrEnum):
    """Which kind of code got an admin in."""

    TOTP = "totp"
    RECOVERY = "recovery"


class TwoFactorProblem(NotAllowed):
    """Two-factor sign-in cannot change as asked; ``str(exc)`` says why."""


class WrongCode(TwoFactorProblem):
    """The code (or password) asked for is wrong: a failure to count, as a wrong login is."""


def now() -> float:
    """Seconds since the epoch: the authenticator's clock (tests stand another in)."""
    return time.time()


def enabled(admin: AdminUser) -> bool:
    """True when signing in as ``admin`` takes a code after the password."""
    return admin.totp_enabled_at is not None


def required() -> bool:
    """True when every admin must use it: ``NEWSLETTER_REQUIRE_2FA`` or the owners' setting."""
    return bool(current_app.config["REQUIRE_2FA"]) or owners_require()


def owners_require() -> bool:
    """The owners' setting (the admins page): every admin must use two-factor sign-in."""
    return bool(site.get(REQUIRED_KEY, False))


def must_set_up(admin: AdminUser) -> bool:
    """True when ``admin`` may open no page but the setup until they turn it on."""
    return not enabled(admin) and required()


def set_required(on: bool) -> None:
    """The owners' setting: every admin must (or need not) use two-factor sign-in."""
    site.put(REQUIRED_KEY, on)
    audit.record("two_factor.require", "on" if on else "off")
    db.session.commit()


def pending_secret(admin: AdminUser) -> str:
    """The base32 secret being set up for ``admin``, made on the first call."""
    if enabled(admin):
        raise TwoFactorProblem("Two-factor sign-in is already on.")
    if not admin.totp_secret:
        admin.totp_secret = pyotp.random_base32()
        db.session.commit()
    return admin.totp_secret


def provisioning_uri(admin: AdminUser, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=admin.email, issuer_name=issuer()
    )


def issuer() -> str:
    """The name the authenticator files the code under: the From name, else the site's."""
    name, _ = parseaddr(current_app.config["FROM"])
    return name or current_app.config["SITE_NAME"]


def enable(admin: AdminUser, code: str) -> list[str]:
    """Turn two-factor sign-in on, given a current code from the authenticator; returns the
    recovery codes, the only time they exist in plain text."""
    if enabled(admin) or not admin.totp_secret:
        raise TwoFactorProblem("Reload the page: there is no setup under way.")
    step = _matching_step(admin.totp_secret, code)
    if step is None:
        raise WrongCode(
            "That code is not right. Type the 6 digits the app shows now, "
            "and check that the phone's clock is set automatically."
        )
    admin.totp_enabled_at = utcnow()
    admin.totp_last_step = step  # the setup code cannot then sign in too
    codes = _new_recovery_codes(admin)
    audit.record("two_factor.enable", admin.email)
    db.session.commit()
    return codes


def accept(admin: AdminUser, code: str) -> Used | None:
    """Take ``code`` (a TOTP code or an unused recovery code) for ``admin`` once; says which
    kind it was, or None when it is wrong or used already. Commits its use."""
    if not enabled(admin):
        return None
    digits = "".join(code.split())
    if _looks_like_totp(digits):
        return Used.TOTP if _take_step(admin, digits) else None
    return Used.RECOVERY if _take_recovery_code(admin, code) else None


def disable(admin: AdminUser, proof: str, password_ok: bool) -> None:
    """Turn two-factor sign-in off, given a current code (``proof``) or the password
    (``password_ok``: the caller checked ``proof`` as one)."""
    if required():
        raise TwoFactorProblem("Every admin must use two-factor sign-in on this site.")
    if not password_ok and accept(admin, proof) is None:
        raise WrongCode("That is neither a current code nor your password.")
    _clear(admin)
    audit.record("two_factor.disable", admin.email)
    db.session.commit()


def renew_recovery_codes(admin: AdminUser, code: str) -> list[str]:
    """New recovery codes, given a current code; the old ones stop working."""
    if accept(admin, code) is None:
        raise WrongCode("That code is not right, or was used already.")
    codes = _new_recovery_codes(admin)
    audit.record("two_factor.recovery_new", admin.email)
    db.session.commit()
    return codes


def reset(admin: AdminUser) -> None:
    """Turn ``admin``'s two-factor sign-in off for them (an owner's help for a lost phone,
    or ``newsletter reset-2fa``); they sign in with the password alone, then set it up again."""
    _clear(admin)
    audit.record("two_factor.reset", admin.email)
    db.session.commit()


def _clear(admin: AdminUser) -> None:
    admin.totp_secret = None
    admin.totp_enabled_at = None
    admin.totp_last_step = None
    admin.recovery_code_hashes = []


def _looks_like_totp(code: str) -> bool:
    # ASCII only: "٤".isdigit() too, and hmac.compare_digest refuses non-ASCII text.
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step, within the drift allowed, whose code is ``code``."""
    if not _looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now() // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _take_step(admin: AdminUser, code: str) -> bool:
    step = _matching_step(admin.totp_secret or "", code)
    if step is None:
        return False
    # Taken only if later than the last step taken, checked and moved in one statement: a
    # code used again, an older one, or two requests racing with the same code get nowhere.
    taken = db.session.execute(
        update(AdminUser)
        .where(
            AdminUser.id == admin.id,
            or_(AdminUser.totp_last_step.is_(None), AdminUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(admin)
    return taken.rowcount == 1


def _take_recovery_code(admin: AdminUser, code: str) -> bool:
    digest = _digest(code)
    stored = cast(AdminUser.recovery_code_hashes, Text)
    for _ in range(RECOVERY_CODES):  # each turn round, another code was used meanwhile
        seen = db.session.scalar(select(stored).where(AdminUser.id == admin.id))
        hashes = json.loads(seen or "[]")
        left = [h for h in hashes if not hmac.compare_digest(h, digest)]
        if len(left) == len(hashes):
            db.session.rollback()
            return False
        # Taken only if the codes are still those just read, checked and changed in one
        # statement: the same code used twice at the same instant works once, on SQLite too.
        taken = db.session.execute(
            update(AdminUser)
            .where(AdminUser.id == admin.id, stored == seen)
            .values(recovery_code_hashes=left)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            audit.record(
                "two_factor.recovery_used", f"{admin.email}: {len(left)} left", admin.email
            )
            db.session.commit()
            db.session.refresh(admin)
            return True
        db.session.rollback()
    return False


def _new_recovery_codes(admin: AdminUser) -> list[str]:
    codes = [
        "-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(4))
        for _ in range(RECOVERY_CODES)
    ]
    admin.recovery_code_hashes = [_digest(code) for code in codes]
    return codes


def _digest(code: str) -> str:
    # The codes are 80 random bits: a plain hash keeps them safe in a leaked database, as
    # API tokens are. Dashes, spaces and case are how people copy them, not part of them.
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()
