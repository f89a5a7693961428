"""The owners' mail layout page (``/admin/settings/layout``): site name, logo, accent colour
and footer text, with a preview of a sample issue in the layout being edited.

Without JavaScript, "Preview" re-renders the page with the frame showing the values entered
(nothing saved); with it, ``media.js`` refreshes the frame as the owner types. Saving checks
the accent colour's contrast (:func:`newsletter.media.layout.check`).
"""

from __future__ import annotations

from dataclasses import asdict

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import ColorField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..issues.preview import sample_links
from ..mail.compiled import compile_issue
from ..mail.render import SubscriberFields
from ..media import layout as mail_layout
from ..media import service
from . import bp
from .preview_frame import framed

SAMPLE_BODY = """# A sample issue

Hello {{ subscriber.name | default("reader") }}, this is how your issues look with this layout.
Links [look like this](https://example.org/), and **bold** and *italic* text like this.

- A list item
- Another one

> A quotation, for good measure.
"""


class LayoutForm(FlaskForm):
    """The layout's four values, and a logo to upload instead of choosing one."""

    site_name = StringField(
        "Site name",
        validators=[Length(max=mail_layout.MAX_SITE_NAME)],
        render_kw={"required": True},
    )
    logo = SelectField("Logo", choices=[], validate_choice=False)
    logo_file = FileField("Or upload a new logo")
    accent = ColorField("Accent colour (links, buttons, the card's top edge)")
    footer = TextAreaField(
        "Footer text", validators=[Optional(), Length(max=mail_layout.MAX_FOOTER)]
    )

    def chosen(self) -> mail_layout.Choices:
        """The values entered, unchecked."""
        return mail_layout.Choices(
            site_name=self.site_name.data or "",
            accent=self.accent.data or "",
            footer=self.footer.data or "",
            logo=self.logo.data or "",
        )


@bp.route("/settings/layout", methods=["GET", "POST"], endpoint="layout")
def layout_page():  # type: ignore[no-untyped-def]
    """Show, preview and save the mail layout."""
    stored = mail_layout.choices()
    form = LayoutForm(data=asdict(stored) if request.method == "GET" else None)
    form.logo.choices = [("", "No logo")] + [
        (m.name, f"{m.original_filename or m.name} ({m.width}×{m.height})")
        for m in service.listed()
    ]
    if request.method == "POST" and form.validate_on_submit():
        if form.logo_file.data and not _take_logo(form):
            return _page(form), 400
        try:
            chosen = mail_layout.check(form.chosen())
        except mail_layout.LayoutProblem as exc:
            form[exc.field].errors.append(str(exc))
            return _page(form), 400
        if request.form.get("go") != "preview":
            mail_layout.save(chosen)
            flash("Mail layout saved. Every mail sent from now on uses it.")
            return redirect(url_for("admin.layout"))
        return _page(form)
    return _page(form), (400 if form.errors else 200)


def _take_logo(form: LayoutForm) -> bool:
    """Store the uploaded logo and choose it; False (with the field's error) if refused."""
    upload = form.logo_file.data
    try:
        media = service.store(upload.read(), upload.filename or "", current_user.id)
    except (service.NotAnImage, service.ImageTooLarge) as exc:
        form.logo_file.errors = [str(exc)]
        return False
    form.logo.choices.append((media.name, media.original_filename or media.name))
    form.logo.data = media.name
    return True


def _page(form: LayoutForm) -> str:
    chosen = form.chosen()
    frame_url = url_for("admin.layout_preview", **asdict(chosen))
    return render_template("admin/layout.html", form=form, frame_url=frame_url)


@bp.get("/settings/layout/preview.html")
def layout_preview():  # type: ignore[no-untyped-def]
    """A sample issue in the layout given by the query (the stored value for each one refused),
    for the sandboxed preview frame."""
    stored = mail_layout.choices()
    asked = mail_layout.Choices(**{k: request.args.get(k, v) for k, v in asdict(stored).items()})
    layout = mail_layout.build(mail_layout.previewable(asked, stored))
    issue = compile_issue(
        "A sample issue",
        "",
        SAMPLE_BODY,
        site_name=layout.site_name,
        postal_address=current_app.config["POSTAL_ADDRESS"],
        layout=layout,
    )
    html = issue.render(SubscriberFields("reader@example.org", "Ada"), sample_links()).html
    return framed(html)
