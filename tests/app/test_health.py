"""The health endpoint tells an operator whether the database and the queue work."""


def test_healthz_reports_database_and_embedded_queue(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["database"] == {"ok": True, "backend": "sqlite", "confirmations_overdue": 0}
    assert body["queue"]["backend"] == "embedded"


def test_healthz_reports_redis_queue_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["queue"]["ok"] is False


def test_pages_send_a_self_only_content_security_policy(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_healthz_counts_confirmation_mails_waiting_for_a_worker(make_app, redis_url):
    from helpers.subscribe import make_list

    from newsletter.subscribers import confirmations

    app = make_app(REDIS_URL=redis_url)
    make_list(app)
    client = app.test_client()
    for n in range(3):  # no worker runs: the mails wait
        answer = client.post("/subscribe", json={"email": f"r{n}@example.net", "lists": ["news"]})
        assert answer.status_code == 200
    with app.app_context():
        confirmations.flush()  # the ids the web process's thread is still pushing
    body = client.get("/healthz").get_json()
    assert body["queue"]["confirmations_waiting"] == 3


def test_healthz_counts_confirmation_mails_overdue(make_app):
    from helpers.subscribe import age_debts, make_list

    from newsletter.extensions import db
    from newsletter.models import Subscriber, utcnow

    app = make_app()
    make_list(app)
    with app.app_context():
        db.session.add(Subscriber(email="late@example.org", confirmation_due_at=utcnow()))
        db.session.commit()
    client = app.test_client()
    assert client.get("/healthz").get_json()["database"]["confirmations_overdue"] == 0
    age_debts(app)
    assert client.get("/healthz").get_json()["database"]["confirmations_overdue"] == 1
