"""A membership becoming confirmed: the one place that says when it was.

A list's sequence (``newsletter.sequences``) counts its delays from the moment a subscriber
confirmed on the list (``Subscription.confirmed_at``), so every path that confirms a
membership in Python (the confirm link, preferences, the admin and API adding a confirmed
subscriber) goes through :func:`confirm_membership`. The import's set-based SQL
(``imports.staging``) sets the same column in its own statements.
"""

from __future__ import annotations

from datetime import datetime

from ..models import Subscriber, Subscription, SubscriptionStatus, utcnow


def confirm_membership(
    subscriber: Subscriber, list_id: int, now: datetime | None = None
) -> Subscription:
    """Confirm the subscriber on the list, joining it if need be (the caller commits). A
    membership already confirmed keeps its moment, so confirming twice restarts nothing."""
    held = next((s for s in subscriber.subscriptions if s.list_id == list_id), None)
    if held is None:
        held = Subscription(list_id=list_id)
        subscriber.subscriptions.append(held)
    if held.status != SubscriptionStatus.CONFIRMED:
        held.status = SubscriptionStatus.CONFIRMED
        held.confirmed_at = now or utcnow()
    return held
