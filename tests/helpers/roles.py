"""Admins of every role and a sample of everything the admin shows, for the role walks
(tests/admin/test_roles_admin.py; the API's walk can use ``staff`` too)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from helpers.admin import PASSWORD, csrf_token, login
from helpers.images import image_bytes
from helpers.send import add_subscribers, make_issue, make_list
from newsletter.accounts import api_tokens
from newsletter.accounts import service as accounts
from newsletter.extensions import db
from newsletter.media import service as media
from newsletter.models import AdminUser, AuditEvent, ImportJob, Role, Subscriber
from newsletter.segments import service as segments
from newsletter.sequences import service as sequences
from newsletter.webhooks import service as webhooks


@dataclass
class Staff:
    """One admin per role (``{role}@example.org``), one more editor to manage, and one of
    each thing an admin URL names."""

    list_id: int
    subscriber_ids: list[int]
    issue_id: int
    job_id: int
    other_admin_id: int
    token_id: int
    webhook_id: int = 0
    step_id: int = 0
    media_name: str = ""
    segment_id: int = 0


def make_staff(app) -> Staff:
    """Make the admins and samples (use it from a ``staff`` fixture)."""
    with app.app_context():
        for role in Role:
            accounts.set_admin(f"{role}@example.org", PASSWORD, role=role)
        other, _ = accounts.set_admin("other@example.org", PASSWORD, role=Role.EDITOR)
        list_id = make_list()
        add_subscribers(list_id, 3)
        ids = list(db.session.scalars(select(Subscriber.id).order_by(Subscriber.id)))
        job = ImportJob(list_id=list_id, filename="old.csv", status="done")
        db.session.add(job)
        db.session.commit()
        api_tokens.create("sample", Role.VIEWER)
        token_id = api_tokens.get("sample").id
        webhook_id = webhooks.add("https://93.184.215.14/hook", ["issue.sent"]).id
        step_id = sequences.add_step("weekly", "Step one", "Hello", 86400).id
        issue_id = make_issue([list_id])
        media_name = media.store(image_bytes(), "walk.png", None).name
        segment_id = segments.create("Sample", {"all": []}).id
        return Staff(
            list_id,
            ids,
            issue_id,
            job.id,
            other.id,
            token_id,
            webhook_id,
            step_id,
            media_name,
            segment_id,
        )


def logged_in(app, role: Role):
    """A test client logged in as the admin with ``role``, and its CSRF token."""
    client = app.test_client()
    assert login(client, f"{role}@example.org").status_code == 302
    return client, csrf_token(client.get("/admin/account").get_data(as_text=True))


def last_audit(app) -> AuditEvent | None:
    with app.app_context():
        return db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))


def database_state(app) -> dict[str, list[str]]:
    """Every row of every table but the audit log's, to show a refused request changed
    nothing."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            if table.name == "audit_event":
                continue
            rows = db.session.execute(select(table)).all()
            state[table.name] = sorted(repr(tuple(row)) for row in rows)
        db.session.rollback()
        return state


def admin_role(app, email: str) -> Role | None:
    with app.app_context():
        return db.session.scalar(select(AdminUser.role).where(AdminUser.email == email))
