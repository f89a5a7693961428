"""Transactional mails are rendered once per shared context and then filled per subscriber: the
filled mail must be byte-for-byte the mail a full render would give, for any name."""

from __future__ import annotations

import pytest

from newsletter.mail.render import render_mail

NAMES = [
    "",
    "Ada",
    "Ada Lovelace",
    "Zoë Ångström",
    "Ada & Grace",
    '<script>alert("x")</script>',
    "O'Brien",
    " leading space",
    "trailing space ",
    "{{ config.SECRET_KEY }}",
    "Ada\u202eevil",
    "李小龍",
]
SHARED = {
    "subject": "Welcome to Newsletter",
    "site_name": "Newsletter",
    "postal_address": "1 Test Street, Testville",
    "lists": ["Weekly news"],
}
LINKS = {
    "preferences_url": "http://localhost/preferences/WzEsImFiYyJd.aw0ttA.signature-part_x",
    "unsubscribe_url": "http://localhost/unsubscribe/WzEsImFiYyJd.aw0ttA.signature-part_y",
}


@pytest.mark.parametrize("name", NAMES)
def test_filled_welcome_equals_a_full_render(app, name):
    # The welcome, not the confirmation: a confirmation greets no one by name.
    with app.test_request_context():
        filled = render_mail("welcome", fill={"name": name, **LINKS}, **SHARED)
        full = render_mail("welcome", name=name, **LINKS, **SHARED)
    assert filled == full
    assert app.config["SECRET_KEY"] not in filled.html + filled.text
