"""An uploaded file turned into an image fit to mail: recognised by its content, re-encoded,
resized to mail width. Pure (Pillow only): no database, no request.

Only PNG, JPEG, GIF and WebP are read, whatever the file is called or claims to be. Every
image is decoded and written anew, so nothing of the original file survives but its pixels:
no EXIF (camera, GPS position, owner), no comments, and no second life as a page or a script
(a "polyglot" that is also HTML is refused outright). Decisions a reader might not expect:

- **Mail width**: at most :data:`MAX_WIDTH` pixels wide (twice a 600 px column, sharp on
  high-density screens); a wider image is scaled down, keeping its proportions.
- **WebP becomes PNG** (with transparency) **or JPEG** (without): Outlook and older mail
  programs show no WebP, and a mail is for every reader's program.
- **Animated GIFs** stay animated when they are no wider than :data:`MAX_WIDTH` (re-encoded
  frame by frame, sizes unchanged); a wider one keeps only its first frame, scaled down
  (resizing every frame costs time and quality; make animations at mail size instead), and
  so does one of more than :data:`MAX_FRAMES` frames or :data:`MAX_PIXELS` in all of them.
  An animated WebP keeps its first frame.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

MAX_WIDTH = 1200
# Decoding a small file can still unpack into gigabytes (a "decompression bomb"); the size an
# image claims is read from its header first, and anything beyond this is refused undecoded.
MAX_PIXELS = 40_000_000
MAX_FRAMES = 500  # an animation with more frames (or pixels in all) keeps its first
READABLE = ("PNG", "JPEG", "GIF", "WEBP")
# Markup that makes a browser (told wrongly what a file is) run it as a page.
_PAGE_MARKERS = re.compile(rb"<(?:script|html|svg|body|iframe|!doctype|\?php)\b", re.IGNORECASE)
# What of a decoded image's ``info`` Pillow may write back: only what drawing the pixels needs.
# The rest (a JPEG or GIF comment, EXIF, XMP) is about the file's maker, and Pillow copies
# some of it into the new file unless it is dropped first.
_DRAWN = ("transparency", "background", "duration", "loop", "icc_profile")
_SAVED_AS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
}


class NotAnImage(ValueError):
    """Not a PNG, JPEG, GIF or WebP image we can read (answered 415)."""


class ImageTooLarge(ValueError):
    """An image too large to take in (answered 413)."""


@dataclass(frozen=True)
class MailImage:
    """An image ready to serve: its new bytes, type and size, and a name made from them."""

    data: bytes
    content_type: str
    width: int
    height: int
    name: str


def prepare(data: bytes) -> MailImage:
    """Read ``data`` as an image and return it re-encoded at mail width; raises
    :class:`NotAnImage` or :class:`ImageTooLarge` with a message for the uploader."""
    if _PAGE_MARKERS.search(data):
        raise NotAnImage(
            "This file also holds a web page or script; only plain PNG, JPEG, GIF and WebP "
            "images are taken."
        )
    image = _open(data)
    if image.width * image.height > MAX_PIXELS:
        raise ImageTooLarge(
            f"The image is {image.width}×{image.height} pixels; at most "
            f"{MAX_PIXELS // 1_000_000} million pixels are taken. Make it smaller first."
        )
    try:
        image.load()
        kind = image.format or ""
        if _keeps_animation(image):
            out, size = _animation(image), image.size
            fmt = "GIF"
        else:
            fmt, out, size = _still(image, kind)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise NotAnImage("The image is damaged or incomplete and cannot be read.") from exc
    ext, content_type = _SAVED_AS[fmt]
    digest = hashlib.sha256(out).hexdigest()[:32]
    return MailImage(out, content_type, *size, name=f"{digest}-{size[0]}x{size[1]}.{ext}")


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.open(io.BytesIO(data), formats=READABLE).verify()
            return Image.open(io.BytesIO(data), formats=READABLE)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageTooLarge("The image has too many pixels to take in.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise NotAnImage(
            "Only PNG, JPEG, GIF and WebP images can be uploaded (this file is not one, "
            "whatever its name says)."
        ) from exc


def _keeps_animation(image: Image.Image) -> bool:
    frames = getattr(image, "n_frames", 1)
    return (
        image.format == "GIF"
        and 1 < frames <= MAX_FRAMES
        and image.width <= MAX_WIDTH
        and frames * image.width * image.height <= MAX_PIXELS  # every frame is decoded
    )


def _animation(image: Image.Image) -> bytes:
    """Every frame written anew (no comments or extensions of the original kept)."""
    frames = [_pixels_only(frame.copy()) for frame in ImageSequence.Iterator(image)]
    out = io.BytesIO()
    frames[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        loop=image.info.get("loop", 0),
        duration=image.info.get("duration", 100),
        disposal=2,
    )
    return out.getvalue()


def _pixels_only(image: Image.Image) -> Image.Image:
    """``image`` with nothing in its ``info`` that the saved file would carry but the pixels
    do not need."""
    image.info = {k: v for k, v in image.info.items() if k in _DRAWN}
    return image


def _still(image: Image.Image, kind: str) -> tuple[str, bytes, tuple[int, int]]:
    """The (first) frame upright, at mail width, in the format it is served in."""
    image.seek(0)
    upright = ImageOps.exif_transpose(image)  # a phone's portrait photo stays portrait
    alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    fmt = "PNG" if kind == "WEBP" and alpha else "JPEG" if kind == "WEBP" else kind
    if upright.width > MAX_WIDTH:
        height = max(1, round(upright.height * MAX_WIDTH / upright.width))
        if upright.mode not in ("RGB", "RGBA", "L", "LA"):
            upright = upright.convert("RGBA" if alpha else "RGB")
        upright = upright.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
    upright = _pixels_only(upright)
    out = io.BytesIO()
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        upright.save(out, format="JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "PNG":
        upright.save(out, format="PNG", optimize=True)
    else:
        upright.save(out, format="GIF")
    return fmt, out.getvalue(), upright.size
