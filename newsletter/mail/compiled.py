"""An issue compiled once for all its subscribers and filled in for each of them.

Markdown, sanitising, layout and CSS inlining run once per issue, with markers where the
subscriber's values and personal links go; each copy then only fills those slots in (a few
microseconds), a value that starts a link's URL checked to be http(s) or mailto.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import markupsafe
from flask import render_template

from ..languages import default_language, reader_language, writing_in
from ..subscribers.links import Links
from .expressions import (
    EXPRESSION,
    Expression,
    SubscriberFields,
    TemplateProblem,
    parse_expressions,
)
from .layout import MailLayout
from .render import Rendered, inline_css, markdown_to_html
from .text import html_to_text

__all__ = ["CompiledIssue", "compile_issue"]

_SAFE_URL = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
# An href or src value so far, up to a slot (serialised HTML: always in double quotes).
_URL_SO_FAR = re.compile(r"""(?:href|src)\s*=\s*(?:"([^"]*)|'([^']*))\Z""", re.IGNORECASE)
# A URL start that the rest could turn into a scheme ("java" + "script:…").
_SCHEME_SO_FAR = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def _url_start(value: str) -> str:
    """How a browser reads the start of an attribute's URL: entities decoded, C0 controls and
    spaces before it dropped, tabs and newlines anywhere in it dropped (WHATWG URL)."""
    return re.sub(r"[\t\n\r]", "", html.unescape(value).lstrip(_C0_AND_SPACE))


def _url_slot(before: str) -> bool:
    """Whether a slot after ``before`` starts a link's URL (so its value must be checked);
    raises :class:`TemplateProblem` where the value could complete the URL's scheme."""
    so_far = _URL_SO_FAR.search(before)
    if so_far is None:
        return False  # not in a URL, or after a scheme or path, or after a slot that starts it
    start = _url_start(so_far.group(1) or so_far.group(2) or "")
    if _SCHEME_SO_FAR.fullmatch(start):
        raise TemplateProblem(
            f"A personalisation expression cannot finish a link's scheme ({start}…). Put it "
            "at the start of the link or after https://, or write the whole link."
        )
    return not start


@dataclass(frozen=True)
class _Slot:
    """A hole in a pre-rendered body: a subscriber's value or personal link goes here."""

    expression: Expression | None  # None: a link, named by ``link``
    link: str = ""
    is_url: bool = False  # the value starts an href/src, so only http(s)/mailto may pass


