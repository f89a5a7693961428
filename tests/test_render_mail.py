"""Transactional mails are rendered once per shared context and then filled per reader: the
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
    "subject": "Please confirm your subscription to Newsletter",
    "site_name": "Newsletter",
    "postal_address": "1 Test Street, Testville",
    "lists": ["Weekly news"],
    "max_age_days": 7,
}


@pytest.mark.parametrize("name", NAMES)
def test_filled_confirmation_equals_a_full_render(app, name):
    link = "http://localhost/confirm/WzEsImFiYyJd.aw0ttA.signature-part_x"
    with app.test_request_context():
        filled = render_mail("confirm", fill={"name": name, "confirm_url": link}, **SHARED)
        full = render_mail("confirm", name=name, confirm_url=link, **SHARED)
    assert filled == full
    assert app.config["SECRET_KEY"] not in filled.html + filled.text
