"""Hostile uploads: whatever an image file carries besides its pixels stays behind, so a
reader who downloads a hosted image learns nothing about the editor who uploaded it."""

from __future__ import annotations

import io

import pytest
from helpers.images import image_bytes, local, upload
from PIL import Image, PngImagePlugin

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
