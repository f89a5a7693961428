"""Which other hosts a mail's HTML makes the subscriber's mail program contact when it is opened.

A remote image (or stylesheet, font, background) is fetched by the subscriber's client and tells
that host the subscriber's IP address and when they read. The admin's own pages block such loads
by their Content-Security-Policy, so compose, the preview and the send page ask this module
and say so instead.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Attributes whose value is fetched as soon as the element is shown (not links, which load
# nothing until clicked). ``srcset`` and ``style`` are read by their own rules below.
_LOADING_ATTRIBUTES = {"src", "poster", "background", "data", "lowsrc", "dynsrc", "xlink:href"}
# <link rel=stylesheet|icon|preload …> loads its href; <image href> and <use href> in SVG too.
_HREF_LOADS = {"link", "image", "use"}
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.I | re.S)


def remote_hosts(html: str, own_host: str = "") -> list[str]:
    """The hosts other than ``own_host`` that ``html`` loads anything from, sorted."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    own = own_host.lower()
    return sorted({host for url in finder.urls if (host := host_of(url)) and host != own})


def host_of(url: str) -> str:
    """The host name an http(s) URL loads from; ``""`` for data:, cid: and relative URLs."""
    url = url.strip()
    parts = urlsplit(url if not url.startswith("//") else "https:" + url)
    if parts.scheme.lower() not in ("http", "https"):
        return ""  # nothing is fetched from another host
    return (parts.hostname or "").lower()


def _css_urls(css: str) -> list[str]:
    return [m.group(2) or m.group(4) or "" for m in _CSS_URL.finditer(css)]


class _Finder(HTMLParser):
    """Collects every URL an HTML document loads on display."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # so &#104;ttps: is read as https:
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        for name, value in attrs:
            if not value:
                continue
            if name in _LOADING_ATTRIBUTES or (name == "href" and tag in _HREF_LOADS):
                self.urls.append(value)
            elif name in ("srcset", "imagesrcset"):
                # "a.png 1x, https://b/c.png 2x": each candidate is a URL then a descriptor.
                self.urls.extend(c.split()[0] for c in value.split(",") if c.strip())
            elif name == "style":
                self.urls.extend(_css_urls(value))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(_css_urls(data))
