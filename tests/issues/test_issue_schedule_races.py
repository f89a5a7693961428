"""Unschedule or schedule pressed at the instant the issue starts sending (the tick reaching its
time, or another admin's Send): the issue keeps sending and the admin is told it started.
Before, the press turned the sending issue back into a draft (or a scheduled issue): its batches
stopped half-way and the "draft", deliveries and all, could be edited or deleted. And the other
way round: an issue unscheduled (or moved later) just after the tick found it due is left as
the admin left it; before, the tick sent it anyway."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from helpers.race import meanwhile
from helpers.send import add_subscribers, make_list
from sqlalchemy import update

from newsletter.delivery import scheduler
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import Issue, IssueStatus, utcnow


def draft(scheduled: bool) -> int:
    issue = issues.save(None, subject="News", body_md="Hello", list_ids=[make_list()])
    if scheduled:
        issue.status, issue.scheduled_at = IssueStatus.SCHEDULED, utcnow() + timedelta(hours=1)
    db.session.commit()
    issue_id = issue.id
    db.session.remove()  # the press starts with nothing in memory, as a new request does
    return issue_id


def started_meanwhile(issue_id: int):
    """The tick (or another admin) starts sending the issue right after the press read it."""

    def begin() -> None:
        with db.engine.connect() as other:
            other.execute(
                update(Issue)
                .where(Issue.id == issue_id)
                .values(status=IssueStatus.SENDING.value, started_at=utcnow())
            )
            other.commit()

    return meanwhile(Issue.__table__, begin)


def status(issue_id: int) -> IssueStatus:
    db.session.rollback()
    return db.session.get(Issue, issue_id).status


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_unschedule_as_the_issue_starts_leaves_it_sending(app):
    with app.app_context():
        issue_id = draft(scheduled=True)
        with started_meanwhile(issue_id), contextlib.suppress(issues.IssueLocked):
            issues.unschedule(issue_id)
        assert status(issue_id) == IssueStatus.SENDING


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_schedule_as_the_issue_starts_leaves_it_sending(app):
    with app.app_context():
        issue_id = draft(scheduled=False)
        with started_meanwhile(issue_id), pytest.raises(issues.IssueLocked, match="sending"):
            issues.schedule(issue_id, utcnow() + timedelta(days=1))
        assert status(issue_id) == IssueStatus.SENDING
        assert db.session.get(Issue, issue_id).scheduled_at is None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("admin_did", ["unscheduled", "moved it to tomorrow"])
def test_an_issue_the_admin_unscheduled_as_the_tick_found_it_due_is_not_sent(app, admin_did):
    with app.app_context():
        issue_id = draft(scheduled=True)
        add_subscribers(db.session.get(Issue, issue_id).lists[0].id, 3)
        db.session.execute(update(Issue).where(Issue.id == issue_id).values(scheduled_at=utcnow()))
        db.session.commit()
        db.session.remove()
        later = {"status": IssueStatus.DRAFT.value, "scheduled_at": None}
        if admin_did != "unscheduled":
            later = {"scheduled_at": utcnow() + timedelta(days=1)}

        def admin_acts() -> None:
            with db.engine.connect() as other:
                other.execute(update(Issue).where(Issue.id == issue_id).values(**later))
                other.commit()

        with meanwhile(Issue.__table__, admin_acts):
            assert scheduler.start_due() == 0
        expected = IssueStatus.DRAFT if admin_did == "unscheduled" else IssueStatus.SCHEDULED
        assert status(issue_id) == expected
