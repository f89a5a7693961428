"""The one place that knows our keys and how we key a hash.

``SECRET_KEY`` signs; each of ``SECRET_KEY_FALLBACKS`` (keys rotated out) still verifies, so
links in mails already sent, tags on mail still bouncing and stored suppression hashes keep
working across a key rotation. Link tokens, VERP and Message-ID tags, suppression hashes
and consent-IP hashes all go through here; changing an output here breaks every one of them
(``tests/test_signing.py`` pins them).
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from flask import current_app


def keys() -> list[str]:
    """``SECRET_KEY`` first (it signs), then every fallback (they still verify)."""
    return [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]


def digest(key: str | bytes, message: str | bytes, algorithm: str = "sha256") -> bytes:
    """The raw HMAC of ``message`` under ``key`` (str is UTF-8 encoded)."""
    mac = _keyed(_bytes(key), algorithm).copy()  # a copy skips setting the key up again
    mac.update(_bytes(message))
    return mac.digest()


def mac(key: str | bytes, message: str | bytes, length: int | None = None) -> str:
    """Hex HMAC-SHA256 of ``message`` under ``key``, cut to ``length`` characters."""
    return digest(key, message).hex()[:length]


def sign(message: str | bytes, length: int | None = None) -> str:
    """:func:`mac` under ``SECRET_KEY``: what we put in what we send."""
    return mac(keys()[0], message, length)


def signatures(message: str | bytes, length: int | None = None) -> list[str]:
    """:func:`mac` under every key, ``SECRET_KEY``'s first (what a stored value may be)."""
    return [mac(k, message, length) for k in keys()]


def verify(signature: str, message: str | bytes, length: int | None = None) -> bool:
    """True when ``signature`` is our :func:`mac` of ``message`` under any key (constant time
    per key)."""
    return any(equal(signature, expected) for expected in signatures(message, length))


def equal(given: str, expected: str) -> bool:
    """Constant-time comparison of a value from outside with ours; any text is fine (the
    standard library refuses non-ASCII strings)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@lru_cache(maxsize=64)
def _keyed(key: bytes, algorithm: str) -> hmac.HMAC:
    # Bulk sending keys a few hashes per mail with the same key: set the key up once.
    return hmac.new(key, digestmod=algorithm)
