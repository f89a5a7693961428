"""A subscriber's personal links, as absolute URLs for mails (built from ``BASE_URL``, so a job
without a request can make them)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from . import tokens


@dataclass(frozen=True)
class Links:
    """The links every mail to a subscriber carries."""

    unsubscribe_url: str
    preferences_url: str
    # ``mailto:`` the subscriber's signed unsubscribe address at the bounce mailbox, where the
    # bounce ingestion reads it; None when the bounce address leaves no room for the tag.
    unsubscribe_mailto: str | None = None


def absolute(path: str) -> str:
    """``BASE_URL`` + ``path``."""
    return current_app.config["BASE_URL"] + path


def links_for(subscriber_id: int, email: str) -> Links:
    """The unsubscribe and preferences links for this subscriber at this address."""
    # Imported here: the bounces package pulls in the subscriber views, which use this module.
    from ..bounces.verp import unsubscribe_address

    address = unsubscribe_address(subscriber_id, email)
    unsubscribe, manage = tokens.make_many(
        (tokens.UNSUBSCRIBE, tokens.MANAGE), subscriber_id, email
    )
    base = current_app.config["BASE_URL"]
    return Links(
        unsubscribe_url=f"{base}/unsubscribe/{unsubscribe}",
        preferences_url=f"{base}/preferences/{manage}",
        unsubscribe_mailto=f"mailto:{address}?subject=unsubscribe" if address else None,
    )


def confirm_url(subscriber_id: int, email: str) -> str:
    """The double opt-in link sent in the confirmation mail."""
    return absolute("/confirm/" + tokens.make(tokens.CONFIRM, subscriber_id, email))
