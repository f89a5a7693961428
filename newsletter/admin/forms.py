"""The admin's forms. Flask-WTF adds the CSRF token to each."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    """Address and password."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class ListForm(FlaskForm):
    """A new list."""

    slug = StringField(
        "Short name (in URLs and the CLI)",
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[a-z0-9][a-z0-9-]*$", message="Use lowercase letters, digits and dashes."),
        ],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    is_public = BooleanField("Public: offered on the signup form")
    is_default = BooleanField(
        "Default: joined by a signup that names no list",
        description="A plain signup form pasted into another site names no list: the reader "
        "joins every default list (or the only public list, when there is one). Only a public "
        "list can be default.",
    )


class ListEditForm(ListForm):
    """An existing list (its slug is fixed)."""

    slug = None  # a list's slug never changes: scripts and signup forms refer to it


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IssueForm(FlaskForm):
    """An issue's content and audience."""

    subject = StringField("Subject", validators=[DataRequired(), Length(max=300)])
    preheader = StringField(
        "Preheader (the preview line after the subject)", validators=[Optional(), Length(max=300)]
    )
    body_md = TextAreaField(
        "Body (Markdown)",
        validators=[Optional(), Length(max=500_000)],
        render_kw={"rows": 18},  # room to write an issue, not a tweet
    )
    lists = MultiCheckboxField(
        "Send to lists",
        coerce=int,
        # The one way a list not on offer gets here: archived by another admin meanwhile.
        invalid_choice_message="A list you chose is no longer on offer (archived or deleted since "
        "this page was opened): choose again.",
    )
    # 0: no segment (the lists alone); the choices are the saved segments (admin.compose).
    segment_id = SelectField("Only to subscribers in the segment", coerce=int, default=0)
    is_public = BooleanField("Show in the public archive once sent")
    publish_private = BooleanField("Yes, publish this issue although it goes to private lists")
    preview_as = StringField("Preview as subscriber (email)", validators=[Optional()])
    # Names the compose page a new draft comes from, so that its saves make one draft.
    draft_key = HiddenField(validators=[Optional(), Regexp(r"^[A-Za-z0-9_-]{16,64}$")])
    # The saved version the page was opened on (``issues.edit_stamp``): a save from a page
    # opened before someone else saved is refused, not allowed to wipe out their work.
    edited_from = HiddenField(validators=[Optional(), Length(max=64)])


class TestSendForm(FlaskForm):
    """Where a test copy goes."""

    address = EmailField("Send a test to", validators=[DataRequired(), Email(), Length(max=320)])


class ScheduleForm(FlaskForm):
    """When to send, in the admin's time zone."""

    when = DateTimeLocalField("Send at", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class ImportForm(FlaskForm):
    """A CSV upload, the target list and the consent basis."""

    file = FileField("CSV file (columns: email, name, anything else)", validators=[FileRequired()])
    list_id = SelectField("Into list", coerce=int)
    mode = RadioField(
        "Consent",
        choices=[
            SelectChoice("pending", "Needs confirmation: send each new reader a confirmation mail"),
            SelectChoice(
                "confirmed", "Already confirmed: they gave consent elsewhere (note required)"
            ),
        ],
        default="pending",
    )
    note = StringField("Where and when did they give consent?", validators=[Length(max=500)])
    skip_sequence = BooleanField("Do not start the list's sequence for them")

    def validate_note(self, field) -> None:  # type: ignore[no-untyped-def]
        """Consent given elsewhere must say where."""
        if self.mode.data == "confirmed" and not (field.data or "").strip():
            raise ValidationError("Say where these readers gave consent.")

    def validate_skip_sequence(self, field) -> None:  # type: ignore[no-untyped-def]
        """Readers asked to confirm start the sequence when they do, as any signup."""
        if field.data and self.mode.data != "confirmed":
            raise ValidationError("Only already-confirmed readers can skip the sequence.")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AccountForm(FlaskForm):
    """The admin's own settings."""

    timezone = SelectField("Time zone (for schedules and the times shown)")
    current_password = PasswordField("Current password (to change it)", validators=[Optional()])
    new_password = PasswordField("New password", validators=[Optional(), Length(min=10, max=1000)])


ROLE_CHOICES = [
    SelectChoice("owner", "Owner: everything, including admins, tokens, export and erasure"),
    SelectChoice("editor", "Editor: lists, issues, sending and imports; no export or erasure"),
    SelectChoice("viewer", "Viewer: reads every page, changes nothing"),
]


class AdminAddForm(FlaskForm):
    """A new admin with a temporary password (they change it under Account)."""

    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=320)])
    password = PasswordField(
        "Temporary password", validators=[DataRequired(), Length(min=10, max=1000)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="editor")


class RoleForm(FlaskForm):
    """One admin's role."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class TokenForm(FlaskForm):
    """A new API token."""

    name = StringField("Name (who or what uses it)", validators=[DataRequired(), Length(max=100)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="viewer")
