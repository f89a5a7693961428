"""The page after the Confirm button tells the reader what happens next, and only that: a
welcome mail is promised when one is on its way, not when the list sends none or the link was
pressed before."""

from __future__ import annotations

from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import csrf_from, link_path, make_list

from newsletter.extensions import db
from newsletter.models import MailingList

WELCOME_ON_ITS_WAY = b"A welcome mail with your personal preferences link is on its way."
LINK_IN_EVERY_MAIL = b"Every mail we send you has a link to your personal preferences."


def _confirm_twice(app, sends_welcome: bool) -> list[bytes]:
    make_list(app, "news", "News")
    with app.app_context():
        db.session.execute(db.update(MailingList).values(sends_welcome=sends_welcome))
        db.session.commit()
    client = app.test_client()
    client.post("/subscribe", data={"email": "ada@example.org", "lists": ["news"]})
    wait_idle(app)
    (confirmation,) = outbox_messages(app)
    path = link_path(confirmation.get_body(("plain",)).get_content(), "confirm")
    token = csrf_from(client.get(path).data)
    answers = [client.post(path, data={"csrf_token": token}) for _ in range(2)]
    wait_idle(app)
    assert [a.status_code for a in answers] == [200, 200]
    return [a.data for a in answers]


def test_a_welcome_is_promised_once_when_it_is_sent(app):
    first, again = _confirm_twice(app, sends_welcome=True)

    assert WELCOME_ON_ITS_WAY in first
    assert WELCOME_ON_ITS_WAY not in again and LINK_IN_EVERY_MAIL in again
    assert [m["Subject"] for m in outbox_messages(app)][1:] == ["Welcome to Newsletter"]


def test_no_welcome_is_promised_when_the_list_sends_none(app):
    first, again = _confirm_twice(app, sends_welcome=False)

    assert WELCOME_ON_ITS_WAY not in first + again
    assert LINK_IN_EVERY_MAIL in first and LINK_IN_EVERY_MAIL in again
    assert len(outbox_messages(app)) == 1  # the confirmation alone
