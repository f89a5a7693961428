"""Scheduled issues (a periodic chore): start each one whose time has come."""

from __future__ import annotations

from ..models import utcnow
from . import queries, service


def start_due() -> int:
    """Start sending every scheduled issue due now; returns how many started."""
    started = 0
    for issue_id in queries.due_scheduled(utcnow()):
        try:
            service.start_sending(issue_id, actor="scheduler")
        except service.SendingError:
            continue  # started by someone else a moment ago
        started += 1
    return started
