"""Content to HTML and text: Markdown rendered then sanitised, CSS inlined, text part derived.

Pure functions over plain values; the Flask Jinja environment supplies the layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import css_inline
import html2text
import nh3
from flask import render_template
from markdown_it import MarkdownIt

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
    """A mail's two bodies."""

    html: str
    text: str


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table")


def markdown_to_html(source: str) -> str:
    """Render Markdown and strip anything that could run or phone home in a reader's client."""
    raw = _markdown().render(source or "")
    return nh3.clean(
        raw,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def inline_css(html: str) -> str:
    """Move <style> rules onto elements, as mail clients ignore most stylesheets."""
    return css_inline.inline(html, keep_style_tags=True)


def html_to_text(html: str) -> str:
    """The plain-text part, made from the same HTML the reader sees."""
    converter = html2text.HTML2Text()
    converter.body_width = 72
    converter.ignore_images = True
    converter.protect_links = True
    converter.unicode_snob = True
    return converter.handle(html).strip() + "\n"


def render_mail(template: str, **context: Any) -> Rendered:
    """Render ``email/<template>.html`` and ``email/<template>.txt`` into a :class:`Rendered`."""
    html = inline_css(render_template(f"email/{template}.html", **context))
    text = render_template(f"email/{template}.txt", **context).strip() + "\n"
    return Rendered(html=html, text=text)
