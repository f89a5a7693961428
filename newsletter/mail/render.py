"""Content to HTML and text: Markdown rendered then sanitised, CSS inlined, text part derived.

Pure functions over plain values; the Flask Jinja environment supplies the layouts. An issue's
body, compiled once and filled in per subscriber, is :mod:`newsletter.mail.compiled`'s.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import css_inline
import nh3
from flask import render_template
from markdown_it import MarkdownIt

from ..subscribers.links import Links
from .expressions import SubscriberFields, TemplateProblem
from .text import html_to_text

__all__ = [
    "Links",
    "SubscriberFields",
    "Rendered",
    "TemplateProblem",
    "html_to_text",
    "inline_css",
    "markdown_to_html",
    "render_mail",
]

# What an admin's Markdown may produce. No script, style, iframe, form or event handler; only
# http(s) and mailto links (so no javascript: URL can survive).
_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}


@dataclass(frozen=True)
class Rendered:
    """A mail's two bodies; ``runs`` (when rendered from a compiled issue) holds each body cut
    into runs of whole lines, where a run the same for every subscriber is the same object."""

    html: str
    text: str
    runs: tuple[tuple[str, ...], tuple[str, ...]] | None = field(default=None, compare=False)


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def markdown_to_html(source: str) -> str:
    """Render Markdown and strip anything that could run or phone home in a subscriber's client."""
    raw = _markdown().render(source or "")
    return _size_uploaded_images(
        nh3.clean(
            raw,
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )


# An uploaded image's name carries its size (media/images.py): ``/media/<hash>-WxH.ext``.
_UPLOADED_IMAGE = re.compile(
    r'<img(?![^>]*\swidth=)([^>]*\ssrc="[^"]*/media/[0-9a-f]{32}-([0-9]+)x([0-9]+)\.'
    r'(?:png|jpg|gif)"[^>]*)>'
)
CONTENT_WIDTH = 552  # the layout's card: 600 px less its padding


def _size_uploaded_images(html: str) -> str:
    """Give uploaded images their ``width`` and ``height``, at most the column's width, so mail
    programs that ignore CSS (Outlook) neither show them at full size nor reflow when they load."""

    def sized(match: re.Match[str]) -> str:
        width, height = int(match.group(2)), int(match.group(3))
        shown = min(width, CONTENT_WIDTH)
        tall = max(1, round(height * shown / width)) if width else height
        return f'<img{match.group(1)} width="{shown}" height="{tall}">'

    return _UPLOADED_IMAGE.sub(sized, html)


def inline_css(html: str) -> str:
    """Move <style> rules onto elements, as mail clients ignore most stylesheets."""
    return css_inline.inline(html, keep_style_tags=True)


def render_mail(template: str, fill: dict[str, str] | None = None, **context: Any) -> Rendered:
    """Render ``email/<template>.html`` and ``email/<template>.txt`` into a :class:`Rendered`.

    ``fill`` holds what differs per subscriber (a name, a personal link), used only as plain
    ``{{ value }}`` or ``{% if value %}`` in the templates. The rest is rendered (Jinja, CSS
    inlining) once per distinct ``context`` and kept; each mail only puts its strings in.
    """
    fill = fill or {}
    if not all(map(_plain, fill.values())):
        return _render_mail(template, {**context, **fill})
    try:
        key = (template, tuple((k, _frozen(v)) for k, v in sorted(context.items())))
        hash(key)
    except TypeError:  # a value that cannot be a cache key: render this one in full
        return _render_mail(template, {**context, **fill})
    shape = _mail_shape(key, tuple(sorted((k, bool(v)) for k, v in fill.items())))
    return shape.fill(fill)


def _render_mail(template: str, context: dict[str, Any]) -> Rendered:
    html = inline_css(render_template(f"email/{template}.html", **context))
    text = render_template(f"email/{template}.txt", **context).strip() + "\n"
    return Rendered(html=html, text=text)


# What Jinja's escaping or css-inline's re-serialising could change, or ``strip`` remove.
_NOT_PLAIN = re.compile(r"""[&<>"']|^\s|\s$""")


def _plain(value: str) -> bool:
    """True when the value comes out of every rendering step exactly as it went in."""
    return value.isprintable() and not _NOT_PLAIN.search(value)


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class _MailShape:
    """A mail rendered with a marker where each subscriber's string goes."""

    html: str
    text: str
    markers: dict[str, str]  # marker -> name in ``fill``
    pattern: re.Pattern[str]

    def fill(self, values: dict[str, str]) -> Rendered:
        def put(match: re.Match[str]) -> str:
            return values[self.markers[match.group()]]

        return Rendered(
            html=self.pattern.sub(put, self.html), text=self.pattern.sub(put, self.text)
        )


@lru_cache(maxsize=64)
def _mail_shape(
    key: tuple[str, tuple[tuple[str, Any], ...]], filled: tuple[tuple[str, bool], ...]
) -> _MailShape:
    template, context = key
    stem = f"nlfill{secrets.token_hex(6)}x"
    # An empty value stays empty, so that {% if name %} decides as it would for the subscriber.
    slots = {name: f"{stem}{i}x" if present else "" for i, (name, present) in enumerate(filled)}
    rendered = _render_mail(template, {**dict(context), **slots})
    markers = {marker: name for name, marker in slots.items() if marker}
    pattern = re.compile("|".join(map(re.escape, markers)) or "(?!)")
    return _MailShape(rendered.html, rendered.text, markers, pattern)
