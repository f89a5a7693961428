"""Public subscriber pages: signup, confirmation, unsubscribe (with RFC 8058 one-click) and the
personal preferences page. Thin: parse the request, call the service, render."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import MESSAGES, problem
from ..extensions import csrf, limiter
from ..issues import service as issues
from ..languages import chosen_language, current_language, use_language
from . import bp, cors, service, signup, tokens
from .addresses import InvalidAddress, InvalidInput, clean_name, normalise_address, strict_name
from .offer import Offered
from .throttle import Refused

SIGNUP_MAX_BYTES = 16 * 1024
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
HONEYPOT = "website"
CHECK_INBOX = _l(
    "Thank you! Please check your inbox: we have sent you a link to confirm your "
    "subscription. Nothing will be sent to you until you confirm."
)
TOO_MANY_MAILS = _l("Too many confirmation mails to this address. Try again later.")


def _too_many() -> tuple[Any, int]:
    return problem(429, MESSAGES[429])


def _past_limit(form: str, email: str) -> tuple[Any, int] | None:
    """Count a valid signup or resend (its IP, then its address); the 429 when past a limit."""
    refused = service.allow_signup(form, request.remote_addr, email)
    if refused is None:
        return None
    return _too_many() if refused is Refused.ATTEMPTS else problem(429, TOO_MANY_MAILS)


@bp.errorhandler(CSRFError)
def _form_expired(_exc: Exception) -> tuple[Any, int]:
    return problem(400, _("The form has expired. Please go back, reload the page and try again."))


@bp.errorhandler(tokens.TokenError)
def _bad_link(exc: tokens.TokenError) -> tuple[Any, int]:
    expired = isinstance(exc, tokens.TokenExpired)
    confirming = request.endpoint in ("subscribers.confirm_page", "subscribers.confirm")
    return render_template(
        "public/link_invalid.html", expired=expired, confirming=confirming, errors={}
    ), 400


@bp.after_request
def _headers(response: Response) -> Response:
    if request.endpoint == "subscribers.subscribe":
        cors.grant(response)
    if request.view_args and "token" in request.view_args:
        response.headers["Cache-Control"] = "no-store"  # personal pages stay out of caches
    return response


# ---------------------------------------------------------------- signup


@bp.get("/")
def index() -> Any:
    """The public page: signup form, the public lists, recent issues."""
    return _signup_page()


def _signup_page(
    values: Mapping[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "public/index.html",
        lists=service.public_lists(),
        issues=issues.archived(limit=5),
        values=values or {},
        chosen=set(values.getlist("lists")) if values is not None else None,
        errors=errors or {},
    ), status


# Flask-Limiter passes signups by: the throttle counts them (its per-request search for limits
# that this route does not have cost more than the throttle's own count).
limiter.counted_elsewhere("subscribers.subscribe")


@bp.route("/subscribe", methods=["POST", "OPTIONS"])
@csrf.exempt  # a form pasted into any site posts here; see the docstring
def subscribe() -> Any:
    """Sign up from our form, a plain form on any other site, or JSON; one answer for every
    address. No CSRF token is asked for: a forged post can do no more than anyone can do
    directly, ask for one confirmation mail, which double opt-in, the rate limits and the
    honeypot bound. JSON is still checked by origin (CORS for configured sites only)."""
    if request.method == "OPTIONS":
        return cors.preflight()
    try:
        asked = _read_signup()
    except HTTPException:  # e.g. 413: an attempt all the same
        if not service.allow_attempt("signup", request.remote_addr):
            return _too_many()
        raise
    if not isinstance(asked, _Signup):  # no signup to make (a bad one, a bot): still counted
        return asked if service.allow_attempt("signup", request.remote_addr) else _too_many()
    if refused := _past_limit("signup", asked.email):
        return refused
    signup.subscribe(
        asked.email,
        asked.name,
        asked.lists,
        source=_source(asked.data),
        ip=request.remote_addr,
        language=asked.language,
    )
    return _signed_up(asked.as_json)


@dataclass(frozen=True)
class _Signup:
    """A signup as asked for, checked."""

    email: str
    name: str
    lists: list[Offered]
    language: str
    as_json: bool
    data: Mapping[str, Any]


def _read_signup() -> _Signup | Any:
    """The signup the request asks for, or the answer to give when it asks for none."""
    as_json = request.mimetype == "application/json"
    if not as_json and request.mimetype not in FORM_TYPES:
        return problem(415, _("Send the signup form, or JSON with Content-Type application/json."))
    request.max_content_length = SIGNUP_MAX_BYTES
    if as_json:
        if not cors.request_origin_ok():
            return problem(403, _("This site may not sign people up here."))
        data = _json_body()
        if not isinstance(data, dict):
            return problem(400, _('Send a JSON object like {"email": "you@example.org"}.'))
        slugs = data.get("lists")
    else:
        data = request.form
        # No field means the form offers no choice (an embed): the default lists. Our own
        # form sends an empty one beside its boxes, so unticking them all is a choice too.
        slugs = [s for s in data.getlist("lists") if s] if "lists" in data else None
    # The page's language, or the one the form or JSON names: the reader's from now on.
    language = use_language(chosen_language(data.get("language")) or current_language())
    if data.get(HONEYPOT):
        return _signed_up(as_json)  # a bot: same answer, nothing stored
    try:
        email, name, lists = _parse_signup(data, slugs)
    except InvalidInput as exc:
        if as_json:
            return problem(400, str(exc), exc.field)
        return _signup_page(data, errors={exc.field: str(exc)}, status=400)
    return _Signup(email, name, lists, language, as_json, data)


def _json_body() -> Any:
    """The request's JSON, or None when it is not JSON. Nesting deeper than the parser's
    recursion limit raises RecursionError, not ValueError, so ``silent`` alone lets it
    through as a 500."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def _parse_signup(data: Mapping[str, Any], slugs: Any) -> tuple[str, str, list[Any]]:
    email, name = data.get("email"), data.get("name") or ""
    if not isinstance(email, str):
        raise InvalidAddress(_("Please enter your email address."))
    if not isinstance(name, str):
        raise InvalidInput("name", _("The name must be text."))
    if slugs is not None and (
        not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs)
    ):
        raise InvalidInput("lists", _("Lists must be a list of list names (slugs)."))
    return normalise_address(email), strict_name(name), service.resolve_lists(slugs)


