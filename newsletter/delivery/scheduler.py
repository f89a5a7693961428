"""Scheduled issues (a periodic chore): start each one whose time has come."""

from __future__ import annotations

import logging

from ..errors import NotFound
from ..issues import service as issues
from ..models import utcnow
from . import queries, service

log = logging.getLogger(__name__)


def start_due() -> int:
    """Start sending every scheduled issue due now; returns how many started."""
    started, now = 0, utcnow()
    for issue_id in queries.due_scheduled(now):
        try:
            service.start_sending(issue_id, actor="scheduler", due_by=now)
        except service.NotStarted:
            continue  # started, unscheduled or moved later by an admin a moment ago
        except service.SendingError as exc:
            # It cannot go, e.g. nobody to send to: back to a draft, with the reason in the
            # audit log, rather than sent whenever a first subscriber confirms.
            try:
                issues.unschedule(issue_id, why=str(exc), actor="scheduler")
            except NotFound:  # deleted since it was found due: nothing left to do
                log.info("scheduled issue %s is gone", issue_id)
            except issues.IssueLocked:  # an admin's Send started it meanwhile after all
                log.info("scheduled issue %s was started by an admin", issue_id)
            continue
        started += 1
    return started
