"""Consent events: the proof kept of each signup, confirmation, preference change and
withdrawal, with the visitor's IP kept, hashed or dropped as CONSENT_IP says."""

from __future__ import annotations

from flask import current_app

from .. import signing
from ..extensions import db
from ..models import ConsentEvent, Subscriber


def record(
    subscriber: Subscriber,
    action: str,
    source: str,
    lists: list[str],
    *,
    ip: str | None = None,
    text: str = "",
) -> None:
    """Add a consent event: proof of a signup, a confirmation, or its withdrawal."""
    db.session.add(
        ConsentEvent(
            subscriber_id=subscriber.id, **columns(action, source, lists, ip=ip, text=text)
        )
    )


def columns(
    action: str, source: str, lists: list[str], *, ip: str | None = None, text: str = ""
) -> dict[str, object]:
    """A consent event's columns (all but the subscriber)."""
    return {
        "action": action,
        "source": source[:500],
        "consent_text": text,
        "ip": _kept_ip(ip),
        "lists": lists,
    }


def _kept_ip(ip: str | None) -> str | None:
    """The visitor's IP as CONSENT_IP says: kept, hashed (keyed, not reversible) or dropped."""
    mode = current_app.config["CONSENT_IP"]
    if not ip or mode == "drop":
        return None
    if mode == "keep":
        return ip[:128]
    return "hmac-sha256:" + signing.sign(ip, 32)