@dataclass(frozen=True)
class _Body:
    """A mail body rendered once, cut at the places where each subscriber differs."""

    parts: tuple[str | _Slot, ...]
    # The same body as runs of whole lines: a str is a run without slots, shared by every
    # subscriber; a tuple is the line(s) around one or more slots. Encoders that work line by
    # line (quoted-printable) can then encode the shared runs once per issue.
    runs: tuple[str | tuple[str | _Slot, ...], ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", _line_runs(self.parts))

    def fill(self, subscriber: SubscriberFields, links: Links | None, escape: bool) -> str:
        return "".join(self.fill_runs(subscriber, links, escape))

    def fill_runs(
        self, subscriber: SubscriberFields, links: Links | None, escape: bool
    ) -> tuple[str, ...]:
        """The subscriber's body as runs of whole lines (shared runs are the same objects)."""
        return tuple(
            run
            if isinstance(run, str)
            else "".join(
                part if isinstance(part, str) else _fill_slot(part, subscriber, links, escape)
                for part in run
            )
            for run in self.runs
        )


def _fill_slot(slot: _Slot, subscriber: SubscriberFields, links: Links | None, escape: bool) -> str:
    if slot.expression is None:
        value = getattr(links, slot.link) if links else ""
        return str(markupsafe.escape(value)) if escape else value
    value = slot.expression.evaluate(subscriber)
    if slot.is_url and not _SAFE_URL.match(_url_start(value)):
        value = "#"
    return value


def _line_runs(parts: tuple[str | _Slot, ...]) -> tuple[str | tuple[str | _Slot, ...], ...]:
    """``parts`` regrouped into runs of whole lines (see :class:`_Body`)."""
    runs: list[str | tuple[str | _Slot, ...]] = []
    line: list[str | _Slot] = []  # the current line so far, once it holds a slot
    tail = ""  # the start of the current line, while it holds no slot yet
    for part in parts:
        if not isinstance(part, str):
            line = line or ([tail] if tail else [])
            line.append(part)
            tail = ""
            continue
        if line:  # the line with slots ends at the next line break
            end = part.find("\n")
            if end < 0:
                line.append(part)
                continue
            line.append(part[: end + 1])
            runs.append(tuple(line))
            line, part = [], part[end + 1 :]
        part = tail + part
        cut = part.rfind("\n") + 1
        if cut:
            runs.append(part[:cut])
        tail = part[cut:]
    if line:
        runs.append(tuple(line))
    elif tail:
        runs.append(tail)
    return tuple(runs)


class CompiledIssue:
    """An issue rendered once (Markdown, sanitising, layout, CSS inlining) and then filled in
    per subscriber in a few microseconds, which is what the sending engine needs."""

    def __init__(
        self,
        subject: str,
        preheader: str,
        body_md: str,
        *,
        site_name: str,
        postal_address: str,
        layout: MailLayout | None = None,
    ) -> None:
        for name, value in (("subject", subject), ("preheader", preheader)):
            if "{{" in value or "{%" in value:  # else sent as typed, braces and all
                raise TemplateProblem(
                    f"Personalisation works in the body only: the {name} is the same for "
                    "every reader. Remove the {{ … }} from it.",
                    field=name,
                )
        self.subject = subject
        self.preheader = preheader
        self.site_name = site_name
        self.postal_address = postal_address
        self.layout = layout
        self._marker = f"nlslot{secrets.token_hex(4)}n"
        self._expressions = parse_expressions(body_md)
        self._body_md = EXPRESSION.sub(self._replace_with_marker(), body_md or "")
        self.body_html = markdown_to_html(self._body_md)
        # Per (with links?, reader's language): the footer is in the reader's language.
        self._bodies: dict[tuple[bool, str] | None, tuple[_Body, _Body]] = {}
        # Fail now, in compose, rather than per subscriber while sending.
        self.render(
            SubscriberFields("subscriber@example.org"),
            Links("https://x.invalid/u", "https://x.invalid/p"),
        )

    def _replace_with_marker(self) -> Callable[[re.Match[str]], str]:
        counter = iter(range(len(self._expressions)))
        return lambda m: f"{self._marker}{next(counter)}x"

    def render(
        self, subscriber: SubscriberFields, links: Links | None, language: str | None = None
    ) -> Rendered:
        """The subscriber's HTML and text, the footer in their ``language`` (None: the site's);
        ``links=None`` leaves personal links out (archive)."""
        html_body, text_body = self._compiled(links is not None, reader_language(language))
        html_runs = html_body.fill_runs(subscriber, links, escape=True)
        text_runs = text_body.fill_runs(subscriber, links, escape=False)
        return Rendered(
            html="".join(html_runs), text="".join(text_runs), runs=(html_runs, text_runs)
        )

    def web_html(self, subscriber: SubscriberFields) -> str:
        """The body alone, sanitised and personalised, for a web page (the archive)."""
        if None not in self._bodies:
            self._bodies[None] = (self._cut(self.body_html, True),) * 2
        return self._bodies[None][0].fill(subscriber, None, escape=True)

    def _compiled(self, with_links: bool, language: str) -> tuple[_Body, _Body]:
        if (with_links, language) not in self._bodies:
            with writing_in(language):
                self._bodies[with_links, language] = self._render(with_links)
        return self._bodies[with_links, language]

    def _render(self, with_links: bool) -> tuple[_Body, _Body]:
        """The issue in the layout, its footer in the language being written in."""
        link_markers = (
            {"unsubscribe_url": f"{self._marker}u0x", "preferences_url": f"{self._marker}p0x"}
            if with_links
            else {"unsubscribe_url": "", "preferences_url": ""}
        )
        context = dict(
            subject=self.subject,
            preheader=self.preheader,
            site_name=self.site_name,
            postal_address=self.postal_address,
            layout=self.layout,
            content_language=default_language(),  # what the admin writes in, we assume
            **link_markers,
        )
        html = inline_css(
            render_template(
                "email/issue.html",
                content=markupsafe.Markup(self.body_html),  # noqa: S704 (sanitised by nh3)
                **context,
            )
        )
        text = (
            render_template(
                "email/issue.txt", body_text=html_to_text(self.body_html), **context
            ).strip()
            + "\n"
        )
        return self._cut(html, True), self._cut(text, False)

    def _cut(self, rendered: str, escape: bool) -> _Body:
        pattern = re.compile(re.escape(self._marker) + r"([0-9]+|u0|p0)x")
        parts: list[str | _Slot] = []
        last = 0
        for match in pattern.finditer(rendered):
            before = rendered[last : match.start()]
            parts.append(before)
            key = match.group(1)
            if key in ("u0", "p0"):
                link = "unsubscribe_url" if key == "u0" else "preferences_url"
                parts.append(_Slot(None, link=link))
            else:
                expression = Expression.compile(self._expressions[int(key)], escape)
                is_url = escape and _url_slot(before)
                parts.append(_Slot(expression, is_url=is_url))
            last = match.end()
        parts.append(rendered[last:])
        return _Body(tuple(parts))


def compile_issue(
    subject: str,
    preheader: str,
    body_md: str,
    *,
    site_name: str,
    postal_address: str,
    layout: MailLayout | None = None,
) -> CompiledIssue:
    """Render an issue once for many subscribers (in ``layout``, owners' logo, colour and
    footer, when given); raises :class:`TemplateProblem` for bad syntax."""
    return CompiledIssue(
        subject,
        preheader,
        body_md,
        site_name=site_name,
        postal_address=postal_address,
        layout=layout,
    )
