"""Browser helpers for end-to-end tests: one Debian Chromium per module (the `browser` fixture),
the app served over HTTP (`served`), and `Watch`, which fails a test on any request to
another host or any complaint of the browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the whole module."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def live_server(app) -> Iterator[str]:
    """The app on a real HTTP server in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def served(app):
    """The test's app served over real HTTP for the browser; yields its base URL."""
    with live_server(app) as url:
        yield url


class Watch:
    """Everything a page asks of the network, and every complaint the browser makes.

    Requests to another host are blocked and listed in ``foreign``; console errors, script
    errors and 4xx/5xx answers go to ``problems``; each page's response headers are kept in
    ``documents``. ``expected`` lists URL endings that answer an error on purpose (a test's
    deliberately bad link); the favicon is always one (a browser asks for it unprompted).
    """

    def __init__(self, page, origin: str, expected: tuple[str, ...] = ()) -> None:
        self.origin = origin
        self.expected = ("/favicon.ico", *expected)
        self.foreign: list[str] = []
        self.problems: list[str] = []
        self.documents: dict[str, dict[str, str]] = {}
        page.route("**/*", self._route)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        page.on("response", self._response)

    def _route(self, route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(self.origin) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def _console(self, message) -> None:  # type: ignore[no-untyped-def]
        url = message.location.get("url", "")
        if message.type == "error" and not url.endswith(self.expected):
            self.problems.append(f"{message.text} at {url}")

    def _response(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.status >= 400 and not response.url.endswith(self.expected):
            self.problems.append(f"{response.status} {response.url}")
        if response.request.resource_type == "document":
            self.documents[response.url] = response.headers
