"""Hostile CSV files an editor may be handed: control characters in the header row, wrong
encodings, binary, one line of 50 MB. Each is imported as far as it can be or fails with a
reason, and the export keeps working afterwards, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from helpers.outbox import wait_idle
from helpers.roles import logged_in, make_staff
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import ImportJob, Role, Subscriber

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def _import(app, client, token: str, list_id: int, data: bytes) -> ImportJob:
    answer = client.post(
        "/admin/import",
        data={
            "csrf_token": token,
            "list_id": list_id,
            "mode": "pending",
            "file": (io.BytesIO(data), "readers.csv"),
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    wait_idle(app)
    with app.app_context():
        return db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()


def test_control_characters_in_a_column_name_are_dropped_and_the_export_still_works(app):
    staff = make_staff(app)
    client, token = logged_in(app, Role.OWNER)

    job = _import(app, client, token, staff.list_id, b"email,Ci\x00ty\x1b\nnew@example.org,Oslo\n")
    export = client.get("/admin/export.csv")

    assert (job.status, job.accepted) == ("done", 1)
    with app.app_context():
        stored = db.session.scalar(select(Subscriber).where(Subscriber.email == "new@example.org"))
        assert stored.attributes == {"ci ty": "Oslo"}
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert export.status_code == 200
    assert [r["ci ty"] for r in rows if r["email"] == "new@example.org"] == ["Oslo"]


UNREADABLE = {
    "UTF-16": "email,name\nzoe@example.org,Zoë\n".encode("utf-16"),
    "binary": bytes(range(256)) * 64,
    "a 50 MB line": b"email,name\nzoe@example.org," + b"x" * (50 * 1024 * 1024),
}


@pytest.mark.parametrize("data", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_file_fails_with_a_reason_and_imports_nobody(app, data):
    staff = make_staff(app)
    client, token = logged_in(app, Role.OWNER)

    job = _import(app, client, token, staff.list_id, data)
    page = client.get(f"/admin/import/{job.id}")

    assert (job.status, job.accepted) == ("failed", 0)
    assert page.status_code == 200
    assert job.report[0]["reason"] in page.get_data(as_text=True)
    assert client.get("/admin/export.csv").status_code == 200


def test_an_address_with_a_line_break_in_a_quoted_cell_is_rejected(app):
    staff = make_staff(app)
    client, token = logged_in(app, Role.OWNER)
    data = b'email,name\n"bob\n@example.org",Bob\n"eve@example.org\nBcc: x@example.net",Eve\n'

    job = _import(app, client, token, staff.list_id, data)

    assert (job.status, job.accepted, job.rejected) == ("done", 0, 2)
    with app.app_context():
        stored = db.session.scalars(select(Subscriber.email)).all()
    assert not [address for address in stored if not address.isprintable()]
