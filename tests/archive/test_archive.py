"""The public archive and Atom feed: sent public issues only, with no personal links."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from newsletter.extensions import db
from newsletter.models import Issue, IssueStatus, utcnow

ATOM = "{http://www.w3.org/2005/Atom}"


def add_issue(app, subject: str, *, public: bool, status: IssueStatus) -> str:
    with app.app_context():
        issue = Issue(
            subject=subject,
            preheader="Short summary",
            body_md='Hello {{ subscriber.name | default("reader") }}, [more](https://example.org/a)',
            is_public=public,
            status=status,
            finished_at=utcnow() if status == IssueStatus.SENT else None,
        )
        db.session.add(issue)
        db.session.flush()
        issue.slug = f"{issue.id}-{subject.lower().replace(' ', '-')}"
        db.session.commit()
        return issue.slug


def test_archive_lists_only_sent_public_issues(app, client):
    shown = add_issue(app, "Sent and public", public=True, status=IssueStatus.SENT)
    add_issue(app, "Sent but private", public=False, status=IssueStatus.SENT)
    hidden = add_issue(app, "Public draft", public=True, status=IssueStatus.DRAFT)
    page = client.get("/archive").get_data(as_text=True)
    assert "Sent and public" in page
    assert "Sent but private" not in page and "Public draft" not in page
    assert client.get(f"/archive/{hidden}").status_code == 404
    one = client.get(f"/archive/{shown}").get_data(as_text=True)
    assert "Hello reader" in one and 'href="https://example.org/a"' in one


def test_archived_issue_carries_no_personal_links(app, client):
    slug = add_issue(app, "Links", public=True, status=IssueStatus.SENT)
    page = client.get(f"/archive/{slug}").get_data(as_text=True)
    assert "/unsubscribe/" not in page and "/preferences/" not in page


def test_feed_is_valid_atom_with_one_entry_per_public_issue(app, client):
    add_issue(app, "First", public=True, status=IssueStatus.SENT)
    add_issue(app, "Second", public=True, status=IssueStatus.SENT)
    add_issue(app, "Private", public=False, status=IssueStatus.SENT)
    response = client.get("/feed.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id") is not None and feed.find(f"{ATOM}updated") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert sorted(e.find(f"{ATOM}title").text for e in entries) == ["First", "Second"]
    for entry in entries:
        assert entry.find(f"{ATOM}id").text.startswith("http://localhost/archive/")
        assert entry.find(f"{ATOM}updated") is not None
        assert "Hello reader" in entry.find(f"{ATOM}content").text


def test_empty_feed_is_still_valid(client):
    feed = ET.fromstring(client.get("/feed.atom").data)
    assert feed.find(f"{ATOM}updated") is not None and feed.findall(f"{ATOM}entry") == []
