"""A NUL character typed or sent anywhere an editor or a script can put text: the admin
refuses the request whole (400, nothing changed), the API answers a problem, and an uploaded
file's name is kept without it; never a 500 from PostgreSQL, whose text cannot hold one. And
a JSON body, whose lists and objects the admin's forms would read as text, is a 415."""

from __future__ import annotations

import io
import json

import pytest
from helpers.api import bearer
from helpers.images import image_bytes
from helpers.roles import database_state, logged_in, make_staff
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import Media, Role

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def _admin_requests(staff, token: str) -> dict[str, tuple[str, str, dict]]:
    form = {"csrf_token": token}
    upload = (io.BytesIO(b"email\nnew@example.org\n"), "readers\x00.csv")
    return {
        "audit filter": ("GET", "/admin/audit?action=import%00", {}),
        "search": ("GET", "/admin/subscribers?q=a%00b", {}),
        "preview as": ("GET", f"/admin/issues/{staff.issue_id}/preview?as=a%00b", {}),
        "list name": (
            "POST",
            f"/admin/lists/{staff.list_id}",
            {"data": {**form, "name": "Weekly\x00", "description": ""}},
        ),
        "field name": ("POST", "/admin/lists", {"data": {**form, "slug\x00": "x"}}),
        "import file": (
            "POST",
            "/admin/import",
            {"data": {**form, "list_id": staff.list_id, "mode": "pending", "file": upload}},
        ),
    }


CASES = [
    "audit filter",
    "search",
    "preview as",
    "list name",
    "field name",
    "import file",
]


@pytest.mark.parametrize("case", CASES)
def test_a_nul_anywhere_in_an_admin_request_is_refused_and_changes_nothing(app, case):
    staff = make_staff(app)
    client, token = logged_in(app, Role.OWNER)
    before = database_state(app)
    method, url, kwargs = _admin_requests(staff, token)[case]

    answer = client.open(url, method=method, **kwargs)

    assert answer.status_code == 400
    assert "NUL character" in answer.get_data(as_text=True)
    assert database_state(app) == before


@pytest.mark.parametrize(
    "url",
    ["/admin/sequences/preview.html", "/admin/issues/autosave", "/admin/lists", "/admin/login"],
)
def test_a_json_body_posted_to_the_admin_is_refused_and_changes_nothing(app, url):
    make_staff(app)
    client, token = logged_in(app, Role.EDITOR)
    before = database_state(app)
    body = {"subject": ["x"], "body_md": {"a": 1}, "slug": "new", "name": "New", "email": "x"}

    answer = client.post(
        url, data=json.dumps(body), content_type="application/json", headers={"X-CSRFToken": token}
    )

    assert answer.status_code == 415
    assert "REST API" in answer.get_data(as_text=True)
    assert database_state(app) == before


def test_an_api_upload_keeps_its_file_name_without_control_characters(app):
    answer = app.test_client().post(
        "/api/v1/media",
        data={"file": (io.BytesIO(image_bytes()), "photo\x00\u202egnp.exe\t.png")},
        headers=bearer(app, Role.EDITOR),
    )

    assert answer.status_code == 201
    with app.app_context():
        kept = db.session.scalar(select(Media.original_filename))
    assert kept == "photognp.exe.png"


@pytest.mark.parametrize("path", ["/api/v1/lists/news%00", "/api/v1/sequences/lists/news%00"])
def test_a_nul_in_an_api_path_names_nothing(app, path):
    answer = app.test_client().get(path, headers=bearer(app))

    assert answer.status_code == 404
    assert answer.mimetype == "application/problem+json"
