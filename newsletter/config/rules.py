"""What each setting may be, checked once at start (:func:`check`).

A value that makes no sense (``CONFIRM_MAX_AGE_DAYS=0`` once quietly turned expiry off) stops
the app with one line naming the variable and what it may be, instead of misbehaving later.
Values that may hold a password (URLs) are never repeated in the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url

from .. import security


class ConfigError(ValueError):
    """A setting's value is refused; ``str(exc)`` names the variable and what is allowed."""


Rule = Callable[[Any], Any]  # the value as it should be kept, or ValueError("allowed: …")


def number(kind: type, low: float, high: float | None = None) -> Rule:
    """A number of ``kind`` (int or float) from ``low`` up to ``high``."""
    what = "a whole number" if kind is int else "a number"
    allowed = f"{what} from {low} to {high}" if high is not None else f"{what} of at least {low}"

    def rule(value: Any) -> Any:
        try:
            result = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"{allowed} (got {value!r})") from None
        if result < low or (high is not None and result > high):
            raise ValueError(f"{allowed} (got {value!r})")
        return result

    return rule


def above_zero(value: Any) -> float:
    """A number of seconds greater than zero."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        result = 0.0
    if not result > 0:
        raise ValueError(f"a number of seconds above 0 (got {value!r})")
    return result


def one_of(*choices: str) -> Rule:
    """One of these words."""

    def rule(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"one of {', '.join(choices)} (got {value!r})")
        return value

    return rule


def url(*schemes: str, optional: bool = False) -> Rule:
    """A URL with one of these schemes and a host (``unix`` needs only a path)."""

    def rule(value: Any) -> Any:
        if optional and not value:
            return None
        try:
            parts = urlsplit(str(value))
            parts.port  # noqa: B018 - a bad port raises here
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in schemes or not (parts.hostname or parts.path):
            raise ValueError(f"a URL starting {' or '.join(s + '://' for s in schemes)}")
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError(f"a URL with a host, like {schemes[0]}://host")
        return value

    return rule


def database_url(value: Any) -> Any:
    """Any SQLAlchemy URL, or empty for SQLite in the instance folder."""
    if not value:
        return None
    try:
        make_url(str(value))
    except Exception:  # sqlalchemy.exc.ArgumentError and friends
        raise ValueError("an SQLAlchemy URL like postgresql+psycopg://user:pass@host/db") from None
    return value


def address(optional: bool = False) -> Rule:
    """A mail address, optionally with a name: ``Team <news@example.org>``."""

    def rule(value: Any) -> Any:
        if optional and not value:
            return None
        text = str(value)
        _, addr = parseaddr(text)
        local, _, domain = addr.rpartition("@")
        if not local or not domain or "\n" in text or "\r" in text:
            raise ValueError(f"a mail address like news@example.org (got {text!r})")
        return value

    return rule


def rate_limit(value: Any) -> str:
    """A Flask-Limiter rate like ``10 per minute`` (several joined by ``;``)."""
    try:
        if parse_many(str(value)):
            return str(value)
    except ValueError:
        pass
    raise ValueError(f"a rate like '10 per minute' (got {value!r})")


def origins(value: Any) -> str:
    """Comma-separated origins: scheme, host and optional port, nothing after."""
    for origin in filter(None, (o.strip().rstrip("/") for o in str(value or "").split(","))):
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ValueError(f"origins like https://blog.example, comma-separated (got {origin!r})")
    return value or ""


def trusted_proxies(value: Any) -> str:
    """A number of proxy hops, or comma-separated addresses and networks."""
    try:
        security.parse(str(value or ""))
    except ValueError:
        raise ValueError(
            f"a number of proxy hops, or addresses/networks like 10.0.0.0/8 (got {value!r})"
        ) from None
    return str(value or "")


def existing_file(value: Any) -> Any:
    """A file that exists, or empty."""
    if value and not Path(value).is_file():
        raise ValueError(f"a file that exists (no file at {value!r})")
    return value or None


def folder(value: Any) -> str | None:
    """A folder (made at start if missing), or empty for none."""
    if not value:
        return None
    path = Path(str(value))
    if path.exists() and not path.is_dir():
        raise ValueError(f"a folder, not a file ({value!r})")
    return str(path.resolve())


def redis_prefix(value: Any) -> str:
    """Letters, digits, dot, dash and underscore: it starts every Redis key and queue name."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(value)):
        raise ValueError(f"letters, digits, '.', '-' or '_' (got {value!r})")
    return str(value)


def flag(value: Any) -> bool:
    """On or off: 1/0, true/false, yes/no, on/off (or empty for off)."""
    text = str(value if value is not None else "").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ValueError(f"1 or 0 (got {value!r})")


def sendgrid_key(value: Any) -> str:
    """Empty, or the base64 ECDSA P-256 verification key SendGrid shows."""
    from ..bounces.providers.sendgrid import public_key

    if value:
        public_key(str(value))
    return str(value or "")


