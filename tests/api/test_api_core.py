"""What every API caller meets whatever the route: a token or 401, its role or 403, problem+json
errors naming the refused field, a per-token rate limit, no cookies, no CORS."""

from __future__ import annotations

import pytest
from helpers.api import bearer
from sqlalchemy import select

from newsletter.accounts import api_tokens
from newsletter.extensions import db
from newsletter.models import AuditEvent, MailingList, Role

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body.keys() >= PROBLEM_KEYS and body["status"] == status
    return body


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer nl_not-a-token", "Basic dXNlcjpwYXNz", "nl_bare-token"],
)
def test_without_a_live_token_the_answer_is_401_with_a_bearer_challenge(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = client.get("/api/v1/lists", headers=headers)

    _problem(response, 401)
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_a_revoked_token_stops_working(app, client):
    headers = bearer(app, Role.VIEWER, name="shop")
    assert client.get("/api/v1/lists", headers=headers).status_code == 200

    with app.app_context():
        api_tokens.revoke("shop")

    _problem(client.get("/api/v1/lists", headers=headers), 401)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_viewer_token_may_read_but_a_write_is_403_changes_nothing_and_is_audited(app, client):
    headers = bearer(app, Role.VIEWER, name="reader-bot")

    assert client.get("/api/v1/lists", headers=headers).status_code == 200
    response = client.post("/api/v1/lists", headers=headers, json={"slug": "x", "name": "X"})

    _problem(response, 403)
    with app.app_context():
        assert db.session.scalar(select(MailingList)) is None
        refusal = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "forbidden"))
        assert refusal is not None and "reader-bot" in refusal.admin_email


def test_validation_errors_name_each_refused_field(app, client):
    headers = bearer(app)

    response = client.post(
        "/api/v1/lists", headers=headers, json={"slug": "Not A Slug", "public": "perhaps"}
    )

    body = _problem(response, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"slug", "name", "public"}
    assert all(e["message"] for e in body["errors"])


def test_a_body_that_is_not_json_is_415(app, client):
    response = client.post(
        "/api/v1/lists", headers=bearer(app), data={"slug": "news", "name": "News"}
    )

    _problem(response, 415)


def test_unknown_routes_and_methods_are_problems_too(app, client):
    headers = bearer(app)

    _problem(client.get("/api/v1/no-such-thing", headers=headers), 404)
    wrong = client.put("/api/v1/lists", headers=headers, json={})
    _problem(wrong, 405)
    assert "GET" in wrong.headers["Allow"]


def test_a_server_error_is_a_problem_without_a_traceback(app, client):
    headers = bearer(app)
    with app.app_context():  # a row no code of ours could have written
        db.session.execute(
            db.text(
                "INSERT INTO mailing_list (slug, name, description, is_public, is_default, "
                "archived_at, created_at) VALUES ('odd', 'Odd', '', 0, 0, 'not a time', "
                "'2026-01-01 00:00:00')"
            )
        )
        db.session.commit()

    response = client.get("/api/v1/lists", headers=headers)

    body = _problem(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "not a time" not in text and "isoformat" not in text
    assert body["detail"]


def test_a_database_out_of_reach_is_503_with_retry_after(app, client):
    headers = bearer(app)
    with app.app_context():
        db.session.execute(db.text("DROP TABLE mailing_list"))
        db.session.commit()

    response = client.get("/api/v1/lists", headers=headers)

    _problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert "mailing_list" not in response.get_data(as_text=True)


def test_past_the_rate_limit_a_token_gets_429_and_other_tokens_do_not(make_app, redis_url):
    app = make_app(API_RATE_LIMIT="3 per minute", REDIS_URL=redis_url)
    client = app.test_client()
    busy, other = bearer(app, name="busy"), bearer(app, name="other")

    answers = [client.get("/api/v1/lists", headers=busy).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    limited = client.get("/api/v1/lists", headers=busy)
    _problem(limited, 429)
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/lists", headers=other).status_code == 200


def test_a_nonsense_rate_limit_stops_the_app_naming_the_setting(make_app):
    from newsletter.config.rules import ConfigError

    with pytest.raises(ConfigError, match="NEWSLETTER_API_RATE_LIMIT"):
        make_app(API_RATE_LIMIT="lots")


def test_no_api_answer_sets_a_cookie_even_for_a_logged_in_admin(app, admin_client):
    client = admin_client  # a browser with the admin's session cookie
    headers = bearer(app)

    answers = [
        client.get("/api/v1/lists", headers=headers),
        client.post("/api/v1/lists", headers=headers, json={"slug": "n", "name": "N"}),
        client.get("/api/v1/lists"),  # the admin's cookie alone is no authority here
        client.get("/api/v1/openapi.json"),
    ]

    assert [r.status_code for r in answers] == [200, 201, 401, 200]
    assert all("Set-Cookie" not in r.headers for r in answers)


def test_no_cors_headers_whatever_origin_asks(app, client):
    app.config["CORS_ORIGINS"] = "https://blog.example"  # even a site trusted for signups
    headers = {**bearer(app), "Origin": "https://blog.example"}

    answers = [
        client.get("/api/v1/lists", headers=headers),
        client.options(
            "/api/v1/lists",
            headers={**headers, "Access-Control-Request-Method": "POST"},
        ),
    ]

    for response in answers:
        assert not [h for h, _ in response.headers if h.lower().startswith("access-control")]
