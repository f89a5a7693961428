"""Request hardening: response headers that keep every page self-contained (nothing loads
from another host), and the visitor's address behind a reverse proxy.

The address (``NEWSLETTER_TRUSTED_PROXIES``): rate limits, login throttling and consent
records read ``request.remote_addr``. Behind a proxy that is the proxy's address for every
visitor; this puts the visitor's there instead, read from ``X-Forwarded-For`` as far as the
operator trusts it. Anyone can write that header, so by default nobody is trusted and it is
ignored. Only the address is taken from it: the scheme and host of links come from
``NEWSLETTER_BASE_URL``.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

# Only our own origin may supply anything; images may also be data: URIs (Pico's icons).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors {frame_ancestors}"
)

# Pages reached through a personal link: their URL must not leak to anything they link to.
# "same-origin" rather than "no-referrer": over HTTPS, Flask-WTF refuses a form POST that
# carries no same-origin Referer, which would break the Confirm and preferences buttons.
TOKEN_PATH_PREFIXES = ("/confirm/", "/unsubscribe/", "/preferences/")


def init_app(app: Flask) -> None:
    """Add the security headers to every response; trust the configured proxies; sign session
    cookies with a signer made once per set of keys."""
    _trust_proxies(app)
    app.session_interface = SessionCookies()

    @app.after_request
    def _headers(response: Response) -> Response:
        policy = content_security_policy(app.config.get("FRAME_ANCESTORS") or "'self'")
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        referrer = (
            "same-origin"
            if request.path.startswith(TOKEN_PATH_PREFIXES)
            else "strict-origin-when-cross-origin"
        )
        response.headers.setdefault("Referrer-Policy", referrer)
        return response


@cache
def content_security_policy(frame_ancestors: str) -> str:
    """The policy for pages that may be embedded by ``frame_ancestors``. Made once per value,
    not per response: the setting rarely changes, and a changed one is simply a new value."""
    return _CSP.format(frame_ancestors=frame_ancestors)


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session, signed and checked exactly as Flask does, but with one
    signer per set of keys instead of a new one each time a request opens or saves its session
    (making one serialises a test value: most of what opening an empty session cost)."""

    def __init__(self) -> None:
        self._signers: dict[tuple[str | bytes | None, ...], URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """Flask's signer for the app's current keys; a changed key makes a new one."""
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if keys not in self._signers:
            self._signers[keys] = super().get_signing_serializer(app)
        return self._signers[keys]


Networks = list[IPv4Network | IPv6Network]


def parse(value: str) -> int | Networks:
    """A count of proxy hops, or the proxies' addresses and networks; ``ValueError`` if it
    is neither. An empty value is 0: trust nobody."""
    value = value.strip()
    if not value or value.isdigit():
        return int(value or 0)
    return [ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()]


class TrustedForwardedFor:
    """WSGI middleware: when the peer is one of the trusted proxies, the visitor is the
    nearest address in ``X-Forwarded-For`` that is not (each proxy appends its peer, so the
    addresses to the right of the first untrusted one were written by proxies we trust)."""

    def __init__(self, app: Any, networks: Networks) -> None:
        self.app = app
        self.networks = networks

    def _trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        client = environ.get("REMOTE_ADDR", "")
        hops = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")
        for hop in reversed([h.strip() for h in hops if h.strip()]):
            if not self._trusted(client):
                break
            try:
                client = str(ip_address(hop))
            except ValueError:
                break  # garbage: keep the last proxy we trust as the address
        environ["REMOTE_ADDR"] = client
        return self.app(environ, start_response)


def _trust_proxies(app: Flask) -> None:
    """Wrap the app so ``request.remote_addr`` is the visitor's, if proxies are trusted."""
    trusted = parse(app.config["TRUSTED_PROXIES"])
    if isinstance(trusted, list):
        app.wsgi_app = TrustedForwardedFor(app.wsgi_app, trusted)  # type: ignore[method-assign]
    elif trusted:
        # Only the address: X-Forwarded-Proto/Host would change how Flask-WTF checks the
        # Referer of HTTPS form posts, and links are built from BASE_URL anyway.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=0)  # type: ignore[method-assign]