def topic_arns(value: Any) -> str:
    """Empty, or comma-separated SNS topic ARNs (``arn:aws:sns:region:account:name``)."""
    for arn in filter(None, (a.strip() for a in str(value or "").split(","))):
        if not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+", arn):
            raise ValueError(
                f"SNS topic ARNs like arn:aws:sns:us-east-1:123456789012:bounces, "
                f"comma-separated (got {arn!r})"
            )
    return str(value or "")


def bounce_mailbox(value: Any) -> Any:
    """Empty, or imaps:// or pop3s:// (imap:// or pop3:// only to this host) with user and
    password; never quoted back, as it holds the password."""
    from ..bounces.mailbox_url import parse_url

    if value:
        parse_url(str(value))
    return value or None


def language(value: Any) -> str:
    """A language there is a catalogue for (newsletter/translations), or en."""
    from ..languages.catalogues import available

    if value not in available():
        raise ValueError(f"one of {', '.join(available())} (got {value!r})")
    return str(value)


RULES: dict[str, Rule] = {
    "DATABASE_URL": database_url,
    "REDIS_URL": url("redis", "rediss", "unix", optional=True),
    "REDIS_PREFIX": redis_prefix,
    "SMTP_URL": url("smtp", "smtps", optional=True),
    "BASE_URL": url("http", "https"),
    "FROM": address(),
    "BOUNCE_ADDRESS": address(optional=True),
    "SEND_RATE": number(float, 0),
    "DKIM_KEY_FILE": existing_file,
    "CORS_ORIGINS": origins,
    "TRUSTED_PROXIES": trusted_proxies,
    "CONFIRM_MAX_AGE_DAYS": number(int, 1, 365),
    "UNCONFIRMED_PURGE_DAYS": number(int, 1, 3650),
    "CONSENT_IP": one_of("keep", "hash", "drop"),
    "SIGNUP_RATE_LIMIT": rate_limit,
    "CONFIRM_MAILS_PER_HOUR": number(int, 1),
    "LOGIN_RATE_LIMIT": rate_limit,
    "LOGIN_ACCOUNT_RATE_LIMIT": rate_limit,
    "BOUNCE_WEBHOOK_RATE_LIMIT": rate_limit,
    "API_RATE_LIMIT": rate_limit,
    "SESSION_IDLE_MINUTES": number(int, 1, 7 * 24 * 60),
    "REQUIRE_2FA": flag,
    "BATCH_SIZE": number(int, 1, 100_000),
    "HARD_BOUNCE_LIMIT": number(int, 1),
    "SOFT_BOUNCE_LIMIT": number(int, 1),
    "PAUSE_FAILURE_SHARE": number(float, 0, 1),
    "RETRY_BASE_SECONDS": above_zero,
    "RETRY_MAX_ATTEMPTS": number(int, 1, 100),
    "TICK_SECONDS": above_zero,
    "BOUNCE_MAX_BYTES": number(int, 1),
    "BOUNCE_MAILBOX": bounce_mailbox,
    "BOUNCE_MAILBOX_SECONDS": above_zero,
    "BOUNCE_SENDGRID_PUBLIC_KEY": sendgrid_key,
    "BOUNCE_SES_TOPIC_ARNS": topic_arns,
    "DELIVERY_RETENTION_DAYS": number(int, 0),  # 0 keeps them forever
    "CONSENT_IP_RETENTION_DAYS": number(int, 0),  # 0 keeps them forever
    "MAX_CONTENT_LENGTH": number(int, 1024),
    "WEBHOOK_TIMEOUT": number(float, 0.1, 60),
    "WEBHOOK_ALLOW_PRIVATE": flag,
    "WEBHOOK_RETRY_SCALE": number(float, 0, 1000),
    "DEFAULT_LANGUAGE": language,
    "MEDIA_MAX_BYTES": number(int, 1024, 1024**3),
    "MEDIA_DIR": folder,
}


def check(config: dict[str, Any]) -> None:
    """Check every setting with a rule, storing each as its rule returns it (numbers become
    numbers); the first refused raises :class:`ConfigError`."""
    for key, rule in RULES.items():
        try:
            config[key] = rule(config.get(key))
        except ValueError as exc:
            raise ConfigError(f"NEWSLETTER_{key} must be {exc}") from None
    if bool(config.get("DKIM_KEY_FILE")) != bool(config.get("DKIM_SELECTOR")):
        raise ConfigError("NEWSLETTER_DKIM_KEY_FILE and NEWSLETTER_DKIM_SELECTOR go together")
    mailbox = str(config.get("BOUNCE_MAILBOX") or "")
    if config.get("BOUNCE_MAILBOX_MOVE_TO") and mailbox.startswith("pop3"):
        raise ConfigError("NEWSLETTER_BOUNCE_MAILBOX_MOVE_TO needs IMAP (POP3 can only delete)")
    if bool(config.get("BOUNCE_POSTMARK_USER")) != bool(config.get("BOUNCE_POSTMARK_PASSWORD")):
        raise ConfigError(
            "NEWSLETTER_BOUNCE_POSTMARK_USER and NEWSLETTER_BOUNCE_POSTMARK_PASSWORD go together"
        )
