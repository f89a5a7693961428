"""axe-core's WCAG 2.1 AA check for the browser tests, in one place: what is checked, the
sideways-scroll (reflow) check beside it, and how each problem reads in a failing test."""

from __future__ import annotations

from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe

WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

_AXE = Axe()  # holds only axe-core's script, so one serves every page


def axe_problems(page) -> list[str]:
    """What axe finds on the page, and whether it scrolls sideways, one line per problem."""
    return _violations(page, "") + _sideways(page)


def axe_problems_light_and_dark(page) -> list[str]:
    """axe_problems in dark and in light colours (the page's scroll checked once)."""
    found = []
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)
        # Pico eases colours into the new scheme: check them once they have arrived.
        page.evaluate("Promise.all(document.getAnimations().map(a => a.finished))")
        found += _violations(page, f" ({scheme})")
    return found + _sideways(page)


def _violations(page, note: str) -> list[str]:
    path = urlsplit(page.url).path
    return [
        f"{path}{note}: {v['id']} ({v['impact']}) at {node['target']}: "
        f"{node['failureSummary'].splitlines()[-1].strip()}"
        for v in _AXE.run(page, options=WCAG_21_AA).response["violations"]
        for node in v["nodes"]
    ]


def _sideways(page) -> list[str]:
    if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
        return [f"{urlsplit(page.url).path}: scrolls sideways at {page.viewport_size}"]
    return []
