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

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from flask import Flask, Response, request
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
    """Add the security headers to every response; trust the configured proxies."""
    _trust_proxies(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        frame = app.config.get("FRAME_ANCESTORS") or "'self'"
        response.headers.setdefault("Content-Security-Policy", _CSP.format(frame_ancestors=frame))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        policy = (
            "same-origin"
            if request.path.startswith(TOKEN_PATH_PREFIXES)
            else "strict-origin-when-cross-origin"
        )
        response.headers.setdefault("Referrer-Policy", policy)
        return response


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
