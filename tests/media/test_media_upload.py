"""Uploading images in the admin and serving them from /media: only real PNG, JPEG, GIF and
WebP images are taken, re-encoded without their metadata and scaled to mail width."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from helpers.admin import PASSWORD, csrf_token, login
from helpers.images import decoded, image_bytes, local, upload
from PIL import Image

from newsletter.accounts import service as accounts
from newsletter.models import Role

FORMATS = [
    ("PNG", "image/png"),
    ("JPEG", "image/jpeg"),
    ("GIF", "image/gif"),
    ("WEBP", "image/jpeg"),
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_uploaded_image_is_served_from_our_own_host_for_a_year(admin_client):
    anonymous = admin_client.application.test_client()
    for fmt, served_as in FORMATS:
        response = upload(admin_client, image_bytes(fmt), f"picture.{fmt.lower()}")

        assert response.status_code == 201, (fmt, response.get_data(as_text=True))
        answer = response.get_json()
        assert answer["url"].startswith("http://localhost/media/")
        assert answer["markdown"] == f"![]({answer['url']})"
        # Anyone may load it (mails show it to every reader).
        served = anonymous.get(local(answer["url"]))
        assert served.status_code == 200
        assert served.headers["Content-Type"] == served_as, fmt
        assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert decoded(served.data).size == (120, 80)
        etag = served.headers["ETag"]
        again = anonymous.get(local(answer["url"]), headers={"If-None-Match": etag})
        assert again.status_code == 304
        head = anonymous.head(local(answer["url"]))
        assert head.status_code == 200 and head.headers["Content-Type"] == served_as


def test_the_same_image_twice_is_one_image_under_a_name_from_its_content(admin_client):
    first = upload(admin_client, image_bytes("PNG"), "a.png").get_json()
    second = upload(admin_client, image_bytes("PNG"), "b.png").get_json()
    other = upload(admin_client, image_bytes("PNG", (121, 80)), "a.png").get_json()

    assert first["url"] == second["url"]
    assert other["url"] != first["url"]
    library = admin_client.get("/admin/media").get_data(as_text=True)
    assert library.count("<tr>") == 3  # the header row and two images


def test_a_wide_image_is_scaled_to_mail_width_and_a_small_animation_stays_animated(
    admin_client,
):
    answer = upload(admin_client, image_bytes("JPEG", (3000, 1500)), "wide.jpg").get_json()
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "green", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=80)
    animation = upload(admin_client, out.getvalue(), "spinner.gif").get_json()

    assert decoded(admin_client.get(local(answer["url"])).data).size == (1200, 600)
    assert decoded(admin_client.get(local(animation["url"])).data).n_frames == 3


def test_camera_and_location_metadata_is_stripped(admin_client):
    photo = Image.new("RGB", (64, 48), (10, 120, 10))
    exif = photo.getexif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (59.0, 54.0, 0.0)}  # GPS: somewhere near Oslo
    out = io.BytesIO()
    photo.save(out, format="JPEG", exif=exif)
    assert b"SpyCam" in out.getvalue()

    answer = upload(admin_client, out.getvalue(), "holiday.jpg").get_json()
    served = admin_client.get(local(answer["url"])).data

    assert b"SpyCam" not in served
    assert not decoded(served).getexif()


REFUSED = {
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
    "html named .png": (b"<!doctype html><html><body>Hello</body></html>", "page.png"),
    "png header, then garbage": (image_bytes("PNG")[:60] + b"\x00garbage" * 50, "broken.png"),
    "text": (b"just some text, typed as a PNG", "notes.png"),
    "bmp": (image_bytes("BMP"), "old.bmp"),
    "gif with a script after it": (image_bytes("GIF") + b"<script>alert(1)</script>", "p.gif"),
}


def test_anything_but_a_real_png_jpeg_gif_or_webp_is_refused_with_415(admin_client):
    for case, (data, filename) in REFUSED.items():
        response = upload(admin_client, data, filename)

        assert response.status_code == 415, case
        assert response.get_json()["field"] == "file"
        assert "PNG, JPEG, GIF and WebP" in response.get_json()["error"]
    assert "<td>" not in admin_client.get("/admin/media").get_data(as_text=True)


def test_too_many_bytes_or_too_many_pixels_is_refused_with_413(make_app):
    app = make_app(MEDIA_MAX_BYTES=20_000)
    with app.app_context():
        accounts.set_admin("admin@example.org", PASSWORD)
    client = app.test_client()
    login(client)
    big = image_bytes("PNG", (400, 400), compress_level=0)
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, format="PNG")  # a small file of 48 million pixels
    assert len(big) > 20_000 > len(bomb.getvalue())

    too_big = upload(client, big, "big.png")
    too_many_pixels = upload(client, bomb.getvalue(), "bomb.png")

    assert too_big.status_code == 413
    assert "larger than 19 KB" in too_big.get_json()["error"]
    assert too_many_pixels.status_code == 413  # refused from its header, never decoded
    assert "million pixels" in too_many_pixels.get_json()["error"]


def test_viewers_may_see_the_library_but_not_upload(app):
    with app.app_context():
        accounts.set_admin("viewer@example.org", PASSWORD, role=Role.VIEWER)
    client = app.test_client()
    login(client, "viewer@example.org")

    assert client.get("/admin/media").status_code == 200
    assert "Upload image" not in client.get("/admin/media").get_data(as_text=True)
    assert upload(client, image_bytes("PNG")).status_code == 403


def test_without_javascript_the_upload_answers_a_page_with_the_markdown_to_copy(admin_client):
    token = csrf_token(admin_client.get("/admin/media").get_data(as_text=True))
    response = admin_client.post(
        "/admin/media",
        data={"file": (io.BytesIO(image_bytes("PNG")), "chart.png"), "csrf_token": token},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )

    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert 'value="![](http://localhost/media/' in page
    refused = admin_client.post(
        "/admin/media",
        data={"file": (io.BytesIO(b"<svg/>"), "x.svg"), "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 415
    assert "PNG, JPEG, GIF and WebP" in refused.get_data(as_text=True)


def test_an_unused_image_can_be_deleted_one_in_an_issue_cannot(admin_client, app):
    from helpers.send import make_issue, make_list

    used = upload(admin_client, image_bytes("PNG"), "used.png").get_json()
    spare = upload(admin_client, image_bytes("GIF"), "spare.gif").get_json()
    with app.app_context():
        make_issue([make_list()], body=f"Look: {used['markdown']}")
    token = csrf_token(admin_client.get("/admin/media").get_data(as_text=True))

    for answer in (used, spare):
        admin_client.post(f"/admin/media/{answer['name']}/delete", data={"csrf_token": token})

    assert admin_client.get(local(used["url"])).status_code == 200
    assert admin_client.get(local(spare["url"])).status_code == 404
    assert admin_client.get("/media/nothing-here.png").status_code == 404


def test_with_a_media_folder_the_bytes_are_private_files_there(make_app, tmp_path):
    folder = tmp_path / "media"
    app = make_app(MEDIA_DIR=str(folder))
    with app.app_context():
        accounts.set_admin("admin@example.org", PASSWORD)
    client = app.test_client()
    login(client)

    answer = upload(client, image_bytes("PNG"), "kept.png").get_json()

    stored = folder / answer["name"]
    assert stat.S_IMODE(Path(folder).stat().st_mode) == 0o700
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert client.get(local(answer["url"])).data == stored.read_bytes()
