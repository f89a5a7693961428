"""The answer a preview frame gets (an issue's, a sequence step's, the mail layout's): the
rendered mail under a policy of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, make_response
from werkzeug.wrappers import Response

# The rendered mail keeps its own <style> block, which the admin's CSP would block, so the
# preview frame gets a policy of its own: styles yes, scripts and everything else no.
# Remote images stay blocked (the admin's browser contacts no third party) until the admin
# asks to see them as subscribers will (``?remote=1``).
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src {images}; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)


def framed(html: str, remote: bool = False) -> Response:
    """A rendered mail as a preview frame's answer: the frame's own policy, our images only
    unless ``remote`` is asked for."""
    response = make_response(html)
    images = "'self' data: http: https:" if remote else own_images()
    response.headers["Content-Security-Policy"] = PREVIEW_CSP.format(images=images)
    # Shown remote images must not tell their hosts which admin page asked for them.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def own_images() -> str:
    """The preview frame's ``img-src`` for our own images: this host and the base URL's, where
    uploaded images are (the admin may reach the admin by another name)."""
    base = urlsplit(current_app.config["BASE_URL"])
    return f"'self' {base.scheme}://{base.netloc} data:"
