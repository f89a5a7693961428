"""one address form, ids never reused

Addresses are stored in one form, lowercased whole (``subscribers.addresses``). The importer
used to keep the local part's case, so ``Ann@x.org`` (imported) and ``ann@x.org`` (signed up)
could be two subscribers. This upgrade makes them one:

- the subscriber kept is the older one (its id, its consent); the other's consent events all move
  to it, so the record of every consent and withdrawal stays whole;
- on each list, the later of the two states wins, except that a pending signup never undoes a
  confirmation (an unsubscribe after a confirmation stands; a signup after an unsubscribe
  waits for its confirmation); bounced or complained on either row wins over everything;
- the other's deliveries move to it, except for an issue both rows were sent (the unique
  (issue, subscriber) rule): the kept subscriber's row stays and the other is counted into the
  issue's kept totals, so the issue's figures do not change;
- every address left is lowercased.

Links in mails already sent keep working: the id and address hash each link carries for a
merged or lowercased subscriber are kept in ``former_link``, which leads them to the kept
subscriber.

SQLite gave a freed highest id to the next row, so erasing the newest subscriber and signing
the address up again gave the new row the old id (and its links). The tables whose ids are
signed into links and mails (subscriber, delivery, issue) are rebuilt with AUTOINCREMENT;
PostgreSQL sequences never go back.

Downgrade drops ``former_link`` only; merged subscribers stay merged.

Revision ID: 0009
Revises: 0008
"""

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from newsletter.subscribers import tokens

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_subscriber = sa.table(
    "subscriber",
    sa.column("id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("name", sa.String),
    sa.column("attributes", sa.JSON),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("confirmed_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    sa.column("soft_bounces", sa.Integer),
    sa.column("hard_bounces", sa.Integer),
    sa.column("confirmation_due_at", sa.DateTime(timezone=True)),
)
_subscription = sa.table(
    "subscription",
    sa.column("subscriber_id", sa.Integer),
    sa.column("list_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_delivery = sa.table(
    "delivery",
    sa.column("id", sa.Integer),
    sa.column("issue_id", sa.Integer),
    sa.column("subscriber_id", sa.Integer),
    sa.column("status", sa.String),
)
_consent = sa.table("consent_event", sa.column("subscriber_id", sa.Integer))
_bounce = sa.table("bounce", sa.column("email", sa.String), sa.column("delivery_id", sa.Integer))
_totals = sa.table(
    "issue_totals",
    sa.column("issue_id", sa.Integer),
    sa.column("counts", sa.JSON),
    sa.column("purged_at", sa.DateTime(timezone=True)),
)
_former = sa.table(
    "former_link",
    sa.column("former_id", sa.Integer),
    sa.column("address_hash", sa.String),
    sa.column("subscriber_id", sa.Integer),
)

# A delivery row dropped before it settled is counted as it ends (as retention counts it).
_SETTLED_AS = {"queued": "cancelled", "sending": "unknown"}

# Migration 0003's search triggers: SQLite drops them with the table it rebuilds.
_SEARCH_TRIGGERS = [
    """CREATE TRIGGER subscriber_search_delete AFTER DELETE ON subscriber
    WHEN old.id <= (SELECT last_id FROM subscriber_search_state) BEGIN
        INSERT INTO subscriber_search(subscriber_search, rowid, email, name)
        VALUES ('delete', old.id, old.email, old.name);
    END""",
    """CREATE TRIGGER subscriber_search_update AFTER UPDATE OF email, name ON subscriber
    WHEN old.id <= (SELECT last_id FROM subscriber_search_state) BEGIN
        INSERT INTO subscriber_search(subscriber_search, rowid, email, name)
        VALUES ('delete', old.id, old.email, old.name);
        INSERT INTO subscriber_search(rowid, email, name) VALUES (new.id, new.email, new.name);
    END""",
]


def upgrade():
    op.create_table(
        "former_link",
        sa.Column("former_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("address_hash", sa.String(length=16), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscriber.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("former_id", "address_hash"),
    )
    op.create_index("ix_former_link_subscriber_id", "former_link", ["subscriber_id"])
    bind = op.get_bind()
    lower = sa.func.lower(_subscriber.c.email)
    twins = bind.scalars(sa.select(lower).group_by(lower).having(sa.func.count() > 1)).all()
    for address in twins:
        _merge(bind, address)
    _lowercase(bind)
    if bind.dialect.name == "sqlite":
        for table in ("subscriber", "delivery", "issue"):
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
            ):
                pass
        for statement in _SEARCH_TRIGGERS:
            op.execute(statement)
        broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"rows refer to rows that do not exist: {broken[:5]}")


def downgrade():
    op.drop_index("ix_former_link_subscriber_id", table_name="former_link")
    op.drop_table("former_link")


def _keep_links(bind, rows, kept_id: int) -> None:
    """Lead the links these rows' mails carry (their id, their spelling) to ``kept_id``."""
    bind.execute(
        sa.insert(_former),
        [
            {"former_id": row.id, "address_hash": digest, "subscriber_id": kept_id}
            for row in rows
            for digest in tokens.address_hashes(row.email)
        ],
    )


def _lowercase(bind) -> None:
    s = _subscriber.c
    rows = bind.execute(sa.select(s.id, s.email).where(s.email != sa.func.lower(s.email))).all()
    for row in rows:
        _keep_links(bind, [row], row.id)
    bind.execute(
        sa.update(_subscriber)
        .where(s.email != sa.func.lower(s.email))
        .values(email=sa.func.lower(s.email))
    )
    bind.execute(sa.update(_bounce).values(email=sa.func.lower(_bounce.c.email)))


def _merge(bind, address: str) -> None:
    """Make the subscribers whose address is ``address`` in some case one subscriber (see above)."""
    s = _subscriber.c
    rows = bind.execute(
        sa.select(_subscriber).where(sa.func.lower(s.email) == address).order_by(s.created_at, s.id)
    ).all()
    kept, others = rows[0], rows[1:]
    ids, other_ids = [r.id for r in rows], [r.id for r in others]
    subscriptions = _merged_subscriptions(bind, ids, kept.id)
    bind.execute(sa.delete(_subscription).where(_subscription.c.subscriber_id.in_(ids)))
    if subscriptions:
        bind.execute(sa.insert(_subscription), subscriptions)
    bind.execute(
        sa.update(_consent)
        .where(_consent.c.subscriber_id.in_(other_ids))
        .values(subscriber_id=kept.id)
    )
    _move_deliveries(bind, kept.id, other_ids)
    _keep_links(bind, [r for r in rows if r.id != kept.id or r.email != address], kept.id)
    bind.execute(sa.delete(_subscriber).where(s.id.in_(other_ids)))
    status = _status(rows, subscriptions)
    pending = status == "pending"
    bind.execute(
        sa.update(_subscriber)
        .where(s.id == kept.id)
        .values(
            email=address,
            name=next((r.name for r in rows if r.name), ""),
            attributes={k: v for r in reversed(rows) for k, v in (r.attributes or {}).items()},
            status=status,
            confirmed_at=min((r.confirmed_at for r in rows if r.confirmed_at), default=None),
            soft_bounces=max(r.soft_bounces for r in rows),
            hard_bounces=max(r.hard_bounces for r in rows),
            confirmation_due_at=min(
                (r.confirmation_due_at for r in rows if pending and r.confirmation_due_at),
                default=None,
            ),
            updated_at=datetime.now(UTC),
        )
    )


def _merged_subscriptions(bind, ids: list[int], kept_id: int) -> list[dict]:
    """One subscription per list: the latest state, but pending never undoes confirmed."""
    by_list: dict[int, dict] = {}
    found = bind.execute(
        sa.select(_subscription).where(_subscription.c.subscriber_id.in_(ids))
    ).all()
    for row in sorted(found, key=lambda r: r.updated_at):
        held = by_list.get(row.list_id)
        merged = {**row._asdict(), "subscriber_id": kept_id}
        if held is None:
            by_list[row.list_id] = merged
        elif not (row.status == "pending" and held["status"] == "confirmed"):
            by_list[row.list_id] = {**merged, "created_at": held["created_at"]}
    return list(by_list.values())


def _status(rows, subscriptions: list[dict]) -> str:
    """The merged subscriber's overall state: suppressed on either row wins, then the lists."""
    states = {r.status for r in rows}
    for suppressed in ("complained", "bounced"):
        if suppressed in states:
            return suppressed
    on_lists = {s["status"] for s in subscriptions} or states
    for state in ("confirmed", "pending", "unsubscribed"):
        if state in on_lists:
            return state
    return rows[0].status


def _move_deliveries(bind, kept_id: int, other_ids: list[int]) -> None:
    """Give the kept subscriber the others' deliveries; an issue both were sent keeps the kept
    subscriber's row, and the other row is added to the issue's kept totals."""
    d = _delivery.c
    kept_issues = sa.select(d.issue_id).where(d.subscriber_id == kept_id).scalar_subquery()
    bind.execute(
        sa.update(_delivery)
        .where(d.subscriber_id.in_(other_ids), d.issue_id.not_in(kept_issues))
        .values(subscriber_id=kept_id)
    )
    twice = bind.execute(
        sa.select(d.id, d.issue_id, d.status).where(d.subscriber_id.in_(other_ids))
    ).all()
    if not twice:
        return
    added: dict[int, Counter] = {}
    for row in twice:
        added.setdefault(row.issue_id, Counter())[_SETTLED_AS.get(row.status, row.status)] += 1
    for issue_id, counts in added.items():
        held = bind.scalar(sa.select(_totals.c.counts).where(_totals.c.issue_id == issue_id))
        total = Counter(held or {}) + counts
        values = {"counts": dict(total), "purged_at": datetime.now(UTC)}
        if held is None:
            bind.execute(sa.insert(_totals).values(issue_id=issue_id, **values))
        else:
            bind.execute(sa.update(_totals).where(_totals.c.issue_id == issue_id).values(**values))
    dropped = [row.id for row in twice]
    bind.execute(
        sa.update(_bounce).where(_bounce.c.delivery_id.in_(dropped)).values(delivery_id=None)
    )
    bind.execute(sa.delete(_delivery).where(d.id.in_(dropped)))
