"""The mail layout's own values (site name, logo, accent colour, footer text) and the colour
arithmetic that keeps them readable. Pure: the stored settings are :mod:`newsletter.media.layout`'s.

Contrast is WCAG 2.1's (relative luminance, ratio ``(L1 + 0.05) / (L2 + 0.05)``): text needs
4.5:1 against what it is on. The accent colour is link text on the white card and the
background of white button text, so it must reach 4.5:1 against white. In dark mode the card
is dark, where no colour dark enough for white could pass too, so links there use the accent
lightened until it does (:attr:`MailLayout.dark_accent`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ACCENT = "#0a58ca"
LIGHT_CARD = "#ffffff"
DARK_CARD = "#1f2328"  # templates/email/layout.html's dark-mode card
MIN_CONTRAST = 4.5
HEX_COLOUR = re.compile(r"#[0-9a-f]{6}")
LOGO_MAX_WIDTH, LOGO_MAX_HEIGHT = 200, 80  # CSS pixels the logo is shown at, at most


@dataclass(frozen=True)
class MailLayout:
    """What owners set for every mail's frame; hashable, so a rendered layout is reused."""

    site_name: str
    accent: str = DEFAULT_ACCENT
    footer: str = ""
    logo_url: str = ""
    logo_width: int = 0  # as shown (CSS pixels), from the image's own size
    logo_height: int = 0

    @property
    def dark_accent(self) -> str:
        """The accent as link colour on the dark-mode card: lightened until it reads."""
        return readable_on(self.accent, DARK_CARD)


def logo_size(width: int, height: int) -> tuple[int, int]:
    """The size a logo of ``width``×``height`` pixels is shown at (kept in proportion)."""
    if width <= 0 or height <= 0:
        return 0, 0
    scale = min(1.0, LOGO_MAX_WIDTH / width, LOGO_MAX_HEIGHT / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def readable_on(colour: str, background: str) -> str:
    """``colour`` mixed with white, as little as needed to reach 4.5:1 on a dark ``background``."""
    for step in range(11):
        mixed = _mix(colour, "#ffffff", step / 10)
        if contrast(mixed, background) >= MIN_CONTRAST:
            return mixed
    return "#ffffff"


def _mix(colour: str, other: str, share: float) -> str:
    parts = (
        round(int(colour[i : i + 2], 16) * (1 - share) + int(other[i : i + 2], 16) * share)
        for i in (1, 3, 5)
    )
    return "#" + "".join(f"{p:02x}" for p in parts)
