"""Admin pages for mailing lists."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from wtforms import Field

from ..lists import service
from . import bp
from .forms import ActionForm, ListEditForm, ListForm


@bp.route("/lists", methods=["GET", "POST"])
def lists():  # type: ignore[no-untyped-def]
    """All lists with their audience and member counts, and the form for a new one."""
    form = ListForm()
    if form.validate_on_submit():
        try:
            created = service.create(
                form.slug.data,
                form.name.data,
                form.description.data or "",
                form.is_public.data,
                form.is_default.data,
            )
        except service.ListProblem as exc:
            _explain(form, exc, form.slug)
        else:
            flash(f"List “{created.name}” created.")
            return redirect(url_for("admin.lists"))
    return render_template(
        "admin/lists.html",
        form=form,
        lists=service.all_lists(),
        counts=service.member_counts(),
    ), (400 if form.errors else 200)


@bp.route("/lists/<int:list_id>", methods=["GET", "POST"])
def list_edit(list_id: int):  # type: ignore[no-untyped-def]
    """Rename, describe, make public or private, default or not."""
    mailing_list = service.get(list_id)
    form = ListEditForm(obj=mailing_list)
    if form.validate_on_submit():
        try:
            service.update(
                list_id,
                name=form.name.data,
                description=form.description.data or "",
                is_public=form.is_public.data,
                is_default=form.is_default.data,
            )
        except service.ListProblem as exc:
            _explain(form, exc, form.name)
        else:
            flash("List saved.")
            return redirect(url_for("admin.lists"))
    return render_template(
        "admin/list_edit.html", form=form, mailing_list=mailing_list, action=ActionForm()
    ), (400 if form.errors else 200)


@bp.post("/lists/<int:list_id>/archive")
def list_archive(list_id: int):  # type: ignore[no-untyped-def]
    """Archive a list, or restore an archived one: as the button said (``archive`` 1 or 0),
    not the opposite of what the list is now, so two admins pressing Archive at once archive
    it, where a toggle had the second press restore it. (A page without the field toggles.)"""
    if ActionForm().validate_on_submit():
        mailing_list = service.get(list_id)
        was = mailing_list.archived_at is not None
        archive = request.form.get("archive", "0" if was else "1") == "1"
        if archive == was:
            flash(f"The list was already {'archived' if was else 'restored'}.")
        else:
            service.set_archived(list_id, archive)
            flash("List archived." if archive else "List restored.")
    return redirect(url_for("admin.lists"))


def _explain(form: ListForm, exc: service.ListProblem, fallback: Field) -> None:
    """Show the service's refusal beside the field it is about (else beside ``fallback``)."""
    about = getattr(form, exc.field, None) if exc.field else None
    (fallback if about is None else about).errors.append(str(exc))
