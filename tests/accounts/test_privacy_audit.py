"""The audit log records every export, import, send and deletion, from the admin pages and
from the command line alike."""

from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AuditEvent, MailingList


def _actions(app):
    with app.app_context():
        return [(e.admin_email, e.action) for e in db.session.scalars(select(AuditEvent))]


def test_command_line_import_and_export_are_audited(app, runner, tmp_path):
    with app.app_context():
        db.session.add(MailingList(slug="news", name="News"))
        db.session.commit()
    csv = tmp_path / "readers.csv"
    csv.write_text("email,name\nada@example.org,Ada\n")

    imported = runner.invoke(main, ["import", str(csv), "--list", "news"])
    exported = runner.invoke(main, ["export"])

    assert imported.exit_code == 0 and exported.exit_code == 0, imported.output + exported.output
    assert "ada@example.org" in exported.output
    assert _actions(app) == [("cli", "import"), ("cli", "export")]


def test_admin_export_is_audited_with_the_admins_name(app, admin_client):
    assert admin_client.get("/admin/export.csv").status_code == 200

    assert ("admin@example.org", "export") in _actions(app)
