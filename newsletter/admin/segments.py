"""Admin pages for segments: the list with live counts, the rule builder (new and edit) with
its count, and deleting one (refused, and said so, while an issue not yet sent uses it).

The builder works without JavaScript (``segment_builder``: rows posted back, an "add
condition" and a remove button per row, a Count button); ``static/segments.js`` only posts
the same form to ``segment_count`` as the rules change. Every role reads; editors change
(``permissions``).
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..database import edit_stamp, row_id
from ..errors import EditConflict, NotAllowed
from ..models import Segment
from ..segments import service as segments
from ..subscribers.addresses import MAX_NAME
from . import bp
from .forms import ActionForm
from .segment_builder import FIELDS, OPS, Builder


class SegmentForm(FlaskForm):
    """A segment's name and the parts of its rules that are not rows."""

    name = StringField("Name", validators=[DataRequired(), Length(max=MAX_NAME)])
    match = RadioField(
        "Subscribers match when",
        choices=[
            SelectChoice("all", "all of the conditions hold"),
            SelectChoice("any", "any of the conditions holds"),
        ],
        default="all",
    )
    rules_json = TextAreaField(
        "Advanced: the rules as JSON", render_kw={"rows": 8, "spellcheck": "false"}
    )
    rules_shown = HiddenField()
    source = HiddenField()
    edited_from = HiddenField()  # the version the page was opened on (database.for_edit)


def count_text(n: int) -> str:
    """The count as the page (and its script) says it."""
    return f"{n} {'subscriber matches' if n == 1 else 'subscribers match'} these rules now."


@bp.get("/segments", endpoint="segments")
def segments_page():  # type: ignore[no-untyped-def]
    """Every segment with how many subscribers it matches now."""
    found = segments.all_segments()
    return render_template(
        "admin/segments.html",
        segments=[(s, segments.count_saved(s.id)) for s in found],
    )


@bp.route("/segments/new", methods=["GET", "POST"], endpoint="segment_new")
@bp.route("/segments/<int:segment_id>", methods=["GET", "POST"], endpoint="segment_edit")
def segment_page(segment_id: int | None = None):  # type: ignore[no-untyped-def]
    """Build a segment's rules: add or remove a condition, count, save."""
    segment = segments.get(segment_id) if segment_id else None
    form = SegmentForm(obj=segment)
    if request.method == "GET":
        form.edited_from.data = edit_stamp(segment) if segment else ""
        return _page(form, segment, Builder.of(segment.rules if segment else {"all": []}))
    built = Builder.posted(request.form)
    if (row := row_id(request.form.get("remove"))) is not None:
        built.remove_row(row)
        return _page(form, segment, built)
    if request.form.get("go") == "add":
        built.add_row()
        return _page(form, segment, built)
    if built.rules is None:
        return _page(form, segment, built, status=400)
    if request.form.get("go") == "count":
        return _page(form, segment, built, count=segments.count(built.rules))
    if not form.validate_on_submit():
        return _page(form, segment, built, status=400)
    return _save(form, segment, built)


def _save(form: SegmentForm, segment: Segment | None, built: Builder):  # type: ignore[no-untyped-def]
    try:
        if segment is None:
            segment = segments.create(form.name.data, built.rules)
        else:
            segments.update(
                segment.id,
                name=form.name.data,
                rules=built.rules,
                edited_from=form.edited_from.data or "",
            )
    except EditConflict as exc:
        flash(str(exc), "error")  # saving again from this page replaces the other's rules
        form.edited_from.data = exc.stamp
        return _page(form, segment, built, status=409)
    except segments.NameProblem as exc:
        form.name.errors = [*form.name.errors, str(exc)]
        return _page(form, segment, built, status=409 if isinstance(exc, NotAllowed) else 400)
    except segments.RuleError as exc:
        built.error = str(exc)
        return _page(form, segment, built, status=400)
    flash(f"Saved “{segment.name}”: {count_text(segments.count_saved(segment.id))}")
    return redirect(url_for("admin.segment_edit", segment_id=segment.id))


def _page(  # type: ignore[no-untyped-def]
    form: SegmentForm,
    segment: Segment | None,
    built: Builder,
    count: int | None = None,
    status: int = 200,
    refused: str = "",
):
    form.match.data = built.match
    form.rules_json.data = built.text
    form.rules_shown.data = built.shown
    form.source.data = built.source
    if built.json_error:
        form.rules_json.errors = [built.json_error]
    if count is None and segment is not None and request.method == "GET":
        count = segments.count_saved(segment.id)
    page = render_template(
        "admin/segments_edit.html",
        form=form,
        segment=segment,
        built=built,
        fields=FIELDS,
        ops=OPS,
        count=count_text(count) if count is not None else "",
        action=ActionForm(),
        refused=refused,
    )
    return page, status


@bp.post("/segments/count", endpoint="segment_count")
def segment_count():  # type: ignore[no-untyped-def]
    """The count for the rules the form holds now, as JSON (the page's script asks as the
    rules change; nothing is saved)."""
    built = Builder.posted(request.form)
    if built.rules is None:
        problems = [f"condition {n}: {r.error}" for n, r in enumerate(built.rows, 1) if r.error]
        return jsonify(error="; ".join(problems) or built.error), 422
    n = segments.count(built.rules)
    return jsonify(count=n, text=count_text(n))


@bp.post("/segments/<int:segment_id>/delete", endpoint="segment_delete")
def segment_delete(segment_id: int):  # type: ignore[no-untyped-def]
    """Delete the segment; while an issue not yet sent targets it, say so (409)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    segment = segments.get(segment_id)
    try:
        segments.delete(segment_id)
    except NotAllowed as exc:
        built = Builder.of(segment.rules)
        form = SegmentForm(formdata=None, obj=segment)
        return _page(form, segment, built, status=409, refused=str(exc))
    flash(f"Deleted the segment “{segment.name}”.")
    return redirect(url_for("admin.segments"))
