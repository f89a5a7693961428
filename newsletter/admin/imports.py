"""Admin pages for CSV import (upload, progress, report) and export."""

from __future__ import annotations

from flask import (
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from ..accounts import audit
from ..database import row_id
from ..extensions import db
from ..imports import exporter, importer
from ..imports import jobs as import_jobs
from ..lists import service as list_service
from ..models import ImportJob, SubscriberStatus
from . import bp
from .forms import ImportForm


@bp.route("/import", methods=["GET", "POST"], endpoint="import_csv")
def import_page():  # type: ignore[no-untyped-def]
    """Upload a CSV into a list; the import runs in the background."""
    form = ImportForm()
    form.list_id.choices = [(lst.id, lst.name) for lst in list_service.all_lists(False)]
    if form.validate_on_submit():
        # Werkzeug spools a large upload to a temporary file; it goes on to the database in
        # pieces, where a worker on any host finds it.
        job = import_jobs.start(
            form.file.data.stream,
            form.file.data.filename or "upload.csv",
            form.list_id.data,
            confirmed=form.mode.data == "confirmed",
            note=form.note.data or "",
            start_sequence=not form.skip_sequence.data,
        )
        return redirect(url_for("admin.import_status", job_id=job.id))
    recent = db.session.scalars(db.select(ImportJob).order_by(ImportJob.id.desc()).limit(10))
    return render_template("admin/import.html", form=form, recent=list(recent)), (
        400 if form.errors else 200
    )


@bp.get("/import/<int:job_id>")
def import_status(job_id: int):  # type: ignore[no-untyped-def]
    """An import's progress (refreshing without JS) and its report."""
    job = db.get_or_404(ImportJob, job_id)
    return render_template("admin/import_status.html", job=job, reasons=importer.REASONS)


@bp.get("/import/<int:job_id>.json")
def import_progress(job_id: int):  # type: ignore[no-untyped-def]
    """What the progress bar polls."""
    job = db.get_or_404(ImportJob, job_id)
    return jsonify(
        status=job.status,
        done=job.done_bytes,
        total=job.total_bytes,
        accepted=job.accepted,
        updated=job.updated,
        rejected=job.rejected,
    )


@bp.get("/export.csv", endpoint="export_csv")
def export_page():  # type: ignore[no-untyped-def]
    """Subscribers as a streamed CSV download (filter by list and status)."""
    list_id = row_id(request.args.get("list"))
    status = request.args.get("status") or None
    if status not in SubscriberStatus._value2member_map_:
        status = None
    audit.record("export", f"list={list_id} status={status}")
    db.session.commit()
    return Response(
        stream_with_context(exporter.export_csv(list_id, status)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="subscribers.csv"'},
    )
