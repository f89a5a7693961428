"""Error answers: our own page for people, JSON for programs, never a stack trace.

Werkzeug's bare default pages carry none of the site's styles or navigation; these keep the
visitor on a page that looks like ours, says plainly what happened and leads back home.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException


class NotFound(LookupError):
    """A service was asked for something that does not exist (``issues.NoSuchIssue``, …):
    pages answer 404, the ``newsletter`` command says so and exits 2."""


class NotAllowed(ValueError):
    """The thing exists but its state forbids the action (a sent issue cannot change):
    a page that lets one through answers 409."""


class EditConflict(NotAllowed):
    """Someone saved the thing after the admin's edit form was opened (``database.for_edit``):
    saving would silently replace their work. ``stamp`` is its version now; a form that posts
    it means to replace what they saved."""

    def __init__(self, what: str, stamp: str) -> None:
        super().__init__(
            f"Someone saved this {what} after you opened it, so your changes are not saved: "
            "they are still in the form. To keep theirs, open the page again in another tab "
            "and copy what you need; to replace theirs with yours, save again."
        )
        self.stamp = stamp


# Machine endpoints: their callers read JSON whatever they put in Accept.
JSON_BLUEPRINTS = {"bounces", "health"}
KEPT_HEADERS = ("Allow", "Retry-After")
# A server we need is down or unreachable: the request may work in a minute, so say that
# (503 and Retry-After) rather than "something went wrong".
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OperationalError)
RETRY_AFTER_SECONDS = 30

TITLES = {
    400: _l("Sorry"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Not allowed"),
    409: _l("Not possible now"),
    413: _l("Too large"),
    429: _l("Please wait"),
    500: _l("Something went wrong"),
    503: _l("Please try again shortly"),
}
MESSAGES = {
    400: _l("The request could not be understood. Please go back, reload the page and try again."),
    403: _l("You may not do that here."),
    404: _l("There is no page at this address. The link may be mistyped, or the page has moved."),
    405: _l("This page cannot be used that way."),
    409: _l("That cannot be done to it in its present state. Please reload the page."),
    413: _l("The request is too large."),
    429: _l("Too many attempts. Please wait a while and try again."),
    500: _l("Something went wrong on our side. Please try again in a moment."),
    503: _l("We cannot take this request this minute. Please try again shortly."),
}


def wants_json() -> bool:
    """True for API callers: JSON sent, JSON asked for, or a machine endpoint."""
    return (
        request.mimetype == "application/json"
        or request.accept_mimetypes.best == "application/json"
        or request.blueprint in JSON_BLUEPRINTS
    )


def problem(status: int, message: str, field: str | None = None) -> tuple[Any, int]:
    """An error answer: JSON for API callers, a page for people (in the page's language; the
    message is a translated or lazily translated string)."""
    message = str(message)
    if wants_json():
        return jsonify(error=message, field=field), status
    title = str(TITLES.get(status, TITLES[400]))
    return render_template("public/notice.html", title=title, message=message), status


def _http_error(exc: HTTPException) -> Response:
    response = make_response(problem(exc.code or 500, MESSAGES.get(exc.code or 500, exc.name)))
    for name in KEPT_HEADERS:  # what the error itself adds, e.g. a 405's Allow
        if value := exc.get_response().headers.get(name):
            response.headers[name] = value
    return response


def _not_found(exc: NotFound) -> Response:
    return make_response(problem(404, MESSAGES[404]))


def _not_allowed(exc: NotAllowed) -> Response:
    return make_response(problem(409, str(exc) or MESSAGES[409]))


def _unavailable(exc: Exception) -> Response:
    current_app.logger.error("unavailable: %s", type(exc).__name__, exc_info=exc)
    response = make_response(problem(503, MESSAGES[503]))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    """Answer every HTTP error, and any unhandled exception (a 500), with ``problem``; a
    service's not-found with a 404 and its not-allowed with a 409; a database or Redis that
    cannot be reached with a 503."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFound, _not_found)
    app.register_error_handler(NotAllowed, _not_allowed)
    for error in UNAVAILABLE:
        app.register_error_handler(error, _unavailable)
