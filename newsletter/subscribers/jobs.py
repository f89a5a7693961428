"""Transactional mail jobs. They take ids, decide for themselves whether a mail is due (so
the web request does the same work whatever the address's state) and are safe to rerun."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, select

from ..bounces.verp import subscriber_return_path
from ..extensions import db
from ..languages import writing_in
from ..mail.bulk import list_id_for
from ..mail.dkim import signer_for
from ..mail.render import render_mail
from ..mail.transactional import template
from ..mail.transports import TemporaryFailure, Transport, open_transport
from ..media import layout as mail_layout
from ..models import MailingList, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from .links import Links, confirm_url, links_for
from .suppression import is_blocked

_RETRY_PAUSES = (1.0, 4.0)  # seconds between attempts at a transactional mail


def send_confirmation(subscriber_id: int | None, transport: Transport | None = None) -> bool:
    """Mail the double opt-in link if the subscriber has anything left to confirm (over
    ``transport`` when given, so a run of them shares one connection)."""
    if subscriber_id is None:
        return False
    rows = db.session.execute(_CONFIRMATION, {"id": subscriber_id}).all()
    if not rows or is_blocked(rows[0].email):
        return False
    subscriber = rows[0]
    pending = [(row.list_slug, row.list_name) for row in rows if row.list_name is not None]
    if not pending and subscriber.status != SubscriberStatus.PENDING:
        return False  # already confirmed on everything asked for: nothing to send
    site = current_app.config["SITE_NAME"]
    # No name: anyone can type any address and any name into the form, and this mail goes to
    # the address's owner before they said a word; a name would put a stranger's text (an
    # advert, a phishing link) in their inbox under our From. It greets them neutrally.
    _send(
        subscriber_id,
        subscriber.email,
        "confirm",
        subject=_l("Please confirm your subscription to %(site)s", site=site),
        language=subscriber.language,
        personal={"confirm_url": confirm_url(subscriber_id, subscriber.email)},
        about=pending,
        lists=[name for _, name in pending],
        max_age_days=current_app.config["CONFIRM_MAX_AGE_DAYS"],
        transport=transport,
    )
    return True


# The subscriber and the names of the lists they have yet to confirm, one row per list (or one
# row with no list): every signup queues this job, so it reads in one query.
_CONFIRMATION = (
    select(
        Subscriber.email,
        Subscriber.status,
        Subscriber.language,
        MailingList.slug.label("list_slug"),
        MailingList.name.label("list_name"),
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
    """Mail the welcome with the subscriber's personal preferences and unsubscribe links."""
    subscriber = _mailable(subscriber_id)
    if subscriber is None or subscriber.status != SubscriberStatus.CONFIRMED:
        return False
    links = links_for(subscriber.id, subscriber.email)
    confirmed = sorted(
        (s.list_id, s.mailing_list.slug, s.mailing_list.name)
        for s in subscriber.subscriptions
        if s.status == SubscriptionStatus.CONFIRMED
    )
    _send(
        subscriber.id,
        subscriber.email,
        "welcome",
        subject=_l("Welcome to %(site)s", site=current_app.config["SITE_NAME"]),
        language=subscriber.language,
        links=links,
        personal={
            "preferences_url": links.preferences_url,
            "unsubscribe_url": links.unsubscribe_url,
        },
        about=[(slug, name) for _, slug, name in confirmed],
        lists=[name for _, _, name in confirmed],
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
    subscriber_id: int,
    address: str,
    template_name: str,
    *,
    subject: LazyString,
    language: str | None,
    personal: dict[str, str],
    about: list[tuple[str, str]],
    links: Links | None = None,
    transport: Transport | None = None,
    **context: Any,
) -> None:
    """Render ``template_name`` for the subscriber at ``address`` and send it, signed when DKIM is
    configured, from a return path that names the subscriber (so a bounce of it proves itself);
    ``links`` adds the one-click unsubscribe headers, ``about`` (the lists' slugs and names,
    in list order) the first list's List-Id, as an issue to several lists carries. Written in
    the subscriber's ``language`` (None: the default), which the mail declares in
    Content-Language and ``<html lang>``."""
    with writing_in(language) as written_in:
        data = _mail_bytes(
            template_name, address, subject, written_in, personal, about, links, context
        )
    _deliver(subscriber_id, address, data, transport)


def _mail_bytes(
    template_name: str,
    address: str,
    lazy_subject: LazyString,
    language: str,
    personal: dict[str, str],
    about: list[tuple[str, str]],
    links: Links | None,
    context: dict[str, Any],
) -> bytes:
    config = current_app.config
    subject = str(lazy_subject)
    layout = mail_layout.current()
    body = render_mail(
        template_name,
        fill=personal,  # the subscriber's own: the rest is shared
        subject=subject,
        site_name=layout.site_name,
        postal_address=config["POSTAL_ADDRESS"],
        layout=layout,
        language=language,  # one cached rendering per language
        **context,
    )
    signer = signer_for(config.get("DKIM_KEY_FILE"), config.get("DKIM_SELECTOR"), config["FROM"])
    return template(config["FROM"], subject, signer, language, automatic=True).fill(
        recipient=address,
        body=body,
        unsubscribe_url=links.unsubscribe_url if links else None,
        unsubscribe_mailto=links.unsubscribe_mailto if links else None,
        mailing_list=(list_id_for(about[0][0], config["FROM"]), about[0][1]) if about else None,
    )


def _deliver(subscriber_id: int, address: str, data: bytes, transport: Transport | None) -> None:
    sender = subscriber_return_path(subscriber_id, address)
    with contextlib.ExitStack() as stack:
        if transport is None:
            transport = stack.enter_context(opened_transport())
        # A confirmation is awaited now, so a blip (4xx, dropped connection) is retried a few
        # times within seconds (a dropped SMTP connection is made again by the transport); a
        # longer outage fails the job visibly and the subscriber can ask again.
        for pause in (*_RETRY_PAUSES, None):
            try:
                transport.send(sender, address, data)
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
