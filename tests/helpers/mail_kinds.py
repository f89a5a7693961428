"""One mail of every kind the product sends, as a real SMTP server receives it: the
confirmation (English and German), the welcome, a sequence step, an issue with an image hosted
here, and the admin's test copy of it. Shared by the tests of headers and of spam scores."""

from __future__ import annotations

from helpers.images import image_bytes
from helpers.outbox import wait_idle
from helpers.send import make_issue
from helpers.smtp import Received, SMTPServer
from helpers.subscribe import csrf_from, link_path
from helpers.subscribe import make_list as make_public_list
from newsletter.delivery import service
from newsletter.issues import service as issues
from newsletter.lists import service as lists
from newsletter.media import service as media
from newsletter.sequences import service as sequences
from newsletter.sequences import tick

KINDS = ("confirmation", "confirmation-de", "welcome", "step", "issue", "test")
READER, READER_DE, EDITOR = "ann@example.net", "bea@example.net", "editor@example.org"
SITE = "https://news.example.org"  # the BASE_URL to build the app with: https, as RFC 8058 asks

# What admins write: headings, a list, links to their own site and elsewhere, an image hosted
# here (``{image}``), personalisation and non-ASCII text.
ISSUE_BODY = """Hello {{{{ subscriber.name | default('reader') }}}},

## What grew this month

The apple trees did well this year. Here is what we learnt in the garden:

- prune in late winter, never in frost;
- water deeply, not often;
- read [the pruning guide]({site}/guide) before you start.

{image}

### Grüße aus dem Garten

Schöne Grüße, and see you next month. The Royal Horticultural Society has
[more on pruning](https://www.rhs.org.uk/plants/types/fruit-trees/pruning).
"""
STEP_BODY = """Hi {{ subscriber.name }},

Here are three things to do in your first week with the garden:

1. Look at what grows where.
2. Dig one bed, not all of them.
3. Plant what you like to eat.
"""


def send_every_kind(app, smtp_server: SMTPServer, subject: str) -> dict[str, Received]:
    """Sign two readers up on a public list with a one-step sequence, confirm one, send her an
    issue titled ``subject`` and a test copy of it to an editor; the mails by kind (``KINDS``)."""
    make_public_list(app, name="Garden News")
    with app.app_context():
        sequences.add_step("news", "Getting started with your garden", STEP_BODY, 0)
    client = app.test_client()
    client.post("/subscribe", data={"email": READER, "name": "Ann", "lists": "news"})
    [confirmation] = smtp_server.wait_for(1)
    signup = {"email": READER_DE, "name": "Bea", "lists": "news", "language": "de"}
    client.post("/subscribe", data=signup)
    confirmation_de = smtp_server.wait_for(2)[1]
    path = link_path(confirmation.part("plain"), "confirm")
    client.post(path, data={"csrf_token": csrf_from(client.get(path).data)})
    welcome = smtp_server.wait_for(3)[2]
    with app.app_context():
        tick.send_due()
        wait_idle(app)
        step = smtp_server.wait_for(4)[3]
        image = media.store(image_bytes(size=(800, 400)), "garden.png", None)
        body = ISSUE_BODY.format(site=SITE, image=media.markdown_for(image.name, "The garden"))
        issue_id = make_issue([lists.by_slug("news").id], subject=subject, body=body)
        issues.queue_test(issue_id, EDITOR)
        wait_idle(app)
        test = smtp_server.wait_for(5)[4]
        service.start_sending(issue_id)
        wait_idle(app)
    issue = smtp_server.wait_for(6)[5]
    mails = (confirmation, confirmation_de, welcome, step, issue, test)
    assert [m.rcpt_tos for m in mails] == [[r] for r in (READER, READER_DE, *[READER] * 3, EDITOR)]
    return dict(zip(KINDS, mails, strict=True))
