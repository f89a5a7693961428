"""Images made with Pillow for the media tests, and uploading them as the admin does."""

from __future__ import annotations

import io

from PIL import Image

from helpers.admin import csrf_token


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 80), **save: object) -> bytes:
    """A small image in ``fmt``: a red field with a blue square (so resizing shows)."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1] // 2))
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    """The bytes opened as an image (fails the test if they are not one)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def upload(client, data: bytes, filename: str = "photo.png", **kwargs):  # type: ignore[no-untyped-def]
    """POST ``data`` to /admin/media as compose's script does (JSON answer)."""
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    return client.post(
        "/admin/media",
        data={"file": (io.BytesIO(data), filename), "csrf_token": token},
        content_type="multipart/form-data",
        headers={"Accept": "application/json", **kwargs.pop("headers", {})},
        **kwargs,
    )


def local(url: str) -> str:
    """The path of an absolute URL on the test app's base (http://localhost)."""
    assert url.startswith("http://localhost/"), url
    return url.removeprefix("http://localhost")
