"""Response headers that keep every page self-contained: nothing loads from another host."""

from __future__ import annotations

from flask import Flask, Response, request

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
    """Add the security headers to every response."""

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
