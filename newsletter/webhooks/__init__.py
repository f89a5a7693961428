"""Outgoing webhooks: other systems (a CRM, a shop) told when a subscriber's state changes.

- ``outbox``: :func:`~newsletter.webhooks.outbox.emit`, called where a change is made; the
  message and its deliveries are written in the caller's transaction and handed to the queue
  after its commit, so a crash neither loses an event nor invents one;
- ``standard``: the Standard Webhooks signature (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``) and endpoint secrets (``whsec_…``);
- ``jobs``: sending: claim due deliveries, call, record every attempt, retry on the Standard
  Webhooks schedule, disable an endpoint failing for three days; ``retry_now``, ``send_test``;
- ``ssrf``: which URLs may be called (no loopback or private networks unless allowed), and a
  connection pinned to the address that was checked.
"""
