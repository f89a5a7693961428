"""Send pressed by two admins at the same instant, while the tick starts the same issue at its
scheduled time: it starts once, and each reader gets one copy (SQLite and PostgreSQL, a real
SMTP server)."""

from __future__ import annotations

import collections
import re
import threading
from datetime import timedelta

import pytest
from helpers.admin import csrf_token, two_admins
from helpers.outbox import wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from sqlalchemy import func, select

from newsletter.delivery import scheduler
from newsletter.extensions import db
from newsletter.models import AuditEvent, Issue, IssueStatus, utcnow

READERS = 20


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_two_sends_and_the_tick_at_the_same_instant_send_each_copy_once(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, READERS)
        issue_id = make_issue([weekly], "Once")
        issue = db.session.get(Issue, issue_id)
        issue.status, issue.scheduled_at = IssueStatus.SCHEDULED, utcnow() - timedelta(seconds=1)
        db.session.commit()
    admins = []
    for client in two_admins(app):
        page = client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
        admins.append((client, csrf_token(page)))
    start = threading.Barrier(3)
    pressed: list[str] = []

    def press(client, token: str) -> None:
        start.wait()
        answer = client.post(f"/admin/issues/{issue_id}/send", data={"csrf_token": token})
        pressed.append(client.get(answer.headers["Location"]).get_data(as_text=True))

    def tick() -> None:
        with app.app_context():
            start.wait()
            scheduler.start_due()

    threads = [threading.Thread(target=press, args=admin) for admin in admins]
    threads.append(threading.Thread(target=tick))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_idle(app)

    copies = collections.Counter(a for m in smtp_server.wait_for(READERS) for a in m.rcpt_tos)
    assert len(copies) == READERS and set(copies.values()) == {1}, copies.most_common(3)
    with app.app_context():
        starts = select(func.count()).where(AuditEvent.action == "issue.send")
        assert db.session.scalar(starts) == 1
        assert db.session.get(Issue, issue_id).status == IssueStatus.SENT
    started = [p for p in pressed if "Sending started." in p]
    refused = [p for p in pressed if re.search(r"cannot be sent again|can only be sent once", p)]
    assert len(started) <= 1 and len(started) + len(refused) == 2
