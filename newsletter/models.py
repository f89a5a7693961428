"""Typed models. Every state a row can be in is named by an enum here; the changes between
states happen in the service modules (``subscribers/signup.py`` and ``service.py``,
``delivery/state.py`` and ``state_journal.py``)."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    """Timezone-aware now; every timestamp is stored in UTC."""
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):
    """A DateTime that always comes back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        # SQLite keeps the wall time and drops the zone, so store every value as UTC.
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _enum(kind: type[enum.Enum]) -> Enum:
    # Store the readable value (not the member name) and skip native DB enums so that adding
    # a state later is a plain migration on every backend.
    return Enum(
        kind,
        values_callable=lambda k: [m.value for m in k],
        native_enum=False,
        length=20,
        validate_strings=True,
    )


class SubscriberStatus(enum.StrEnum):
    """A subscriber's overall state, as shown in the admin and the CSV export."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class SubscriptionStatus(enum.StrEnum):
    """A subscriber's state on one list."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class IssueStatus(enum.StrEnum):
    """Where an issue is in its life: written, waiting, going out, or done."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"


class DeliveryStatus(enum.StrEnum):
    """One (issue, subscriber) pair: queued -> sending -> sent | failed | unknown."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # caught mid-SMTP-transaction by a crash; never resent silently
    CANCELLED = "cancelled"
    SKIPPED = "skipped"  # a sequence step came due for a reader who had left meanwhile


class SuppressionReason(enum.StrEnum):
    """Why an address must never be mailed (or silently re-imported) again."""

    BOUNCED = "bounced"
    COMPLAINED = "complained"
    ERASED = "erased"
    ADMIN = "admin"


class IssueKind(enum.StrEnum):
    """An issue an admin sends once, or one step of a list's sequence (a welcome series),
    whose deliveries are added as readers come due. Steps are issues so that they are
    rendered, sent, retried and counted by the same engine; pages listing issues show only
    ``ISSUE``."""

    ISSUE = "issue"
    STEP = "step"


class BounceKind(enum.StrEnum):
    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"


class Role(enum.StrEnum):
    """What an admin or an API token may do: owners everything, editors the newsletter's
    work (no admins, tokens, exports or erasure), viewers read only."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"


class AdminUser(UserMixin, db.Model):
    """Someone who may log in to /admin."""

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Changes on password change so that existing sessions die (Flask-Login alternative id).
    session_token: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.OWNER, server_default="owner")
    # Two-factor sign-in (TOTP, RFC 6238): the base32 secret, set while being turned on and
    # kept once ``totp_enabled_at`` is set; the last time step accepted, so a code is used once;
    # hashes of the unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)

    def get_id(self) -> str:
        return self.session_token


class ApiToken(db.Model):
    """A named key for the REST API. Only a SHA-256 of the token is kept: it is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.VIEWER)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailingList(db.Model):
    """A list subscribers join; public ones appear on the signup form."""

    __tablename__ = "mailing_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(default=False)
    # A signup that names no list (a plain form pasted into another site) joins these.
    is_default: Mapped[bool] = mapped_column(default=False, server_default=false())
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set while the admin has paused the list's sequence: no step is sent until resumed.
    sequence_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The built-in welcome mail, sent on confirmation before step 1 of the sequence; an admin
    # whose sequence begins with its own welcome turns it off.
    sends_welcome: Mapped[bool] = mapped_column(default=True, server_default=true())


# Ids signed into links and mails (a subscriber's links, a delivery's return path, an issue) must
# never name a second row: SQLite hands out a freed highest id again unless told not to.
# PostgreSQL sequences never go back. (Migration 0009 rebuilt these tables so.)
_NEVER_REUSED = {"sqlite_autoincrement": True}