def _source(data: Mapping[str, Any]) -> str:
    """Where consent was given: the embed's own ``source`` field, else Referer, else Origin."""
    for candidate in (data.get("source"), request.referrer, request.headers.get("Origin")):
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return clean_name(candidate)[:500]
    return "signup form"


def _signed_up(as_json: bool) -> Response:
    """The "check your inbox" answer. It holds nothing of the visitor's, so each language's is
    made once per process (rendering the page was a sixth of a form signup's CPU time); a
    page for a visitor with a flashed message waiting shows it, so is made for them."""
    if not as_json and "_flashes" in session:
        return _check_inbox(as_json)
    made = current_app.extensions.setdefault("newsletter.check_inbox", {})
    key = (as_json, current_language(), request.script_root)
    if key not in made:
        answer = _check_inbox(as_json)
        made[key] = (answer.get_data(), answer.mimetype)
    body, mimetype = made[key]
    return Response(body, mimetype=mimetype)


def _check_inbox(as_json: bool) -> Response:
    if as_json:
        return jsonify(ok=True, message=CHECK_INBOX)
    title = _("Check your inbox")
    return make_response(render_template("public/notice.html", title=title, message=CHECK_INBOX))


@bp.post("/resend")
def resend() -> Any:
    """Send a new confirmation link (from the expired-link page); same answer for everyone."""
    try:
        email = normalise_address(request.form.get("email", ""))
    except InvalidAddress as exc:
        if not service.allow_attempt("resend", request.remote_addr):
            return _too_many()
        errors = {"email": str(exc)}
        return render_template(
            "public/link_invalid.html", expired=False, confirming=True, errors=errors
        ), 400
    if refused := _past_limit("resend", email):
        return refused
    signup.request_new_link(email)
    return _signed_up(False)


# ---------------------------------------------------------------- confirm and unsubscribe


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> Any:
    """One Confirm button: link scanners that open the URL confirm nothing."""
    service.subscriber_for(tokens.CONFIRM, token)
    return render_template("public/confirm.html", token=token)


@bp.post("/confirm/<token>")
def confirm(token: str) -> Any:
    """Confirm (idempotent) and say what happens next."""
    subscriber = service.subscriber_for(tokens.CONFIRM, token)
    welcomed = service.confirm(subscriber.id, ip=request.remote_addr)
    return render_template(
        "public/notice.html",
        title=_("You are subscribed"),
        message=_(
            "Thank you for confirming. A welcome mail with your personal preferences "
            "link is on its way."
        )
        if welcomed
        else _(
            "Thank you for confirming. Every mail we send you has a link to your personal "
            "preferences."
        ),
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail providers POST here with no cookie; the token is the authority
def unsubscribe(token: str) -> Any:
    """GET: one button. POST: unsubscribe from every list; one-click POSTs get a bare 200."""
    request.max_content_length = SIGNUP_MAX_BYTES
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"
    try:
        subscriber = service.subscriber_for(tokens.UNSUBSCRIBE, token)
    except tokens.TokenError:
        if one_click:
            return Response(
                _("This unsubscribe link is not valid.") + "\n", 400, mimetype="text/plain"
            )
        raise
    if request.method == "GET":
        return render_template("public/unsubscribe.html", token=token)
    service.unsubscribe(subscriber.id, source="one-click" if one_click else "unsubscribe page")
    if one_click:
        return Response(_("You are unsubscribed.") + "\n", 200, mimetype="text/plain")
    manage = tokens.make(tokens.MANAGE, subscriber.id, subscriber.email)
    return render_template("public/unsubscribed.html", manage_token=manage)


# ---------------------------------------------------------------- preferences


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> Any:
    """Choose lists and change the name; links to export and erase."""
    subscriber = service.subscriber_for(tokens.MANAGE, token)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            service.update_preferences(
                subscriber.id,
                name=strict_name(request.form.get("name", "")),
                slugs=request.form.getlist("lists"),
                ip=request.remote_addr,
            )
        except InvalidInput as exc:
            errors[exc.field] = str(exc)
        else:
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for(".preferences", token=token), code=303)
    return render_template(
        "public/preferences.html",
        subscriber=subscriber,
        choices=service.preference_lists(subscriber),
        token=token,
        unsubscribe_token=tokens.make(tokens.UNSUBSCRIBE, subscriber.id, subscriber.email),
        errors=errors,
    ), (400 if errors else 200)


@bp.get("/preferences/<token>/export")
def export(token: str) -> Response:
    """Everything stored about the subscriber, as a JSON download."""
    subscriber = service.subscriber_for(tokens.MANAGE, token)
    body = json.dumps(service.export_data(subscriber.id), indent=2, ensure_ascii=False)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-newsletter-data.json"'},
    )


@bp.post("/preferences/<token>/erase")
def erase(token: str) -> Any:
    """Delete the subscriber; only a salted hash stays on the do-not-mail list."""
    subscriber = service.subscriber_for(tokens.MANAGE, token)
    service.erase(subscriber.id)
    return render_template("public/erased.html")
