"""The reaper (a periodic chore): recovers from workers that died and jobs that were lost.

For each issue still in motion: a dead job's "sending" deliveries become "unknown" (they may
have reached the server: never resent silently), its other claimed deliveries are released,
and any batch with due deliveries but no live job is queued again (as is a lost fan-out).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ..extensions import db
from ..models import IssueStatus
from . import jobs, leases, state

log = logging.getLogger(__name__)

# A claim younger than this is never judged, even if its liveness key is missing.
GRACE = timedelta(seconds=2)


def reap() -> None:
    """Run one recovery pass over every issue that is sending, paused or cancelled."""
    for issue_id in state.issues_in(IssueStatus.SENDING, IssueStatus.PAUSED, IssueStatus.CANCELLED):
        _recover_dead_claims(issue_id)
        db.session.commit()
    for issue_id in state.issues_in(IssueStatus.SENDING):
        if not state.has_deliveries(issue_id):
            if not leases.alive([leases.fan_out_key(issue_id)])[0]:
                jobs.queue_fan_out(issue_id)  # its fan-out job was lost
            continue
        queued = jobs.dispatch_issue(issue_id)
        if queued:
            log.info("issue %s: re-queued %s batch job(s)", issue_id, queued)
        state.finish_if_done(issue_id)
        db.session.commit()


def _recover_dead_claims(issue_id: int) -> None:
    claims = state.claims_in_use(issue_id)
    keys = [leases.claim_key(c) for c in claims]
    for claim_id, live in zip(claims, leases.alive(keys), strict=True):
        if live:
            continue
        unknown, released = state.orphan(claim_id, GRACE)
        if unknown or released:
            log.warning(
                "issue %s: worker claim %s is gone: %s unknown, %s released",
                issue_id,
                claim_id,
                unknown,
                released,
            )
