"""Settings: defaults, then ``NEWSLETTER_*`` environment variables, then test overrides.

Nothing here runs at import time; :func:`load` is called by the app factory. What each
setting may be is checked by :mod:`newsletter.config.rules`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv
from flask import Flask
from sqlalchemy.engine import make_url

from . import rules

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # -> sqlite:///<instance>/newsletter.db
    "REDIS_URL": None,  # None -> embedded in-process queue
    "REDIS_PREFIX": "newsletter",  # queue names and our own Redis keys start with this
    "SMTP_URL": None,  # None -> outbox folder
    "OUTBOX_DIR": None,  # -> <instance>/outbox
    "BASE_URL": "http://127.0.0.1:5000",
    "FROM": "Newsletter <newsletter@localhost>",
    "POSTAL_ADDRESS": "",
    "SEND_RATE": 0.0,
    "DKIM_KEY_FILE": None,
    "DKIM_SELECTOR": None,
    "CORS_ORIGINS": "",
    "SECRET_KEY_FALLBACKS": "",
    # Subscriber lifecycle
    "CONFIRM_MAX_AGE_DAYS": 7,
    "UNCONFIRMED_PURGE_DAYS": 14,
    "CONSENT_IP": "hash",  # keep | hash | drop
    "SIGNUP_RATE_LIMIT": "10 per minute",
    "CONFIRM_MAILS_PER_HOUR": 3,
    "LOGIN_RATE_LIMIT": "10 per minute",
    "LOGIN_ACCOUNT_RATE_LIMIT": "10 per 15 minutes",  # failures per account (accounts/throttle.py)
    "TRUSTED_PROXIES": "",  # proxy hops (a count) or addresses/networks; empty trusts nobody
    "SESSION_IDLE_MINUTES": 180,  # an admin session unused this long ends
    "REQUIRE_2FA": False,  # every admin must use two-factor sign-in (owners can also require it)
    "CONSENT_TEXT": (
        "Join our mailing list to receive the latest news and updates from our team. "
        "Your information will not be shared. We hate SPAM. "
        "We will never sell your information, for any reason."
    ),
    "SITE_NAME": "Newsletter",
    "DEFAULT_LANGUAGE": "en",  # pages without a better clue, and readers without a language
    # Sending
    "BATCH_SIZE": 200,
    "HARD_BOUNCE_LIMIT": 1,
    "SOFT_BOUNCE_LIMIT": 3,
    "PAUSE_FAILURE_SHARE": 0.5,
    "RETRY_BASE_SECONDS": 60.0,  # first retry after a 4xx/connection error; doubles each time
    "RETRY_MAX_ATTEMPTS": 8,  # then the delivery is failed (about 2 hours of backoff)
    "TICK_SECONDS": 5,
    "BOUNCE_WEBHOOK_SECRET": None,
    # Bounces, privacy and retention
    "BOUNCE_ADDRESS": None,  # envelope sender base for VERP; None -> the FROM address
    "BOUNCE_MAX_BYTES": 1024 * 1024,
    "BOUNCE_WEBHOOK_RATE_LIMIT": "120 per minute",
    "BOUNCE_MAILBOX": None,  # imaps://user:pass@host/INBOX or pop3s://…; the tick polls it
    "BOUNCE_MAILBOX_MOVE_TO": None,  # IMAP folder for processed reports; None deletes them
    "BOUNCE_MAILBOX_SECONDS": 60.0,  # poll at most this often
    # Sending providers' bounce webhooks (bounces/providers/): each off while empty
    "BOUNCE_MAILGUN_SIGNING_KEY": "",
    "BOUNCE_SENDGRID_PUBLIC_KEY": "",
    "BOUNCE_POSTMARK_USER": "",
    "BOUNCE_POSTMARK_PASSWORD": "",
    "BOUNCE_SES_TOPIC_ARNS": "",  # comma-separated
    "API_RATE_LIMIT": "600 per minute",  # calls per API token (api/auth.py)
    "DELIVERY_RETENTION_DAYS": 180,  # 0 keeps delivery rows forever
    "CONSENT_IP_RETENTION_DAYS": 90,  # 0 keeps consent IPs forever
    "FRAME_ANCESTORS": "'self'",  # CSP frame-ancestors: pages that may embed ours
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    # Outgoing webhooks
    "WEBHOOK_TIMEOUT": 5.0,  # seconds a call may take
    "WEBHOOK_ALLOW_PRIVATE": False,  # True: endpoints on loopback/private networks are allowed
    "WEBHOOK_RETRY_SCALE": 1.0,  # multiplies the retry schedule's delays (tests shorten them)
    # Uploaded images (media/)
    "MEDIA_MAX_BYTES": 5 * 1024 * 1024,  # largest upload; 413 beyond
    "MEDIA_DIR": None,  # None -> the bytes are kept in the database
}


def load(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill ``app.config`` in layers and derive the paths that depend on the instance folder."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(_dotenv())
    app.config.from_prefixed_env("NEWSLETTER", loads=str)  # the environment wins over .env
    if test_config:
        app.config.from_mapping(test_config)
    rules.check(app.config)  # numbers become numbers; nonsense stops here

    instance = Path(app.config.get("INSTANCE_DIR") or app.instance_path).resolve()
    app.config["INSTANCE_DIR"] = str(instance)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"] or (
        f"sqlite:///{instance / 'newsletter.db'}"
    )
    # hide_parameters: a failed statement's error (and so the log) never shows its values,
    # which are subscribers' addresses and names.
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        engine = {"connect_args": {"timeout": 30}, "hide_parameters": True}
    else:
        engine = {"pool_pre_ping": True, "hide_parameters": True}
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine)
    app.config["OUTBOX_DIR"] = app.config["OUTBOX_DIR"] or str(instance / "outbox")
    _keep_private(app, instance)
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or _instance_secret(instance)
    fallbacks = app.config["SECRET_KEY_FALLBACKS"]
    if isinstance(fallbacks, str):
        app.config["SECRET_KEY_FALLBACKS"] = [k for k in fallbacks.split(",") if k.strip()]
    app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"
    # No X-RateLimit-* headers: each would cost every limited request a Redis round trip.
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    app.config["RATELIMIT_KEY_PREFIX"] = app.config["REDIS_PREFIX"]
    secure = app.config["BASE_URL"].startswith("https://")
    if not secure and not _on_this_machine(app.config["BASE_URL"]):
        app.logger.warning(
            "NEWSLETTER_BASE_URL is not https: mail providers ignore one-click unsubscribe "
            "over http (RFC 8058), and admin sign-ins would cross the network unencrypted"
        )
    # Flask's own default is False, so setdefault would never apply: upgrade it explicitly.
    app.config["SESSION_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"] or secure
    app.config.setdefault("REMEMBER_COOKIE_SECURE", secure)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["WTF_CSRF_TIME_LIMIT"] = None  # tied to the session instead of a clock


def _dotenv() -> dict[str, str]:
    """The ``NEWSLETTER_*`` settings of the ``.env`` file the ``newsletter`` command reads (the
    nearest one from the working directory up), without the prefix. Flask's command loads it
    into the environment; the app under gunicorn and ``python worker.py`` get it here."""
    path = find_dotenv(usecwd=True)
    values = dotenv_values(path) if path else {}
    return {
        key.removeprefix("NEWSLETTER_"): value
        for key, value in values.items()
        if key.startswith("NEWSLETTER_") and value is not None
    }


def _keep_private(app: Flask, instance: Path) -> None:
    """The instance folder, the SQLite database (with its -wal, -shm and -journal files) and
    the outbox hold subscribers' addresses and the secret key: only their owner may read them.
    Made so, and an existing install whose files are looser is tightened, with a log line."""
    folders = [instance]
    if not app.config["SMTP_URL"]:
        folders.append(Path(app.config["OUTBOX_DIR"]))
    if app.config["MEDIA_DIR"]:
        folders.append(Path(app.config["MEDIA_DIR"]))
    for folder in folders:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _tighten(app, folder, 0o700)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    database = Path(url.database)
    if database.parent.is_dir():
        # Made before SQLite opens it: SQLite gives a new -wal, -shm or -journal file the
        # database's own mode, and would otherwise create the database world-readable.
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, *(Path(f"{database}{end}") for end in ("-wal", "-shm", "-journal"))):
        _tighten(app, path, 0o600)
    _tighten(app, instance / "secret_key", 0o600)


def _on_this_machine(url: str) -> bool:
    """Whether ``url`` names this machine (a trial run), where http is all there is."""
    host = urlsplit(url).hostname or ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _tighten(app: Flask, path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        path.chmod(mode)
        app.logger.warning("%s was readable by others (%o); now %o", path, current, mode)


def _instance_secret(instance: Path) -> str:
    """Read the generated secret key, creating it once with mode 600 (never printed)."""
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
