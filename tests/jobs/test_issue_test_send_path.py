"""Test sends queued before issues became a package were stored by RQ as
``newsletter.issues.send_test``: that path still names the job, and such a job still runs."""

from helpers.send import make_issue, make_list
from redis import Redis
from rq import Queue
from rq.utils import import_attribute

from newsletter.issues import preview

OLD_PATH = "newsletter.issues.send_test"


def test_the_old_path_names_the_test_send_job():
    assert import_attribute(OLD_PATH) is preview.send_test


def test_a_test_send_queued_under_the_old_path_arrives(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url)
    with app.app_context():
        issue_id = make_issue([make_list()], subject="Queued before the upgrade")
    # Queued as the previous release did: by the function's dotted path, on Redis.
    connection = Redis.from_url(redis_url)
    name = f"{app.config['REDIS_PREFIX']}-transactional"
    Queue(name, connection=connection).enqueue(OLD_PATH, issue_id, "tester@example.net")
    connection.close()
    worker = start_worker(app)

    try:
        (received,) = smtp_server.wait_for(1, timeout=30)
    except AssertionError:
        raise AssertionError(worker.log_path.read_text()) from None
    assert received.rcpt_tos == ["tester@example.net"]
    assert received.message["Subject"] == "[Test] Queued before the upgrade"
