"""Errors answer with the site's own page for people and JSON for programs; a crash shows
no stack trace."""

import logging

from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from newsletter.extensions import db
from newsletter.models import Subscriber


def test_a_missing_page_is_our_page_with_a_way_home(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<h1>Page not found</h1>" in page
    assert 'href="/"' in page and "/static/site.css" in page
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_programs_get_json_errors(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json()["error"].startswith("There is no page at this address")


def test_a_wrong_method_still_says_which_are_allowed(client):
    response = client.delete("/archive")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "<h1>Not allowed</h1>" in response.get_data(as_text=True)


def test_a_crash_shows_an_apology_and_no_trace(make_app, caplog):
    app = make_app()
    app.testing = False  # as in production: the error is answered, not raised into the test

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "secret internals" not in page and "Traceback" not in page
    assert "secret internals" in caplog.text  # the operator still sees it in the log


def test_a_signup_while_redis_is_down_asks_to_retry_and_stores_nothing(make_app):
    from helpers.subscribe import make_list

    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    make_list(app)
    app.testing = False
    client = app.test_client()
    answer = client.post("/subscribe", json={"email": "ann@example.org", "lists": ["news"]})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    assert answer.get_json()["error"].startswith("We cannot take this request this minute")
    page = client.post("/subscribe", data={"email": "ann@example.org", "lists": ["news"]})
    assert page.status_code == 503 and "Please try again shortly" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0


def test_a_failed_statement_never_logs_the_subscribers_address(make_app, caplog):
    app = make_app()
    address = "-".join(["reader", "in", "a", "log"]) + "@example.org"  # not in any source line
    with app.app_context(), caplog.at_level(logging.DEBUG):
        try:
            db.session.execute(text("INSERT INTO no_such_table VALUES (:a)"), {"a": address})
        except OperationalError as exc:
            logging.getLogger("test").error("failed", exc_info=exc)
        db.session.rollback()
    assert "no_such_table" in caplog.text
    assert address not in caplog.text
