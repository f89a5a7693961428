"""The reader's language: which one a public page is shown in, the switcher between them, and
the language system mails to one subscriber are written in.

A page's language is, in order: ``?lang=xx`` (then remembered in a cookie), that cookie, the
browser's ``Accept-Language``, ``NEWSLETTER_DEFAULT_LANGUAGE``. The admin and the machine
endpoints stay in English (they are not translated, and their pages should say so in ``lang``).
The catalogues themselves are :mod:`newsletter.languages.catalogues`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale
from flask import Flask, Response, current_app, g, has_request_context, request, url_for
from flask_babel import force_locale, get_locale, gettext, refresh

from ..extensions import babel
from . import catalogues

COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The default consent text (config DEFAULTS["CONSENT_TEXT"]; a test checks they match), marked
# for translation here: the one on the signup box is the promise readers see.
DEFAULT_CONSENT_TEXT = catalogues.N_(
    "Join our mailing list to receive the latest news and updates from our team. "
    "Your information will not be shared. We hate SPAM. "
    "We will never sell your information, for any reason."
)
# Blueprints whose pages are written for readers; the rest (admin, API, webhooks) are English.
PUBLIC_BLUEPRINTS = {"subscribers", "archive"}


def available() -> tuple[str, ...]:
    """The language codes there is a catalogue for, the source language (en) first."""
    return catalogues.available()


def init_app(app: Flask) -> None:
    """Compile stale catalogues, bind Flask-Babel with our language choice, and add the
    language headers (and the cookie, after a ``?lang=``) to public answers."""
    fallback = Path(app.config["INSTANCE_DIR"]) / "translations"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(catalogues.compiled(fallback))
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LANGUAGE"]
    babel.init_app(app, locale_selector=page_language)
    # {% trans %} blocks spanning lines are one message, whitespace collapsed (as extracted).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.globals.update(current_language=current_language, consent_text=consent_text)
    app.context_processor(lambda: {"language_links": language_links})
    app.after_request(_language_headers)


def default_language() -> str:
    """The installation's language: for readers with none stored, and for jobs."""
    return current_app.config["DEFAULT_LANGUAGE"]


def current_language() -> str:
    """The language being rendered in now (a page's, or a mail's under :func:`writing_in`)."""
    return str(get_locale() or default_language())


def _public() -> bool:
    # No blueprint: an error page for an address we do not serve, shown to whoever asked.
    return request.blueprint in PUBLIC_BLUEPRINTS or (
        request.blueprint is None and request.endpoint != "static"
    )


def consent_text() -> str:
    """The consent text on the signup form, as shown to this visitor: ours in their language,
    or the one the site configured, as written (we cannot translate it)."""
    configured = current_app.config["CONSENT_TEXT"]
    return gettext(configured) if configured == DEFAULT_CONSENT_TEXT else configured


def page_language() -> str:
    """Flask-Babel's locale selector: the page's language as described in this module's doc."""
    if not has_request_context():
        return default_language()  # a job: each mail chooses its own with writing_in
    if not _public():
        return catalogues.SOURCE_LANGUAGE
    languages = available()
    for asked in (g.get("page_language"), request.args.get("lang"), request.cookies.get(COOKIE)):
        if asked in languages:
            return asked
    return request.accept_languages.best_match(languages, default=default_language())


def use_language(language: str) -> str:
    """Answer this request in ``language`` (one of :func:`available`): a signup's answer is in
    the language its form was in. Returns it.

    Flask-Babel is refreshed only when that changes the language: a refresh makes it choose
    the page's language again (Accept-Language, a Locale parsed) for what it already had."""
    g.page_language = language
    if language != current_language():
        refresh()
    return language


def reader_language(language: str | None) -> str:
    """The language to write to a subscriber in: theirs if we still have it, else the default."""
    return language if language in available() else default_language()


@contextmanager
def writing_in(language: str | None) -> Iterator[str]:
    """Render (templates, gettext, dates) in the subscriber's language inside the block."""
    chosen = reader_language(language)
    with force_locale(chosen):
        yield chosen


def chosen_language(asked: object) -> str | None:
    """A language a form or JSON asked for, if we have it (``de-AT`` counts as ``de``)."""
    if not isinstance(asked, str):
        return None
    code = asked.strip().replace("_", "-").split("-")[0].lower()
    return code if code in available() else None


@cache
def language_name(code: str) -> str:
    """The language's name in itself: Deutsch, Français, Español."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


@dataclass(frozen=True)
class LanguageLink:
    """One entry of the switcher."""

    code: str
    name: str
    href: str
    current: bool


def language_links() -> list[LanguageLink]:
    """The switcher's links for this page (none outside the public pages)."""
    if not has_request_context() or not _public():
        return []
    here = current_language()
    links = []
    for code in available():
        if request.method == "GET":
            args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
            href = f"{request.path}?{urlencode([*args, ('lang', code)])}"
        else:  # an answer to a POST: reloading its address would not show this page again
            href = url_for("subscribers.index", lang=code)
        links.append(LanguageLink(code, language_name(code), href, code == here))
    return links


def _language_headers(response: Response) -> Response:
    if not _public():
        return response
    language = current_language()
    response.headers["Content-Language"] = language
    response.vary.update(("Accept-Language", "Cookie"))
    if request.args.get("lang") == language:  # asked for explicitly: remember it
        response.set_cookie(
            COOKIE,
            language,
            max_age=COOKIE_MAX_AGE,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
    return response
