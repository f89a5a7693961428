"""``GET /media/<name>``: an uploaded image, for anyone (mails show them to every reader).

A name is the image's content hash, so what a URL shows never changes: clients and proxies
may keep it for a year without asking again (``immutable``), and the ETag is the name.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from . import service

bp = Blueprint("media", __name__)

YEAR = 365 * 24 * 3600
# Multipart framing around the file: a request this much over the limit is refused unread.
MULTIPART_ALLOWANCE = 64 * 1024


def limit_upload() -> None:
    """Refuse (413) an upload request larger than ``NEWSLETTER_MEDIA_MAX_BYTES`` before it is
    read; the admin's and the API's upload call this first."""
    request.max_content_length = current_app.config["MEDIA_MAX_BYTES"] + MULTIPART_ALLOWANCE


@bp.route("/media/<name>", methods=["GET", "HEAD"])
def image(name: str) -> Response:
    """The image's bytes with its type and long cache headers; 404 for an unknown name."""
    try:
        media = service.get(name)
        data = service.read(media)
    except service.NoSuchMedia:
        abort(404)
    response = Response(data, mimetype=media.content_type)
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # An image is no page: nothing in it may run, even opened on its own.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.set_etag(media.name)
    response.last_modified = media.created_at
    return response.make_conditional(request)
