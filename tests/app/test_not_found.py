"""A missing issue or list is the services' own NotFound: a 404 page (or JSON) in the admin,
one line and exit status 2 from the ``newsletter`` command, never a traceback."""

import pytest
from helpers.admin import post
from helpers.send import make_issue, make_list

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import Issue, IssueStatus

MISSING = 999999


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/issues/{MISSING}",
        f"/admin/issues/{MISSING}/edit",
        f"/admin/issues/{MISSING}/preview",
        f"/admin/issues/{MISSING}/delete",
        f"/admin/lists/{MISSING}",
    ],
)
def test_a_missing_issue_or_list_is_our_404_page(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.get_data(as_text=True)


def test_a_missing_issue_is_a_404_in_json_for_programs(admin_client):
    response = admin_client.get(f"/admin/issues/{MISSING}", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"].startswith("There is no page at this address")


def test_scheduling_a_missing_issue_is_a_404(admin_client):
    response = post(admin_client, f"/admin/issues/{MISSING}/schedule", {"when": "2999-01-01T09:00"})
    assert response.status_code == 404


def test_a_refusal_that_reaches_the_error_handler_is_a_409_saying_why(app):
    with app.app_context():
        issue_id = make_issue([make_list()])
        db.session.get(Issue, issue_id).status = IssueStatus.SENT
        db.session.commit()

    @app.get("/locked-for-test")
    def locked():  # a view that lets the service's refusal through
        issues.schedule(issue_id, issues.utcnow())

    response = app.test_client().get("/locked-for-test")
    assert response.status_code == 409
    assert "This issue is sent; it cannot be scheduled." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "args",
    [["send", str(MISSING)], ["status", str(MISSING)], ["issue", "delete", str(MISSING), "--yes"]],
)
def test_commands_say_no_such_issue_and_exit_2(app, args):
    result = app.test_cli_runner().invoke(main, args)
    assert result.exit_code == 2
    assert result.output == f"Error: no such issue: {MISSING}\n"
    assert isinstance(result.exception, SystemExit)  # handled, not a crash


def test_an_unknown_list_slug_says_no_such_list(app, tmp_path):
    body = tmp_path / "body.md"
    body.write_text("Hello", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        main, ["issue", "create", "--subject", "S", "--body-file", str(body), "--list", "nope"]
    )
    assert result.exit_code == 2
    assert result.output == "Error: no such list: 'nope'\n"
