"""VERP return paths: each mail's envelope sender names its delivery, signed, so a bounce
that quotes it is matched to exactly one delivery and a forged one matches nothing."""

from __future__ import annotations

import hashlib
import hmac
import re
from email.utils import parseaddr
from functools import lru_cache

from flask import current_app

_TAG = re.compile(r"\+d(\d{1,18})\.([0-9a-f]{10})@", re.IGNORECASE)


def _signature(delivery_id: int, key: str) -> str:
    return hmac.new(key.encode(), f"verp:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:10]


def _mailbox() -> tuple[str, str]:
    return _split(current_app.config.get("BOUNCE_ADDRESS") or current_app.config["FROM"])


@lru_cache(maxsize=8)
def _split(address: str) -> tuple[str, str]:
    # Parsed once per address: parseaddr cost as much as the rest of a bulk mail's envelope.
    local, _, domain = parseaddr(address)[1].rpartition("@")
    return local.partition("+")[0], domain


def return_path(delivery_id: int) -> str:
    """The envelope sender for one delivery: ``bounces+d42.<sig>@example.org``."""
    local, domain = _mailbox()
    signature = _signature(delivery_id, current_app.config["SECRET_KEY"])
    return f"{local}+d{delivery_id}.{signature}@{domain}"


def delivery_id(address: str) -> int | None:
    """The delivery a VERP address names, or None when it is none of ours (or forged)."""
    found = _TAG.search(address)
    if found is None:
        return None
    number, signature = int(found.group(1)), found.group(2).lower()
    keys = [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]
    if any(hmac.compare_digest(signature, _signature(number, k)) for k in keys):
        return number
    return None
