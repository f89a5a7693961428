"""What the subscribers' routes take and answer: pydantic models, shown in the OpenAPI spec
exactly as they are checked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..models import ConsentEvent, Delivery, Subscriber, SubscriberStatus
from .lists import NO_NUL

Text = Annotated[str, StringConstraints(pattern=NO_NUL)]
# What ``addresses.strict_name`` refuses: C0/C1 controls and the Unicode line separators.
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
Name = Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROL)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
# An attribute's value: what a CSV column or a JSON scalar can hold.
Scalar = (
    Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)]
    | int
    | Annotated[float, Field(allow_inf_nan=False)]  # JSON has no NaN; PostgreSQL refuses it
    | bool
)
Key = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NO_NUL)]
Status = Literal["pending", "confirmed", "unsubscribed", "bounced", "complained"]
MAX_LIMIT = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubscriberQuery(_Strict):
    """Filters and the keyset page of ``GET /subscribers``."""

    list: Text | None = Field(
        None, max_length=64, description="A list's slug: only its members (empty: every list)."
    )
    status: Status | None = Field(
        None, description="Only this state; with `list`, the state on that list."
    )
    q: Text | None = Field(None, max_length=200, description="A substring of email or name.")
    after: Text | None = Field(
        None, max_length=1000, description="The `next` of the previous page."
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="Subscribers per page.")


class Membership(BaseModel):
    """One list the subscriber is on, and their state there."""

    list: str
    status: Literal["pending", "confirmed", "unsubscribed"]


class SubscriberOut(BaseModel):
    """A subscriber as the admin sees them."""

    id: int
    email: str
    name: str
    status: Status
    attributes: dict[str, Scalar | None]
    lists: list[Membership]
    created_at: datetime
    confirmed_at: datetime | None
    language: str | None = Field(
        description="The language of their system mails; null: the site's default."
    )

    @classmethod
    def of(cls, s: Subscriber) -> SubscriberOut:
        """The answer for one subscriber row."""
        return cls(
            id=s.id,
            email=s.email,
            name=s.name,
            status=SubscriberStatus(s.status).value,  # type: ignore[arg-type]
            attributes=s.attributes or {},
            lists=[
                Membership(list=m.mailing_list.slug, status=m.status.value)  # type: ignore[arg-type]
                for m in sorted(s.subscriptions, key=lambda m: m.mailing_list.slug)
            ],
            created_at=s.created_at,
            confirmed_at=s.confirmed_at,
            language=s.language,
        )


class SubscriberPage(BaseModel):
    """One page of subscribers, oldest first, and the cursor of the next (null on the last)."""

    items: list[SubscriberOut]
    next: str | None


class SubscriberIn(_Strict):
    """A subscriber to add. `confirmed` needs `consent_note`; `pending` mails the
    confirmation link, as the signup form does."""

    # The spec states the rule the service checks (``editing.add``), for clients and fuzzers.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"status": {"const": "confirmed"}}, "required": ["status"]},
            "then": {
                "required": ["consent_note"],
                "properties": {"consent_note": {"type": "string", "pattern": r"\S"}},
            },
        }
    )

    email: Text = Field(max_length=254, json_schema_extra={"format": "email"})  # RFC 5321
    name: Name = ""
    lists: list[Slug] = Field(min_length=1, max_length=100, description="Lists' slugs.")
    attributes: dict[Key, Scalar] = Field(default_factory=dict, max_length=100)
    status: Literal["pending", "confirmed"]
    consent_note: Text | None = Field(
        None,
        max_length=500,
        description="Where and when they consented (needed with `confirmed`); kept as the "
        "consent's source.",
    )
    language: Text | None = Field(
        None,
        max_length=35,
        description="The language of their system mails (confirmation, welcome): one the site "
        "has a catalogue for (`de`, `de-AT` is taken as `de`); unknown ones are refused (422). "
        "Default: the site's.",
    )


class SubscriberPatch(_Strict):
    """What may change: the name, attributes (merged; null removes a key), the lists they
    stay on (leaving only), and `status: unsubscribed` (from every list)."""

    name: Name | None = None
    attributes: dict[Key, Scalar | None] | None = Field(None, max_length=100)
    lists: list[Slug] | None = Field(None, max_length=100)
    language: Text | None = Field(
        None,
        max_length=35,
        description="The language of their system mails; an empty string: the site's default.",
    )
    status: Literal["unsubscribed"] | None = None


class ConsentOut(BaseModel):
    """One consent event: when, what (subscribe, confirm, unsubscribe, add-confirmed, …), on
    whose word or from which form, the text shown, the address it came from, the lists."""

    created_at: datetime
    action: str
    source: str
    consent_text: str
    ip: str | None
    lists: list[str]


class ConsentRecord(BaseModel):
    """The subscriber's consent record, oldest first, as the admin's subscriber page shows it."""

    items: list[ConsentOut]

    @classmethod
    def of(cls, events: list[ConsentEvent]) -> ConsentRecord:
        """The answer for a subscriber's consent events."""
        return cls(
            items=[
                ConsentOut(
                    created_at=e.created_at,
                    action=e.action,
                    source=e.source,
                    consent_text=e.consent_text,
                    ip=e.ip,
                    lists=list(e.lists or []),
                )
                for e in events
            ]
        )


class DeliveryOut(BaseModel):
    """One issue sent (or being sent) to the subscriber."""

    issue_id: int
    subject: str
    status: Literal["queued", "sending", "sent", "failed", "unknown", "cancelled", "skipped"]
    sent_at: datetime | None
    error: str


class DeliveriesOut(BaseModel):
    """The subscriber's latest deliveries (at most 100), newest first."""

    items: list[DeliveryOut]

    @classmethod
    def of(cls, rows: list[tuple[Delivery, str]]) -> DeliveriesOut:
        """The answer for (delivery, issue subject) rows."""
        return cls(
            items=[
                DeliveryOut(
                    issue_id=d.issue_id,
                    subject=subject,
                    status=d.status.value,  # type: ignore[arg-type]
                    sent_at=d.sent_at,
                    error=d.error,
                )
                for d, subject in rows
            ]
        )
