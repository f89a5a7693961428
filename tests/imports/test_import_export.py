"""CSV import (web and CLI) with its report, and the streamed, formula-safe CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from helpers.admin import post
from helpers.outbox import outbox_messages, wait_idle
from helpers.sequences import confirmed_reader, travel
from helpers.subscribe import age_debts
from sqlalchemy import select, update

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.jobs import queues
from newsletter.lists import service as list_service
from newsletter.models import (
    ConsentEvent,
    ImportJob,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.sequences import service as sequences
from newsletter.sequences import tick
from newsletter.subscribers import confirmations
from newsletter.subscribers.service import suppress

CSV = (
    "Email,Name,City\n"
    "ann@example.org,Ann,Paris\n"
    "not an address,Bob,Rome\n"
    "ANN@example.org,Ann again,Paris\n"
    "gone@example.org,Gone,Oslo\n"
    "cleo@Example.ORG,Cleo,=cmd|' /C calc'!A0\n"
)


def make_list(app, slug: str = "news") -> int:
    with app.app_context():
        return list_service.create(slug, slug.title()).id


def write_csv(tmp_path, text: str = CSV):
    path = tmp_path / "readers.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_cli_import_reports_accepted_updated_rejected_with_reasons(app, tmp_path):
    make_list(app)
    with app.app_context():
        suppress("gone@example.org", SuppressionReason.BOUNCED)
        db.session.commit()
    runner = app.test_cli_runner()
    path = write_csv(tmp_path)
    args = ["import", str(path), "--list", "news", "--confirmed", "--note", "fair 2024"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output + result.stderr
    assert "accepted: 2\nupdated: 0\nrejected: 3\n" in result.stdout
    assert "row 3: not an address: bad address" in result.stderr
    assert "row 4: ANN@example.org: duplicate" in result.stderr
    assert "row 5: gone@example.org: suppressed" in result.stderr

    again = runner.invoke(main, args)  # the same file again: everyone known is updated
    assert "accepted: 0\nupdated: 2\nrejected: 3\n" in again.stdout
    with app.app_context():
        cleo = db.session.scalar(select(Subscriber).where(Subscriber.email == "cleo@example.org"))
        assert cleo.status == SubscriberStatus.CONFIRMED
        assert cleo.attributes == {"city": "=cmd|' /C calc'!A0"}
        assert cleo.subscriptions[0].status == SubscriptionStatus.CONFIRMED
        sources = db.session.scalars(
            select(ConsentEvent.source).where(ConsentEvent.subscriber_id == cleo.id)
        ).all()
        assert sources == ["fair 2024", "fair 2024"]


def test_cli_import_needs_a_note_for_confirmed_subscribers(app, tmp_path):
    make_list(app)
    result = app.test_cli_runner().invoke(
        main, ["import", str(write_csv(tmp_path)), "--list", "news", "--confirmed"]
    )
    assert result.exit_code != 0 and "--note" in result.output


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_confirmed_import_may_leave_the_sequence_unstarted(app, tmp_path):
    for slug in ("news", "daily"):
        make_list(app, slug)
        with app.app_context():
            sequences.add_step(slug, "Welcome", "Hi", 0)
            sequences.add_step(slug, "Tips", "Tips", sequences.parse_delay("2d"))
    with app.app_context():
        pat = confirmed_reader(list_service.by_slug("daily").id, "pat@example.org")
        db.session.execute(
            update(Subscription).where(Subscription.subscriber_id == pat).values(status="pending")
        )
        db.session.commit()
    path = write_csv(tmp_path, "email\nann@example.org\npat@example.org\n")
    runner = app.test_cli_runner()
    for slug, more in (("news", []), ("daily", ["--skip-sequence"])):
        args = ["import", str(path), "--list", slug, "--confirmed", "--note", "fair", *more]
        assert runner.invoke(main, args).exit_code == 0

    with app.app_context():
        travel(3 * 24 * 60)
        for _ in range(3):  # a tick per step, each after the one before went out
            tick.ask_full_scan()
            tick.send_due()
            wait_idle(app)
        shown = {
            slug: [(p.sent, p.due, p.skipped) for p in sequences.steps(slug)]
            for slug in ("news", "daily")
        }
    assert shown == {"news": [(2, 0, 0), (2, 0, 0)], "daily": [(0, 0, 2), (0, 0, 2)]}
    refused = runner.invoke(main, ["import", str(path), "--list", "news", "--skip-sequence"])
    assert refused.exit_code == 2 and "--skip-sequence goes with --confirmed" in refused.output


def upload(client, list_id: int, mode: str, text: str = CSV, form: dict | None = None):
    """Submit the import form with a CSV file (and ``form``'s other fields)."""
    return post(
        client,
        "/admin/import",
        {
            "file": (io.BytesIO(text.encode()), "readers.csv"),
            "list_id": list_id,
            "mode": mode,
            **(form or {}),
        },
        content_type="multipart/form-data",
    )


def test_web_import_runs_in_the_background_and_mails_confirmations(app, admin_client, tmp_path):
    list_id = make_list(app)
    response = upload(admin_client, list_id, "pending")
    assert response.status_code == 302
    wait_idle(app)
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Finished." in page
    assert re.search(r'data-count="accepted">3<', page)
    assert "bad address" in page and "duplicate" in page
    progress = admin_client.get(response.headers["Location"] + ".json").get_json()
    assert progress["status"] == "done" and progress["done"] == progress["total"]
    recipients = sorted(str(m["To"]) for m in outbox_messages(app))  # a confirmation names no one
    assert recipients == ["ann@example.org", "cleo@example.org", "gone@example.org"]
    with app.app_context():
        assert db.session.scalar(select(ImportJob.status)) == "done"
        statuses = set(db.session.scalars(select(Subscriber.status)))
    assert statuses == {SubscriberStatus.PENDING}


def test_web_import_as_confirmed_requires_a_note(app, admin_client):
    list_id = make_list(app)
    response = upload(admin_client, list_id, "confirmed")
    assert response.status_code == 400
    assert "Say where these readers gave consent." in response.get_data(as_text=True)


def test_web_import_may_leave_the_sequence_unstarted_for_confirmed_readers(app, admin_client):
    list_id = make_list(app)
    with app.app_context():
        welcome = sequences.add_step("news", "Welcome", "Hi", 0).id
    form = {"note": "fair 2024", "skip_sequence": "y"}
    refused = upload(admin_client, list_id, "pending", form=form)
    assert refused.status_code == 400
    assert "Only already-confirmed readers can skip the sequence." in refused.get_data(True)

    assert upload(admin_client, list_id, "confirmed", form=form).status_code == 302
    wait_idle(app)
    with app.app_context():
        tick.send_due()
        assert db.session.scalar(select(ImportJob.start_sequence)) is False
        [progress] = sequences.steps("news")
    assert (progress.id, progress.sent, progress.due, progress.skipped) == (welcome, 0, 0, 3)


def test_a_file_without_an_email_column_fails_with_a_reason(app, admin_client):
    list_id = make_list(app)
    response = upload(admin_client, list_id, "pending", "name\nAnn\n")
    wait_idle(app)
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The import failed." in page and "“email”" in page


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_export_neutralises_formulas_and_filters_by_list_and_status(app, tmp_path):
    make_list(app)
    make_list(app, "other")
    runner = app.test_cli_runner()
    runner.invoke(
        main, ["import", str(write_csv(tmp_path)), "--list", "news", "--confirmed", "--note", "x"]
    )
    formula = 'email,name\nmallory@example.org,=HYPERLINK("http://x")\nplus@example.org,+1\n'
    runner.invoke(main, ["import", str(write_csv(tmp_path, formula)), "--list", "other"])
    result = runner.invoke(main, ["export"])
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0][:3] == ["email", "name", "status"]
    by_email = {r[0]: r for r in rows[1:]}
    assert by_email["mallory@example.org"][1] == '\'=HYPERLINK("http://x")'
    assert by_email["plus@example.org"][1] == "'+1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    news = runner.invoke(main, ["export", "--list", "news", "--status", "confirmed"]).stdout
    assert {r[0] for r in list(csv.reader(io.StringIO(news)))[1:]} == {
        "ann@example.org",
        "cleo@example.org",
        "gone@example.org",
    }
    pending = runner.invoke(main, ["export", "--status", "pending"]).stdout
    assert "mallory@example.org" in pending and "ann@example.org" not in pending


