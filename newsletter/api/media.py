"""``POST /api/v1/media``: upload an image (multipart, field ``file``) to show in issues, as
the admin's compose does. Editors and owners; the answer carries the image's URL on our own
host and the Markdown that shows it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from pydantic import BaseModel, Field
from spectree.model_adapter.pydantic_adapter import BaseFile
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from ..accounts.roles import requires
from ..media import service
from ..media.views import limit_upload
from ..models import Role
from . import bp
from .spec import Answers, FieldError, RequestInvalid, spec

TAGS = ["media"]


class MediaUpload(BaseModel):
    """``multipart/form-data`` with the image as the file part ``file``: PNG, JPEG, GIF or
    WebP, recognised by its content (its name and type do not count)."""

    file: BaseFile = Field(description="The image file.")  # type: ignore[valid-type]


class MediaOut(BaseModel):
    """An uploaded image, served from our own host; the same image uploaded again is the
    same image (its name is its content's hash)."""

    id: int
    name: str
    url: str = Field(description="Absolute URL on NEWSLETTER_BASE_URL: /media/<name>.")
    markdown: str = Field(description="Markdown that shows it in an issue: ![](url).")
    content_type: str
    width: int
    height: int
    size_bytes: int


def _limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse an oversized body (413) before it is read (spectree reads it to validate)."""

    @wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        limit_upload()
        try:
            return view(*args, **kwargs)
        except RequestEntityTooLarge:
            length, limit = request.content_length, request.max_content_length
            if length is not None and limit is not None and length <= limit:
                raise  # a body within the limit: too many parts, as Werkzeug's message says
            raise RequestEntityTooLarge(service.too_large()) from None

    return limited


@bp.post("/media")
@requires(Role.EDITOR)
@_limited
@spec.validate(form=MediaUpload, resp=Answers(413, 415, HTTP_201=MediaOut), tags=TAGS)
def upload_media(form: MediaUpload) -> tuple[MediaOut, int]:
    """Upload an image: checked, stripped of its metadata and scaled to mail width."""
    if form is None:  # not multipart: spectree then leaves the form out
        raise UnsupportedMediaType("Send the image as multipart/form-data, in the field 'file'.")
    upload = form.file
    if not isinstance(upload, FileStorage):
        raise RequestInvalid([FieldError(field="file", message="Send a file, not a text field.")])
    try:
        media = service.store(upload.read(), upload.filename or "", None)
    except service.NotAnImage as exc:
        raise UnsupportedMediaType(str(exc)) from None
    except service.ImageTooLarge as exc:
        raise RequestEntityTooLarge(str(exc)) from None
    return MediaOut(
        id=media.id,
        name=media.name,
        url=service.url_of(media.name),
        markdown=service.markdown_for(media.name),
        content_type=media.content_type,
        width=media.width,
        height=media.height,
        size_bytes=media.size_bytes,
    ), 201
