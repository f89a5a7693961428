"""Hostile uploads: whatever an image file carries besides its pixels stays behind, so a
reader who downloads a hosted image learns nothing about the editor who uploaded it."""

from __future__ import annotations

import io

import pytest
from helpers.api import bearer
from helpers.images import image_bytes, local, upload
from PIL import Image, PngImagePlugin

from newsletter.models import Role

SECRET = "Taken at 59.91N 10.75E by Kari's phone"


def _animated_gif(**save: object) -> bytes:
    frames = [Image.new("P", (40, 40), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], **save)
    return out.getvalue()


def _png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    return image_bytes("PNG", pnginfo=info)


CARRIERS = {
    "jpeg comment": lambda: image_bytes("JPEG", comment=SECRET),
    "wide jpeg comment": lambda: image_bytes("JPEG", (1600, 200), comment=SECRET),
    "gif comment": lambda: image_bytes("GIF", comment=SECRET),
    "animated gif comment": lambda: _animated_gif(comment=SECRET),
    "png text chunk": _png_with_text,
}


@pytest.mark.parametrize("carrier", CARRIERS)
def test_comments_in_an_uploaded_image_are_not_served(admin_client, carrier):
    original = CARRIERS[carrier]()
    assert SECRET.encode() in original

    answer = upload(admin_client, original, "holiday.img")
    served = admin_client.get(local(answer.get_json()["url"])).data

    assert answer.status_code == 201
    assert SECRET.encode() not in served
    assert "comment" not in Image.open(io.BytesIO(served)).info


def test_an_api_upload_refused_for_what_it_is_says_so_not_that_it_is_too_big(app):
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, format="PNG")  # 48 million pixels in a small file
    parts = {f"p{n}": "x" for n in range(1500)}  # more parts than a form may have
    client, headers = app.test_client(), bearer(app, Role.EDITOR)

    too_many_pixels = client.post(
        "/api/v1/media", data={"file": (io.BytesIO(bomb.getvalue()), "b.png")}, headers=headers
    )
    too_many_parts = client.post(
        "/api/v1/media",
        data={**parts, "file": (io.BytesIO(image_bytes()), "a.png")},
        headers=headers,
    )

    assert (too_many_pixels.status_code, too_many_parts.status_code) == (413, 413)
    assert "million pixels" in too_many_pixels.get_json()["detail"]
    assert "larger than" not in too_many_parts.get_json()["detail"]
