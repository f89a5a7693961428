"""The mail layout owners set in the admin: site name, logo, accent colour and footer text,
kept as one site setting (``mail_layout``, :mod:`newsletter.config.site`).

Every mail reads it through :func:`current`, which keeps what it read for a few seconds per
app (a confirmation mail costs no extra query; a change shows in every process within
:data:`FRESH_SECONDS`, at once in the one that saved it). An issue reads it once per batch.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

from flask import current_app
from sqlalchemy import select

from ..accounts import audit
from ..config import site
from ..extensions import db
from ..jobs import writer
from ..mail.layout import (
    DEFAULT_ACCENT,
    HEX_COLOUR,
    LIGHT_CARD,
    MIN_CONTRAST,
    MailLayout,
    contrast,
    logo_size,
)
from ..models import Media
from . import service

KEY = "mail_layout"
FRESH_SECONDS = 5.0
MAX_SITE_NAME, MAX_FOOTER = 100, 1000


class LayoutProblem(ValueError):
    """A value owners entered is refused; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Choices:
    """The layout as entered: what the form shows and :func:`save` checks."""

    site_name: str
    accent: str = DEFAULT_ACCENT
    footer: str = ""
    logo: str = ""  # an uploaded image's name, or "" for none


def choices() -> Choices:
    """What is stored, or the defaults (the site name from ``NEWSLETTER_SITE_NAME``)."""
    value = site.get(KEY, {})
    value = value if isinstance(value, dict) else {}
    return Choices(
        site_name=str(value.get("site_name") or current_app.config["SITE_NAME"]),
        accent=str(value.get("accent") or DEFAULT_ACCENT),
        footer=str(value.get("footer") or ""),
        logo=str(value.get("logo") or ""),
    )


def build(chosen: Choices) -> MailLayout:
    """The layout mails are rendered with, for these choices (the logo's URL and size)."""
    logo = None
    if chosen.logo:
        logo = db.session.scalar(select(Media).where(Media.name == chosen.logo))
    width, height = logo_size(logo.width, logo.height) if logo else (0, 0)
    return MailLayout(
        site_name=chosen.site_name,
        accent=chosen.accent,
        footer=chosen.footer,
        logo_url=service.url_of(logo.name) if logo else "",
        logo_width=width,
        logo_height=height,
    )


def current() -> MailLayout:
    """The layout every mail uses now (read at most every :data:`FRESH_SECONDS` per app)."""
    kept = current_app.extensions.get(KEY)
    now = time.monotonic()
    if kept is not None and kept[0] > now:
        return kept[1]
    layout = build(choices())
    current_app.extensions[KEY] = (now + FRESH_SECONDS, layout)
    return layout


def check(chosen: Choices) -> Choices:
    """The choices tidied, or :class:`LayoutProblem` naming the first refused field."""
    site_name = " ".join(chosen.site_name.split())
    if not site_name or len(site_name) > MAX_SITE_NAME:
        raise LayoutProblem("site_name", f"Enter a site name of 1 to {MAX_SITE_NAME} characters.")
    accent = chosen.accent.strip().lower()
    if not HEX_COLOUR.fullmatch(accent):
        raise LayoutProblem("accent", "Choose a colour written as #rrggbb, like #0a58ca.")
    ratio = contrast(accent, LIGHT_CARD)
    if ratio < MIN_CONTRAST:
        raise LayoutProblem(
            "accent",
            f"{accent} on white has a contrast of {ratio:.1f}:1; links and buttons need at "
            f"least {MIN_CONTRAST}:1 to be readable. Choose a darker colour.",
        )
    footer = chosen.footer.replace("\r\n", "\n").strip()
    if len(footer) > MAX_FOOTER:
        raise LayoutProblem("footer", f"Keep the footer text under {MAX_FOOTER} characters.")
    if chosen.logo:
        try:
            service.get(chosen.logo)
        except service.NoSuchMedia:
            raise LayoutProblem("logo", "Choose an uploaded image as the logo.") from None
    return Choices(site_name, accent, footer, chosen.logo)


def previewable(chosen: Choices, fallback: Choices) -> Choices:
    """The choices checked, each refused value replaced by ``fallback``'s (what a preview of
    values still being typed shows)."""
    for _ in range(len(asdict(chosen))):
        try:
            return check(chosen)
        except LayoutProblem as exc:
            chosen = replace(chosen, **{exc.field: getattr(fallback, exc.field)})
    return check(fallback)


def save(chosen: Choices) -> MailLayout:
    """Check and store the layout; raises :class:`LayoutProblem`."""
    chosen = check(chosen)
    with writer.turn():
        site.put(
            KEY,
            {
                "site_name": chosen.site_name,
                "accent": chosen.accent,
                "footer": chosen.footer,
                "logo": chosen.logo,
            },
        )
        audit.record("layout.save", f"accent {chosen.accent}, logo {chosen.logo or 'none'}")
        db.session.commit()
    current_app.extensions.pop(KEY, None)
    return current()


def logo_name() -> str:
    """The uploaded image the layout shows as its logo, or ``""``."""
    return choices().logo
