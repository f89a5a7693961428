"""The admin dashboard's 30-day growth chart, from the counts the database keeps
(``tallies``, which also gives the counts by state and per list; the dashboard's delivery
figures are in ``delivery/queries.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..models import utcnow
from . import tallies

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


def growth(today: date | None = None) -> Growth:
    """New subscribers per day for the last 30 days, laid out as bars for an inline SVG."""
    today = today or utcnow().date()
    first = today - timedelta(days=GROWTH_DAYS - 1)
    per_day = tallies.signups_since(first)
    counts = [per_day.get(first + timedelta(days=i), 0) for i in range(GROWTH_DAYS)]
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
