"""``POST /api/v1/media``: an editor's token uploads an image as multipart ``file``; what is
not an image we take is a 415 problem, too large a 413, a viewer's token 403."""

from __future__ import annotations

import io

from helpers.api import bearer
from helpers.images import decoded, image_bytes, local

from newsletter.models import Role


def _post(client, headers, data: bytes, filename: str = "chart.png"):
    return client.post(
        "/api/v1/media", headers=headers, data={"file": (io.BytesIO(data), filename)}
    )


def test_an_editor_uploads_an_image_and_gets_its_url_and_markdown(app, client):
    editor = bearer(app, Role.EDITOR)

    response = _post(client, editor, image_bytes("WEBP", (2400, 1200)), "big.webp")

    assert response.status_code == 201
    answer = response.get_json()
    assert answer["url"].startswith("http://localhost/media/")
    assert answer["markdown"] == f"![]({answer['url']})"
    assert (answer["width"], answer["height"], answer["content_type"]) == (1200, 600, "image/jpeg")
    assert decoded(client.get(local(answer["url"])).data).size == (1200, 600)
    assert "Set-Cookie" not in response.headers


def test_refusals_are_problems_naming_what_is_wrong(make_app):
    app = make_app(MEDIA_MAX_BYTES=4096)
    client = app.test_client()
    editor = bearer(app, Role.EDITOR)

    svg = _post(client, editor, b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.png")
    big = _post(client, editor, image_bytes("PNG", (200, 200), compress_level=0))
    huge = _post(client, editor, b"\0" * 200_000, "huge.png")  # refused before it is read
    json_body = client.post("/api/v1/media", headers=editor, json={"file": "x"})
    viewer = _post(client, bearer(app, Role.VIEWER, "viewer"), image_bytes("PNG"))

    assert svg.status_code == 415 and "PNG, JPEG, GIF and WebP" in svg.get_json()["detail"]
    assert big.status_code == 413 and "larger than" in big.get_json()["detail"]
    assert huge.status_code == 413
    assert json_body.status_code == 415
    assert viewer.status_code == 403
    for response in (svg, big, huge, json_body, viewer):
        assert response.mimetype == "application/problem+json"


def test_the_spec_declares_a_multipart_body_with_the_file(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    operation = spec["paths"]["/api/v1/media"]["post"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    model = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert model["properties"]["file"]["format"] == "binary"
    assert model["required"] == ["file"]
    assert {"201", "413", "415"} <= set(operation["responses"])
