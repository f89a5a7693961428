"""An issue reaches each reader with its footer (why they get it, manage, unsubscribe) in their
own language; the content stays as the admin wrote it."""

from __future__ import annotations

from helpers.outbox import outbox_messages, wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from sqlalchemy import update

from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.models import Subscriber


def test_each_copy_has_its_readers_footer(app):
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 3)
        db.session.execute(
            update(Subscriber)
            .where(Subscriber.email == "reader1@example.net")
            .values(language="de")
        )
        db.session.execute(
            update(Subscriber)
            .where(Subscriber.email == "reader2@example.net")
            .values(language="es")
        )
        db.session.commit()
        service.start_sending(make_issue([weekly], body="News of the week."))
    wait_idle(app)
    copies = {m["To"].addresses[0].addr_spec: m for m in outbox_messages(app)}

    def html(address):
        return copies[address].get_body(("html",)).get_content()

    def text(address):
        return copies[address].get_body(("plain",)).get_content()

    assert 'lang="en"' in html("reader0@example.net") and "Unsubscribe</a>" in html(
        "reader0@example.net"
    )
    german = html("reader1@example.net")
    assert '<html lang="en">' in german  # the admin's words: the site's language
    assert '<div class="footer" lang="de"' in german and "Abbestellen</a>" in german
    assert "News of the week." in german
    assert "Abbestellen: http" in text("reader1@example.net")
    assert "Sie erhalten diese E-Mail, weil Sie Newsletter abonniert haben." in text(
        "reader1@example.net"
    )
    assert "Darse de baja: http" in text("reader2@example.net")
    assert "Unsubscribe: http" in text("reader0@example.net")
