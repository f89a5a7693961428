"""Admin pages for uploaded images: the upload (``POST /admin/media``, from compose's button,
drag and drop, or the library's form) and the library (``GET /admin/media``) with delete.

An upload answers 201 JSON ``{url, markdown}`` to programs and to compose's script; a browser
posting the plain form (no JavaScript) gets the library page with the new image's Markdown
to copy. Refusals are 415 (not an image we take) and 413 (too large), JSON or a page alike.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ..media import layout as mail_layout
from ..media import service
from ..models import Media
from . import bp


def _wants_json() -> bool:
    """JSON unless the client prefers a page (a browser posting the plain form)."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best != "text/html"


def upload_answer(media: Media) -> dict[str, object]:
    """What an upload answers: the image's URL on our host and the Markdown that shows it."""
    return {
        "name": media.name,
        "url": service.url_of(media.name),
        "markdown": service.markdown_for(media.name),
        "width": media.width,
        "height": media.height,
    }


@bp.route("/media", methods=["GET", "POST"], endpoint="media")
def media_page():  # type: ignore[no-untyped-def]
    """The image library; POST uploads one (multipart field ``file``)."""
    if request.method == "GET":
        return _library()
    # The body is read by the CSRF check before this runs, so NEWSLETTER_MAX_CONTENT_LENGTH
    # bounds it; store() refuses anything over NEWSLETTER_MEDIA_MAX_BYTES.
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused(400, "Choose an image file to upload.")
    try:
        media = service.store(upload.read(), upload.filename or "", current_user.id)
    except service.NotAnImage as exc:
        return _refused(415, str(exc))
    except service.ImageTooLarge as exc:
        return _refused(413, str(exc))
    if _wants_json():
        return jsonify(upload_answer(media)), 201
    return _library(uploaded=media), 201


@bp.post("/media/<name>/delete")
def media_delete(name: str):  # type: ignore[no-untyped-def]
    """Delete an image that no issue and not the mail layout shows."""
    try:
        service.delete(name, in_layout=mail_layout.logo_name() == name)
    except service.NoSuchMedia:
        abort(404)
    except service.MediaInUse as exc:
        flash(str(exc), "error")
    else:
        flash("Image deleted.")
    return redirect(url_for("admin.media"))


def _library(uploaded: Media | None = None, problem: str = "") -> str:
    everything = service.listed()
    return render_template(
        "admin/media.html",
        media=everything,
        uploaded=uploaded,
        problem=problem,
        used={m.name: len(service.used_by(m)) for m in everything},
        logo=mail_layout.logo_name(),
        markdown_for=service.markdown_for,
        form=FlaskForm(),
    )


def _refused(status: int, message: str):  # type: ignore[no-untyped-def]
    if _wants_json():
        return jsonify(error=message, field="file"), status
    return _library(problem=message), status
