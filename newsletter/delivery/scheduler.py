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
    started = 0
    for issue_id in queries.due_scheduled(utcnow()):
        try:
            service.start_sending(issue_id, actor="scheduler")
        except service.SendingError as exc:
            # Started by someone else a moment ago (nothing to do), or it cannot go, e.g.
            # nobody to send to: back to a draft, with the reason in the audit log, rather
            # than sent whenever a first subscriber confirms.
            try:
                issues.unschedule(issue_id, why=str(exc), actor="scheduler")
            except NotFound:  # deleted since it was found due: nothing left to do
                log.info("scheduled issue %s is gone", issue_id)
            continue
        started += 1
    return started
