"""Every error the API gives is ``application/problem+json`` (RFC 9457): ``type``, ``title``,
``status``, ``detail``, and for a refused field ``errors``. Never a page, never a traceback.

A service's not-found is a 404, its not-allowed a 409, a database or Redis out of reach a
503. A request that matches no route, or a route but not its method, fails before any
blueprint is chosen; :func:`init_app` answers those under ``/api/v1`` here too.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from .. import errors
from . import bp
from .spec import PROBLEM_JSON, RequestInvalid

# What the error itself adds: a 405's Allow, a 429's Retry-After, a 401's challenge.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def problem(status: int, detail: str, **extra: Any) -> Response:
    """An ``application/problem+json`` answer."""
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype=PROBLEM_JSON
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        # Werkzeug's text for a 500 is harmless, but say it in our words.
        return problem(status, "Something went wrong on our side; it has been logged.")
    response = problem(status, exc.description or HTTPStatus(status).phrase)
    for name in KEPT_HEADERS:
        if value := exc.get_response().headers.get(name):
            response.headers[name] = value
    return response


@bp.errorhandler(RequestInvalid)
def _invalid(exc: RequestInvalid) -> Response:
    fields = ", ".join(e.field for e in exc.errors)
    errors_ = [e.model_dump() for e in exc.errors]
    return problem(422, f"Refused: {fields}.", errors=errors_)


@bp.errorhandler(errors.NotFound)
def _not_found(exc: errors.NotFound) -> Response:
    return problem(404, str(exc) or "There is no such thing.")


@bp.errorhandler(errors.NotAllowed)
def _not_allowed(exc: errors.NotAllowed) -> Response:
    return problem(409, str(exc) or "That cannot be done to it in its present state.")


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    if isinstance(exc, errors.UNAVAILABLE):
        current_app.logger.error("unavailable: %s", type(exc).__name__, exc_info=exc)
        response = problem(503, "A server we need is out of reach; please try again shortly.")
        response.headers["Retry-After"] = str(errors.RETRY_AFTER_SECONDS)
        return response
    current_app.logger.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return problem(500, "Something went wrong on our side; it has been logged.")


def _routing_error() -> Response | None:
    """Answer a request under /api/v1 that matched no route (404) or not its method (405)."""
    exc = request.routing_exception
    prefix = bp.url_prefix or ""
    if not isinstance(exc, HTTPException) or (exc.code or 0) < 400:
        return None  # a match, or a redirect (a trailing slash): carry on
    if request.path != prefix and not request.path.startswith(prefix + "/"):
        return None
    return _http_error(exc)


def init_app(app: Flask) -> None:
    """Answer routing errors under /api/v1 as problems: Flask raises them after the app's
    ``before_request`` functions run, so one of those can answer first."""
    app.before_request(_routing_error)
