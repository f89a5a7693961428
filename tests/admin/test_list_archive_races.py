"""Two admins pressing "Archive list" on the same list, each from the page they had open: the
list is archived and the second is told it already was. Before, the button toggled, so the
second press restored the list both meant to close (signups kept coming)."""

from __future__ import annotations

import re

from helpers.admin import csrf_token, two_admins
from helpers.send import make_list

from newsletter.extensions import db
from newsletter.models import MailingList


def test_archive_pressed_by_two_admins_archives_the_list(app):
    with app.app_context():
        list_id = make_list()
    url = f"/admin/lists/{list_id}"
    pages = []
    for client in two_admins(app):
        page = client.get(url).get_data(as_text=True)
        archive_form = page[page.index(f'action="{url}/archive"') :]
        fields = dict(
            re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', archive_form)
        )
        assert "Archive list" in archive_form
        pages.append((client, {**fields, "csrf_token": csrf_token(archive_form)}))

    for client, fields in pages:
        answer = client.post(f"{url}/archive", data=fields)
    said = pages[1][0].get(answer.headers["Location"]).get_data(as_text=True)

    with app.app_context():
        assert db.session.get(MailingList, list_id).archived_at is not None
    assert "already archived" in said
