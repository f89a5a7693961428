"""On PostgreSQL the batch loop marks deliveries "sending" a group at a time (one commit per
group): when a batch stops mid-group (its time slice used up), the marked messages it did not
hand to the server go back to the queue and are sent later, once each, none left "unknown"."""

from __future__ import annotations

import collections

import pytest
from helpers.send import delivery_counts, issue_status, start_issue, wait_for

from newsletter.delivery import batch
from newsletter.delivery.state_journal import GROUP_ON_POSTGRESQL


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_batch_stopped_mid_group_sends_the_rest_later_once_each(
    make_app, smtp_server, monkeypatch
):
    assert GROUP_ON_POSTGRESQL > 2
    # ~40 messages/s and a 0.05 s slice: each batch job hands back after a message or two of
    # its group of 8, the others marked but never handed over.
    monkeypatch.setattr(batch, "TIME_SLICE", 0.05)
    app = make_app(SMTP_URL=smtp_server.url, BATCH_SIZE=20, SEND_RATE=40)
    issue_id = start_issue(app, 30)

    wait_for(lambda: issue_status(app, issue_id) == "sent", timeout=60)
    copies = collections.Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert len(copies) == 30 and set(copies.values()) == {1}
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 30}
