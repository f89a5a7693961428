"""Nothing an admin or a CSV file types can run in a page, a preview, the archive or a mail."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from helpers.admin import post
from helpers.outbox import outbox_messages, wait_idle
from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.models import ImportJob, Issue, IssueStatus, MailingList, Subscriber, utcnow

SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
ATTR = '" autofocus onfocus="alert(2)'
PAYLOAD = SCRIPT + IMG + ATTR


class _Elements(HTMLParser):
    """Every start tag with its attributes, as a browser would parse them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs) -> None:  # type: ignore[no-untyped-def]
        self.found.append((tag, dict(attrs)))


def assert_inert(text: str, where: str) -> None:
    parser = _Elements()
    parser.feed(text)
    for tag, attrs in parser.found:
        assert not any(name.startswith("on") for name in attrs), (where, tag, attrs)
        assert tag != "script" or attrs.get("src", "").startswith("/static/"), (where, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript"), (where, attrs)


def test_payloads_in_every_field_are_escaped_or_stripped_everywhere(app, admin_client):
    post(
        admin_client,
        "/admin/lists",
        {"slug": "x", "name": PAYLOAD, "description": PAYLOAD, "is_public": "y"},
    )
    with app.app_context():
        list_id = db.session.scalar(select(MailingList.id))
    csv_text = f'email,name,note\nok@example.org,"{PAYLOAD}","{PAYLOAD}"\n"{IMG}@x.org",a,b\n'
    response = post(
        admin_client,
        "/admin/import",
        {
            "file": (io.BytesIO(csv_text.encode()), f"{IMG}.csv"),
            "list_id": list_id,
            "mode": "pending",
        },
        content_type="multipart/form-data",
    )
    import_page = response.headers["Location"]
    wait_idle(app)
    response = post(
        admin_client,
        "/admin/issues/new",
        {
            "subject": PAYLOAD,
            "preheader": PAYLOAD,
            "lists": list_id,
            "is_public": "y",
            "body_md": f"# {PAYLOAD}\n\n[x](javascript:alert(3)) {{{{ subscriber.name }}}}",
        },
    )
    issue_id = int(response.headers["Location"].split("/")[-2])
    post(admin_client, f"/admin/issues/{issue_id}/test", {"address": "ok@example.org"})
    wait_idle(app)
    with app.app_context():
        subscriber_id = db.session.scalar(
            select(Subscriber.id).where(Subscriber.email == "ok@example.org")
        )
        slug = db.session.get(Issue, issue_id).slug
        # Published as the sending engine would leave it, to check the archive and feed.
        db.session.execute(update(Issue).values(status=IssueStatus.SENT, finished_at=utcnow()))
        db.session.commit()
        assert db.session.scalar(select(ImportJob.status)) == "done"

    pages = [
        "/admin/",
        "/admin/lists",
        f"/admin/lists/{list_id}",
        "/admin/subscribers",
        "/admin/subscribers?q=ok",
        f"/admin/subscribers/{subscriber_id}",
        "/admin/issues",
        f"/admin/issues/{issue_id}",
        f"/admin/issues/{issue_id}/edit",
        f"/admin/issues/{issue_id}/preview",
        f"/admin/issues/{issue_id}/preview?as=ok@example.org",
        f"/admin/issues/{issue_id}/preview.html?as=ok@example.org",
        import_page,
        "/admin/import",
        "/",
        "/archive",
        f"/archive/{slug}",
        "/feed.atom",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_inert(response.get_data(as_text=True), url)
    export = admin_client.get("/admin/export.csv")
    assert export.mimetype == "text/csv" and export.headers["X-Content-Type-Options"] == "nosniff"
    assert "ok@example.org" in export.get_data(as_text=True)
    seen = admin_client.get(f"/admin/subscribers/{subscriber_id}").get_data(as_text=True)
    assert "&lt;script&gt;" in seen  # shown, as text
    for message in outbox_messages(app):
        for part in message.walk():
            if part.get_content_type() == "text/html":
                html = part.get_content()
                assert_inert(html, "mail")
                assert 'href="javascript' not in html
        assert "\n" not in str(message["Subject"])
