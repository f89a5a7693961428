"""The admin dashboard and the template helpers every admin page uses."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, render_template, url_for
from flask_login import current_user

from ..delivery import queries as deliveries
from ..lists import service as list_service
from ..subscribers import figures, tallies
from ..webhooks import failing as webhooks
from . import bp


@bp.app_template_filter("localtime")
def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC timestamp in the logged-in admin's time zone."""
    if value is None:
        return ""
    zone = getattr(current_user, "timezone", None) or "UTC"
    return value.astimezone(ZoneInfo(zone)).strftime(fmt)


def progress_url(issue_id: int) -> str | None:
    """The sending-progress page, once the sending module provides it."""
    if "admin.issue_progress" in current_app.view_functions:
        return url_for("admin.issue_progress", issue_id=issue_id)
    return None


@bp.app_context_processor
def admin_helpers():  # type: ignore[no-untyped-def]
    """Template helpers for admin pages."""
    return {"progress_url": progress_url}


@bp.get("/", endpoint="dashboard")
def dashboard_page():  # type: ignore[no-untyped-def]
    """Counts by state and list, 30-day growth, recent issues."""
    return render_template(
        "admin/dashboard.html",
        statuses=tallies.status_counts(),
        lists=list_service.all_lists(include_archived=False),
        list_counts=list_service.member_counts(),
        growth=figures.growth(),
        recent=deliveries.recent_issues(),
        disabled_webhooks=webhooks.disabled_endpoints(),
        failing_webhooks=webhooks.failing_endpoints(),
    )
