"""Transactional mail jobs. They take ids, decide for themselves whether a mail is due (so
the web request does the same work whatever the address's state) and are safe to rerun."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator
from typing import Any

from flask import current_app
from sqlalchemy import Row, and_, bindparam, select

from ..extensions import db
from ..links import confirm_url, links_for
from ..mail.render import render_mail
from ..mail.transactional import template
from ..mail.transports import TemporaryFailure, Transport, open_transport
from ..models import MailingList, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from .suppression import is_blocked

_RETRY_PAUSES = (1.0, 4.0)  # seconds between attempts at a transactional mail


def send_confirmation(subscriber_id: int | None, transport: Transport | None = None) -> bool:
    """Mail the double opt-in link if the reader has anything left to confirm (over
    ``transport`` when given, so a run of them shares one connection)."""
    if subscriber_id is None:
        return False
    rows = db.session.execute(_CONFIRMATION, {"id": subscriber_id}).all()
    if not rows or is_blocked(rows[0].email):
        return False
    reader, pending = rows[0], [row.list_name for row in rows if row.list_name is not None]
    if not pending and reader.status != SubscriberStatus.PENDING:
        return False  # already confirmed on everything asked for: nothing to send
    site = current_app.config["SITE_NAME"]
    _send(
        reader,
        "confirm",
        subject=f"Please confirm your subscription to {site}",
        personal={"confirm_url": confirm_url(subscriber_id, reader.email)},
        lists=pending,
        max_age_days=current_app.config["CONFIRM_MAX_AGE_DAYS"],
        transport=transport,
    )
    return True


# The reader and the names of the lists they have yet to confirm, one row per list (or one
# row with no list): every signup queues this job, so it reads in one query.
_CONFIRMATION = (
    select(
        Subscriber.email, Subscriber.name, Subscriber.status, MailingList.name.label("list_name")
    )
    .outerjoin(
        Subscription,
        and_(
            Subscription.subscriber_id == Subscriber.id,
            Subscription.status == SubscriptionStatus.PENDING,
        ),
    )
    .outerjoin(MailingList, MailingList.id == Subscription.list_id)
    .where(Subscriber.id == bindparam("id"))
    .order_by(Subscription.list_id)
)


def send_welcome(subscriber_id: int) -> bool:
    """Mail the welcome with the reader's personal preferences and unsubscribe links."""
    subscriber = _mailable(subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.CONFIRMED:
        return False
    links = links_for(subscriber.id, subscriber.email)
    lists = [
        s.mailing_list.name
        for s in subscriber.subscriptions
        if s.status == SubscriptionStatus.CONFIRMED
    ]
    _send(
        subscriber,
        "welcome",
        subject=f"Welcome to {current_app.config['SITE_NAME']}",
        headers=links.headers(),
        personal={
            "preferences_url": links.preferences_url,
            "unsubscribe_url": links.unsubscribe_url,
        },
        lists=lists,
    )
    return True


def _mailable(subscriber_id: int | None) -> Subscriber | None:
    if subscriber_id is None:
        return None
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or is_blocked(subscriber.email):
        return None
    return subscriber


def _send(
    subscriber: Subscriber | Row,
    template_name: str,
    *,
    subject: str,
    personal: dict[str, str],
    headers: dict[str, str] | None = None,
    transport: Transport | None = None,
    **context: Any,
) -> None:
    config = current_app.config
    body = render_mail(
        template_name,
        fill={"name": subscriber.name, **personal},  # the reader's own: the rest is shared
        subject=subject,
        site_name=config["SITE_NAME"],
        postal_address=config["POSTAL_ADDRESS"],
        **context,
    )
    data = template(config["FROM"], subject).fill(
        recipient=subscriber.email, name=subscriber.name, body=body, headers=headers
    )
    sender = email.utils.parseaddr(config["FROM"])[1]
    with contextlib.ExitStack() as stack:
        if transport is None:
            transport = stack.enter_context(opened_transport())
        # A confirmation is awaited now, so a blip (4xx, dropped connection) is retried a few
        # times within seconds (a dropped SMTP connection is made again by the transport); a
        # longer outage fails the job visibly and the reader can ask again.
        for pause in (*_RETRY_PAUSES, None):
            try:
                transport.send(sender, subscriber.email, data)
                return
            except TemporaryFailure:
                if pause is None:
                    raise
            time.sleep(pause)


@contextlib.contextmanager
def opened_transport() -> Iterator[Transport]:
    """The configured transport, closed afterwards."""
    transport = open_transport()
    try:
        yield transport
    finally:
        transport.close()