def test_web_export_is_a_csv_download(app, admin_client, tmp_path):
    make_list(app)
    app.test_cli_runner().invoke(main, ["import", str(write_csv(tmp_path)), "--list", "news"])
    response = admin_client.get("/admin/export.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("email,name,status,lists,created_at,confirmed_at,city\r\n")
    assert "'=cmd|" in text


def test_an_import_killed_before_queueing_its_confirmations_loses_none(app, tmp_path, monkeypatch):
    make_list(app)
    path = write_csv(tmp_path)
    with monkeypatch.context() as m:  # the worker dies right after the chunk's commit
        m.setattr(queues, "enqueue", lambda *args, **kwargs: None)
        result = app.test_cli_runner().invoke(main, ["import", str(path), "--list", "news"])
    assert result.exit_code == 0, result.output
    assert outbox_messages(app) == []
    age_debts(app)  # five minutes on: the tick finds the mails still owed
    with app.app_context():
        assert confirmations.resend_owed() == 3
    wait_idle(app)
    recipients = sorted(m["To"].addresses[0].addr_spec for m in outbox_messages(app))
    assert recipients == ["ann@example.org", "cleo@example.org", "gone@example.org"]


def test_export_neutralises_a_formula_in_the_header_row(app, tmp_path):
    make_list(app)
    header = 'email,"=HYPERLINK(""http://evil.example"",""x"")",@sum\nann@example.org,a,b\n'
    runner = app.test_cli_runner()
    runner.invoke(main, ["import", str(write_csv(tmp_path, header)), "--list", "news"])
    result = runner.invoke(main, ["export"])
    header_row = next(csv.reader(io.StringIO(result.stdout)))
    assert '\'=hyperlink("http://evil.example","x")' in header_row
    assert "'@sum" in header_row
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in header_row)
