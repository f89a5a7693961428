"""The public archive: sent issues marked public, as pages and as an Atom feed."""

from __future__ import annotations

from flask import Response, current_app, render_template
from markupsafe import Markup

from ..issues import preview
from ..issues import service as issues
from ..mail.render import SubscriberFields
from ..models import Issue, utcnow
from . import bp

# Personal expressions in an archived issue read as for an anonymous subscriber.
_ANONYMOUS = SubscriberFields(email="")


def _web_html(issue: Issue) -> Markup:
    # Sanitised by nh3 in compile_issue; values filled in are autoescaped.
    return Markup(preview.compiled(issue).web_html(_ANONYMOUS))  # noqa: S704


@bp.get("/archive")
def index():  # type: ignore[no-untyped-def]
    """Sent public issues, newest first."""
    return render_template("archive/index.html", issues=issues.archived())


@bp.get("/archive/<slug>")
def issue(slug: str):  # type: ignore[no-untyped-def]
    """One sent public issue, without any personal link."""
    found = issues.archived_issue(slug)
    if found is None:
        return render_template("archive/missing.html"), 404
    return render_template("archive/issue.html", issue=found, body=_web_html(found))


@bp.get("/feed.atom")
def feed():  # type: ignore[no-untyped-def]
    """The archive as an Atom feed."""
    from feedgen.feed import FeedGenerator

    base = current_app.config["BASE_URL"]
    generator = FeedGenerator()
    generator.id(f"{base}/archive")
    generator.title(current_app.config["SITE_NAME"])
    generator.link(href=f"{base}/archive", rel="alternate")
    generator.link(href=f"{base}/feed.atom", rel="self")
    generator.language(current_app.config["DEFAULT_LANGUAGE"])  # the issues' language
    published = issues.archived(limit=50)
    generator.updated(published[0].finished_at if published else utcnow())
    for item in reversed(published):
        entry = generator.add_entry()
        entry.id(f"{base}/archive/{item.slug}")
        entry.title(item.subject)
        entry.link(href=f"{base}/archive/{item.slug}")
        entry.published(item.finished_at or item.created_at)
        entry.updated(item.finished_at or item.updated_at)
        if item.preheader:
            entry.summary(item.preheader)
        entry.content(str(_web_html(item)), type="html")
    return Response(generator.atom_str(pretty=True), mimetype="application/atom+xml")