class Subscriber(db.Model):
    """A subscriber. ``email`` is stored normalised (see ``subscribers.addresses``)."""

    __tablename__ = "subscriber"
    __table_args__ = (
        Index("ix_subscriber_status_id", "status", "id"),
        Index("ix_subscriber_created_at", "created_at"),
        Index("ix_subscriber_confirmed_at", "confirmed_at"),
        # Admin browsing (migration 0003, which also adds the substring-search index).
        Index("ix_subscriber_status_email", "status", "email"),
        Index(
            "ix_subscriber_confirmation_due",
            "confirmation_due_at",
            sqlite_where=text("confirmation_due_at IS NOT NULL"),
            postgresql_where=text("confirmation_due_at IS NOT NULL"),
        ),
        _NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[SubscriberStatus] = mapped_column(
        _enum(SubscriberStatus), default=SubscriberStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    soft_bounces: Mapped[int] = mapped_column(default=0)
    hard_bounces: Mapped[int] = mapped_column(default=0)
    # Set when a confirmation mail is promised, cleared once it was sent (or found not due);
    # the tick sends again what stays owed too long (see subscribers.confirmations).
    confirmation_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of the page they signed up on (or given by an import or the API); every
    # system mail to them is in it. None: the installation's default language.
    language: Mapped[str | None] = mapped_column(String(16))

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        back_populates="subscriber",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ConsentEvent.id",
    )


class Subscription(db.Model):
    """A subscriber's membership of one list, with its own state."""

    __tablename__ = "subscription"
    __table_args__ = (
        Index("ix_subscription_list_status", "list_id", "status", "subscriber_id"),
        # A sequence's due readers: confirmed on the list, by when.
        Index("ix_subscription_list_confirmed", "list_id", "confirmed_at"),
    )

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    list_id: Mapped[int] = mapped_column(
        ForeignKey("mailing_list.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[SubscriptionStatus] = mapped_column(
        _enum(SubscriptionStatus), default=SubscriptionStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the reader last confirmed on this list: a sequence's delays count from here.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship()


class FormerLink(db.Model):
    """A link in a mail sent before upgrade 0009, which lowercased stored addresses and merged
    subscribers whose addresses differed only in case: the id and address hash such a link
    carries, and the subscriber it now leads to."""

    __tablename__ = "former_link"

    former_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    address_hash: Mapped[str] = mapped_column(String(16), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )


class ConsentEvent(db.Model):
    """Proof of consent and of its withdrawal: when, where, what text was shown, from where."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32))  # subscribe, confirm, unsubscribe, import…
    source: Mapped[str] = mapped_column(String(500), default="")
    consent_text: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str | None] = mapped_column(String(128))
    lists: Mapped[list[str]] = mapped_column(JSON, default=list)

    subscriber: Mapped[Subscriber] = relationship(back_populates="consent_events")


class Suppression(db.Model):
    """An address that must not be mailed. Erased subscribers leave only a salted hash here."""

    __tablename__ = "suppression"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason))
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


issue_list = Table(
    "issue_list",
    db.metadata,
    Column("issue_id", ForeignKey("issue.id", ondelete="CASCADE"), primary_key=True),
    Column("list_id", ForeignKey("mailing_list.id", ondelete="CASCADE"), primary_key=True),
)


class Issue(db.Model):
    """One newsletter issue: what is sent, to which lists, and where its sending stands."""

    __tablename__ = "issue"
    __table_args__ = (Index("ix_issue_kind_id", "kind", "id"), _NEVER_REUSED)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    body_md: Mapped[str] = mapped_column(Text, default="")
    slug: Mapped[str | None] = mapped_column(String(200), unique=True)
    is_public: Mapped[bool] = mapped_column(default=False)
    status: Mapped[IssueStatus] = mapped_column(_enum(IssueStatus), default=IssueStatus.DRAFT)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL")
    )
    kind: Mapped[IssueKind] = mapped_column(
        _enum(IssueKind), default=IssueKind.ISSUE, server_default="issue"
    )
    # With lists too, the issue goes to the intersection. A segment an unsent issue targets
    # cannot be deleted (RESTRICT); a sent issue's audience is its delivery rows.
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segment.id", ondelete="RESTRICT"), index=True
    )

    lists: Mapped[list[MailingList]] = relationship(secondary=issue_list)
    segment: Mapped[Segment | None] = relationship()


class Delivery(db.Model):
    """One subscriber's copy of one issue. Unique per (issue, subscriber): nobody gets it twice."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id", name="uq_delivery_issue_subscriber"),
        Index("ix_delivery_issue_batch", "issue_id", "batch_no", "status"),
        Index("ix_delivery_issue_status", "issue_id", "status"),
        Index("ix_delivery_subscriber", "subscriber_id"),  # a subscriber's history; erasure
        # Only rows a worker holds / rows waiting to retry: the reaper's searches.
        Index(
            "ix_delivery_claimed_by",
            "claimed_by",
            sqlite_where=text("claimed_by IS NOT NULL"),
            postgresql_where=text("claimed_by IS NOT NULL"),
        ),
        Index(
            "ix_delivery_retry_at",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
        _NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    batch_no: Mapped[int] = mapped_column(default=0)
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    error: Mapped[str] = mapped_column(Text, default="")


class IssueTotals(db.Model):
    """An issue's delivery counts by status, kept when retention purges its delivery rows."""

    __tablename__ = "issue_totals"

    issue_id: Mapped[int] = mapped_column(
        ForeignKey("issue.id", ondelete="CASCADE"), primary_key=True
    )
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Bounce(db.Model):
    """A bounce or complaint as received, kept for the admin's bounce page."""

    __tablename__ = "bounce"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[BounceKind] = mapped_column(_enum(BounceKind))
    email: Mapped[str] = mapped_column(String(320), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    # True when something we signed (VERP return path, keyed Message-ID) tied the report to
    # one of our mails; an unverified report is kept for the admin and acts on nobody.
    verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Where the report came from: "mailbox", "webhook" (our own signed relay), "smtp" (our
    # server's 5xx while sending), or a provider's name ("mailgun", "sendgrid", …).
    source: Mapped[str] = mapped_column(String(20), default="", server_default="")


class ImportJob(db.Model):
    """A CSV import running in the background, with progress for the admin's progress bar."""

    __tablename__ = "import_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(300), default="")
    confirmed: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    # False: the readers it confirms on the list are treated as past every step of its sequence.
    start_sequence: Mapped[bool] = mapped_column(default=True, server_default=true())
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued/running/done/failed
    total_bytes: Mapped[int] = mapped_column(default=0)
    done_bytes: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Liveness and resuming (imports.jobs.recover_stalled): the last committed chunk's time,
    # the run's identity kept across resumes, and how often the tick has resumed it.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_new_id: Mapped[int | None] = mapped_column()
    resumes: Mapped[int] = mapped_column(default=0, server_default="0")


class ImportUploadPart(db.Model):
    """One piece of an import's uploaded CSV, in order. The file lives in the database, not on
    the web host's disk, so a worker on any host can read it; it is deleted when the import
    ends (``imports.uploads``)."""

    __tablename__ = "import_upload_part"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("import_job.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEvent(db.Model):
    """Who did what in the admin: exports, deletions, imports, sends."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    admin_email: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class WebhookEndpoint(db.Model):
    """Another system that wants to hear of events: its URL, the events it chose, the secret
    its requests are signed with (Standard Webhooks), and whether it is still called."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = _NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when its deliveries have failed for too long; owners are told and may enable it.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it was added or last enabled: a failing streak counts only attempts since then.
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=True)


class WebhookMessage(db.Model):
    """One event, written in the same transaction as the change it reports (an outbox), so a
    crash neither loses nor invents one. ``body`` is the exact JSON sent on every attempt."""

    __tablename__ = "webhook_message"
    __table_args__ = _NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)  # the webhook-id header
    event_type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(db.Model):
    """One message to one endpoint: pending until a 2xx, retried on a schedule, then failed."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id", name="uq_webhook_delivery"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "id"),
        _NEVER_REUSED,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_message.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending/delivered/failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(db.Model):
    """Every call made for a delivery, for the owner's log: when, the answer, how long."""

    __tablename__ = "webhook_attempt"
    __table_args__ = _NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column()
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    duration_ms: Mapped[int] = mapped_column(default=0)


class ProviderNonce(db.Model):
    """A bounce provider's one-time token already accepted (Mailgun's ``signature.token``), so a
    captured request replayed within its time window is refused."""

    __tablename__ = "provider_nonce"
    __table_args__ = (UniqueConstraint("provider", "token", name="uq_provider_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Segment(db.Model):
    """A named, saved filter over subscribers (DESIGN "Segments"): ``rules`` is the JSON tree of
    conditions, compiled to parameterised SQL by ``segments.rules``; never SQL itself."""

    __tablename__ = "segment"
    __table_args__ = _NEVER_REUSED

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SequenceStep(db.Model):
    """One mail of a list's sequence, sent ``delay_seconds`` after a reader confirmed on the
    list. Its subject and body live in its own issue (kind ``step``), whose deliveries, one per
    (step, reader) and unique, are added by the tick as readers come due."""

    __tablename__ = "sequence_step"
    __table_args__ = (Index("ix_sequence_step_list_position", "list_id", "position"), _NEVER_REUSED)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("mailing_list.id", ondelete="CASCADE"))
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id", ondelete="CASCADE"), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    delay_seconds: Mapped[int] = mapped_column(default=0)
    # Readers who confirmed at or after this moment get the step: a step added later reaches
    # only readers not yet past its delay (its creation minus the delay). None: everyone
    # confirmed on the list (the admin asked for catch-up).
    reaches_confirmed_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    issue: Mapped[Issue] = relationship()
    mailing_list: Mapped[MailingList] = relationship()


class Media(db.Model):
    """An image uploaded by an admin, served from our own host at ``/media/<name>`` so mails load
    nothing from a third party. ``name`` derives from the content (a hash), so a URL never changes
    meaning and may be cached for a year. The bytes are here unless ``NEWSLETTER_MEDIA_DIR`` is
    set, then in that folder under the same name."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(default=0)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    original_filename: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL")
    )


class SiteSetting(db.Model):
    """A setting owners change in the admin rather than the environment: the mail layout
    (site name, logo, accent colour, footer text) and whether every admin must use two-factor
    sign-in. One row per key; the value is JSON."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SubscriberTally(db.Model):
    """A change to the count of subscribers in a state who signed up on a day, written by the
    database's own triggers (migration 0013) whenever a subscriber is added, changes state or is
    deleted, by whatever code path or bulk statement. The dashboard sums these few rows instead
    of counting a million subscribers; the tick folds them into one row per key
    (``subscribers.tallies``). Append-only, so concurrent writers never wait on one hot row."""

    __tablename__ = "subscriber_tally"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    created_on: Mapped[date] = mapped_column(Date)
    n: Mapped[int] = mapped_column()


class ListTally(db.Model):
    """A change to the count of a list's memberships in a state whose subscriber is in a state
    (so the audience, confirmed on both, is one sum); kept like :class:`SubscriberTally`. No
    reference to the list: a deleted list's memberships sum to zero and are folded away."""

    __tablename__ = "list_tally"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    subscriber_status: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column()
