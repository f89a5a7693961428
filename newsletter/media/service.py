"""Uploaded images: taken in (:func:`store`), found (:func:`get`), read (:func:`read`),
listed and deleted. The admin page, the API and the mail layout call these.

The bytes live in the ``media`` row, or in ``NEWSLETTER_MEDIA_DIR`` when it is set (folder
700, files 600, as every private file of ours). A name is the image's content hash, so the
same image uploaded twice is one row and one URL, and a URL never changes what it shows.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePath

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import errors
from ..accounts import audit
from ..extensions import db
from ..jobs import writer
from ..models import Issue, Media
from .images import ImageTooLarge, NotAnImage, prepare

__all__ = [
    "ImageTooLarge",
    "NoSuchMedia",
    "NotAnImage",
    "MediaInUse",
    "delete",
    "get",
    "listed",
    "markdown_for",
    "read",
    "store",
    "too_large",
    "url_of",
]

NAME = re.compile(r"[0-9a-f]{32}-[0-9]+x[0-9]+\.(?:png|jpg|gif)")


class NoSuchMedia(errors.NotFound):
    """No uploaded image has that name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no such image: {name!r}")


class MediaInUse(errors.NotAllowed):
    """An issue or the mail layout still shows the image."""


def store(data: bytes, filename: str, admin_id: int | None) -> Media:
    """Take in an upload: checked, re-encoded and resized (:mod:`.images`), kept once."""
    if len(data) > current_app.config["MEDIA_MAX_BYTES"]:
        raise ImageTooLarge(too_large())
    image = prepare(data)
    existing = db.session.scalar(select(Media).where(Media.name == image.name))
    if existing is not None:
        return existing
    folder = current_app.config["MEDIA_DIR"]
    if folder:
        _write_private(Path(folder) / image.name, image.data)
    media = Media(
        name=image.name,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
        data=None if folder else image.data,
        original_filename=_own_name(filename),
        uploaded_by_id=admin_id,
    )
    with writer.turn():
        db.session.add(media)
        audit.record("media.upload", f"{image.name} ({media.original_filename or 'no name'})")
        try:
            db.session.commit()
        except IntegrityError:  # the same image, uploaded at the same moment
            db.session.rollback()
            return db.session.scalars(select(Media).where(Media.name == image.name)).one()
    return media


def get(name: str) -> Media:
    """The image with this name; raises :class:`NoSuchMedia`."""
    media = None
    if NAME.fullmatch(name or ""):
        media = db.session.scalar(select(Media).where(Media.name == name))
    if media is None:
        raise NoSuchMedia(name)
    return media


def read(media: Media) -> bytes:
    """The image's bytes, from the row or the media folder."""
    if media.data is not None:
        return media.data
    folder = current_app.config["MEDIA_DIR"]
    try:
        return (Path(folder) / media.name).read_bytes() if folder else b""
    except FileNotFoundError:
        raise NoSuchMedia(media.name) from None


def url_of(name: str) -> str:
    """The image's absolute URL, on our own host: what mails and the Markdown carry."""
    return f"{current_app.config['BASE_URL']}/media/{name}"


def markdown_for(name: str, alt: str = "") -> str:
    """The Markdown that shows the image (``![alt](url)``)."""
    alt = re.sub(r"[\[\]\\\n\r]", " ", alt).strip()
    return f"![{alt}]({url_of(name)})"


def listed() -> list[Media]:
    """Every upload, newest first."""
    return list(db.session.scalars(select(Media).order_by(Media.id.desc())))


def used_by(media: Media) -> list[Issue]:
    """The issues whose body shows the image."""
    pattern = f"%/media/{media.name}%"
    return list(db.session.scalars(select(Issue).where(Issue.body_md.like(pattern))))


def delete(name: str, *, in_layout: bool) -> None:
    """Delete an image no issue and not the mail layout (``in_layout``) shows; raises
    :class:`MediaInUse` otherwise (a sent mail's image must keep loading)."""
    media = get(name)
    if in_layout or used_by(media):
        raise MediaInUse("An issue or the mail layout shows this image, so it stays.")
    folder = current_app.config["MEDIA_DIR"]
    with writer.turn():
        db.session.delete(media)
        audit.record("media.delete", name)
        db.session.commit()
    if folder:
        (Path(folder) / name).unlink(missing_ok=True)


def _own_name(filename: str) -> str:
    """The uploaded file's own name, as the library shows it: without the folder a browser or
    a script may send with it, and without control and format characters (a NUL that
    PostgreSQL's text cannot hold, a right-to-left override that disguises the name)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    return "".join(c for c in name if c.isprintable())[:300]


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by its owner only, complete or not at all."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(partial, path)


def too_large() -> str:
    """What an upload over ``NEWSLETTER_MEDIA_MAX_BYTES`` is told."""
    limit = current_app.config["MEDIA_MAX_BYTES"]
    size = f"{limit / 1024 / 1024:.0f} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    return f"The file is larger than {size}; upload a smaller one."
