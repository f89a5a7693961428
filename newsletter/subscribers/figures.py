"""Subscriber figures for the admin dashboard: how many in each state, and 30-day growth.
(The dashboard's delivery figures are in ``delivery/queries.py``, its list counts in
``lists/service.py``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..models import Subscriber, SubscriberStatus, utcnow

GROWTH_DAYS = 30


@dataclass(frozen=True)
class Bar:
    """One day of the growth chart, with its place in the SVG already worked out."""

    day: date
    count: int
    x: float
    y: float
    height: float


@dataclass(frozen=True)
class Growth:
    """The 30-day chart: bars and the figures for its caption."""

    bars: list[Bar]
    total: int
    peak: int
    width: int = 600
    height: int = 120
    bar_width: float = 16


def status_counts() -> dict[str, int]:
    """Subscribers in each overall state (uses the (status, id) index)."""
    counts = {s.value: 0 for s in SubscriberStatus}
    for status, n in db.session.execute(
        select(Subscriber.status, func.count()).group_by(Subscriber.status)
    ):
        counts[status.value] = n
    return counts


def growth(today: date | None = None) -> Growth:
    """New subscribers per day for the last 30 days, laid out as bars for an inline SVG."""
    today = today or utcnow().date()
    first = today - timedelta(days=GROWTH_DAYS - 1)
    day = func.date(Subscriber.created_at)
    rows = db.session.execute(
        select(day, func.count())
        .where(Subscriber.created_at >= datetime.combine(first, time(), tzinfo=UTC))
        .group_by(day)
    )
    per_day = {str(d)[:10]: n for d, n in rows}
    counts = [per_day.get((first + timedelta(days=i)).isoformat(), 0) for i in range(GROWTH_DAYS)]
    peak = max(counts) or 1
    chart = Growth(bars=[], total=sum(counts), peak=max(counts))
    step = chart.width / GROWTH_DAYS
    plot = chart.height - 4
    for i, n in enumerate(counts):
        h = round(plot * n / peak, 1)
        chart.bars.append(
            Bar(first + timedelta(days=i), n, round(i * step + 2, 1), chart.height - h, h)
        )
    return chart
