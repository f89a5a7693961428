"""How an issue reads before it is sent: rendered once (``compiled``), as a chosen subscriber
or a sample one would get it (``render``), the other hosts it loads from (``remote_hosts``),
and the ``send_test`` job that mails a test copy (``service.queue_test`` queues it)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..mail import remote
from ..mail.compiled import CompiledIssue, compile_issue
from ..mail.dkim import signer_for
from ..mail.render import Rendered, SubscriberFields, TemplateProblem
from ..mail.transactional import template
from ..mail.transports import open_transport
from ..media import layout as mail_layout
from ..models import Issue, Subscriber
from ..subscribers.addresses import lookup_form
from ..subscribers.links import Links


def compiled(issue: Issue) -> CompiledIssue:
    """The issue rendered once; raises :class:`TemplateProblem` for a broken expression."""
    layout = mail_layout.current()
    return compile_issue(
        issue.subject,
        issue.preheader,
        issue.body_md,
        site_name=layout.site_name,
        postal_address=current_app.config["POSTAL_ADDRESS"],
        layout=layout,
    )


def preview_subscriber(email: str | None) -> SubscriberFields:
    """The subscriber with this address as a :class:`SubscriberFields`, or a sample subscriber."""
    if email:
        found = db.session.scalar(select(Subscriber).where(Subscriber.email == lookup_form(email)))
        if found is not None:
            return SubscriberFields(found.email, found.name, dict(found.attributes or {}))
        return SubscriberFields(email.strip())
    return SubscriberFields("reader@example.org")


def sample_links() -> Links:
    """Footer links for previews and tests: they lead to the site, never to a real subscriber."""
    base = current_app.config["BASE_URL"]
    return Links(unsubscribe_url=f"{base}/", preferences_url=f"{base}/")


def render(issue: Issue, as_email: str | None) -> Rendered:
    """The mail as the subscriber with that address (or a sample subscriber) would get it."""
    return compiled(issue).render(preview_subscriber(as_email), sample_links())


def remote_hosts(issue: Issue) -> list[str]:
    """The other hosts the issue makes each subscriber's mail program load from (remote images,
    say), found in the mail as rendered and sanitised; empty if it does not render."""
    try:
        html = render(issue, None).html
    except TemplateProblem:
        return []
    return remote.remote_hosts(html, own_host=remote.host_of(current_app.config["BASE_URL"]))


def send_test(issue_id: int, address: str) -> None:
    """Job: mail one test copy, personalised as the subscriber with that address if any."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        return
    subscriber, links = preview_subscriber(address), sample_links()
    body = compiled(issue).render(subscriber, links)
    config = current_app.config
    sender = config["FROM"]
    signer = signer_for(config.get("DKIM_KEY_FILE"), config.get("DKIM_SELECTOR"), sender)
    # Signed as subscribers' copies are. No List-Unsubscribe: the test address is on no list
    # through this mail, and a one-click button whose POST reaches the sample link (the home
    # page, which answers 405) would tell the admin's provider our unsubscribe is broken.
    message = template(sender, f"[Test] {issue.subject}", signer).fill(
        recipient=subscriber.email, body=body
    )
    transport = open_transport()
    try:
        transport.send(sender, subscriber.email, message)
    finally:
        transport.close()
