"""``newsletter import`` of a big file while ``newsletter serve`` runs on the same database,
signing visitors up and sending an issue: every row is imported, once, and nothing fails on
either side (SQLite has one writer; the import must take its turn, not die of "database is
locked" after tens of thousands of rows)."""

from __future__ import annotations

import pytest
from helpers.load import Signups, run_import, running_server, schedule_issue, write_csv
from helpers.send import delivery_counts, wait_for
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.models import ConsentEvent, MailingList, Subscriber, Subscription


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "rows"), [("sqlite", 200_000), ("postgresql", 50_000)], indirect=["backend"]
)
def test_import_while_the_server_signs_up_and_sends_imports_every_row(
    make_app, smtp_server, tmp_path, rows
):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        news = MailingList(slug="news", name="News", is_public=True)
        audience = MailingList(slug="audience", name="Audience", is_public=False)
        db.session.add_all([news, audience])
        db.session.commit()
        news_id = news.id
        issue_id = schedule_issue(audience.id, 20_000)
    csv = write_csv(tmp_path / "big.csv", rows)
    log = tmp_path / "serve.log"

    with running_server(app, log) as url, Signups(url, lists=["news"]) as signups:
        with app.app_context():  # the issue is going out
            wait_for(lambda: delivery_counts(issue_id).get("sent", 0) >= 100, timeout=60)
        result = run_import(app, csv, "--list", "news", "--confirmed", "--note", "fair 2024")

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "locked" not in result.stderr
    assert f"accepted: {rows}\nupdated: 0\nrejected: 0\n" in result.stdout
    assert signups.answers and set(signups.answers) == {200}
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log and "locked" not in server_log
    with app.app_context():
        imported = Subscriber.email.like("%@import.example")
        assert db.session.scalar(select(func.count()).where(imported)) == rows
        on_news = (
            select(func.count())
            .select_from(Subscription)
            .join(Subscriber)
            .where(imported, Subscription.list_id == news_id, Subscription.status == "confirmed")
        )
        assert db.session.scalar(on_news) == rows
        consents = select(func.count()).select_from(ConsentEvent).join(Subscriber)
        assert db.session.scalar(consents.where(imported)) == rows  # each row once
        counts = delivery_counts(issue_id)
        assert counts.get("sent", 0) >= 100 and "failed" not in counts, server_log[-3000:]
