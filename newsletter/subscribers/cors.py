"""CORS for the JSON signup endpoint: only origins listed in ``NEWSLETTER_CORS_ORIGINS`` may
post from their pages, and only JSON (which a browser never sends cross-site without asking
first), so an embedded signup box works while other sites' pages cannot use the API."""

from __future__ import annotations

from functools import cache

from flask import Response, current_app, request


def allowed_origins() -> frozenset[str]:
    """The configured origins, e.g. ``https://example.org`` (no path, no trailing slash)."""
    return _origins(current_app.config["CORS_ORIGINS"] or "")


@cache
def _origins(raw: str) -> frozenset[str]:
    """The setting's origins, read once per value (a JSON signup asked twice per request)."""
    return frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def request_origin_ok() -> bool:
    """True for requests without an Origin, from our own origin, or from an allowed one."""
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/") or origin in allowed_origins()


def preflight() -> Response:
    """Answer an OPTIONS preflight: allowed origins get the grant, others get 403."""
    if request.headers.get("Origin") not in allowed_origins():
        return Response(status=403)
    response = Response(status=204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    response.headers["Access-Control-Max-Age"] = "3600"
    return response


def grant(response: Response) -> Response:
    """Let an allowed origin's page read the answer (success and errors alike)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin in allowed_origins():
        response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    return response
