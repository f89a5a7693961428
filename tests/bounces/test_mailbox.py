"""Bounce reports fetched from a real Dovecot over IMAP and POP3: a report is removed only after
its result is committed, anything else stays where it is, unread."""

import contextlib
import fcntl
import os
import poplib
import socket

import pytest
from helpers.bounce import corpus, sent_delivery
from helpers.dovecot import running
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from newsletter.bounces import mailbox, mailbox_turn, mailbox_url, verp
from newsletter.cli import main
from newsletter.config.rules import ConfigError
from newsletter.extensions import db
from newsletter.jobs import queues, tick
from newsletter.models import Bounce, Subscriber
from newsletter.subscribers.suppression import is_blocked

POSTFIX_VERP = "bounces+d101.c6b2f1@news.example.org"
RECIPIENT = "nobody-here@example.net"  # the DSN's recipient
SUMMARY_ONE_HARD = (
    "messages: 2, hard: 1, soft: 0, complaint: 0, suppressed: 1, unverified: 0, ignored: 0, "
    "unsubscribed: 0, unmatched: 1, removed: 1, left: 1, failed: 0"
)


def _signed_dsn(app) -> tuple[int, bytes]:
    """A subscriber sent one issue, and the DSN that comes back to its signed return path."""
    with app.app_context():
        subscriber_id, delivery_id = sent_delivery(RECIPIENT)
        return subscriber_id, corpus(
            "postfix-user-unknown.eml", **{POSTFIX_VERP: verp.return_path(delivery_id)}
        )


def _subscriber(app, subscriber_id):
    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        return subscriber.status, subscriber.hard_bounces


def _bounces(app) -> list[tuple[str, bool, str]]:
    with app.app_context():
        return [(b.kind.value, b.verified, b.source) for b in db.session.scalars(select(Bounce))]


@pytest.fixture
def dovecot(tmp_path):
    with running(tmp_path) as server:
        yield server


@pytest.fixture
def imap_app(make_app, dovecot):
    return make_app(BOUNCE_MAILBOX=dovecot.url("imap"))


def test_imap_report_is_recorded_committed_then_deleted_and_other_mail_stays_unread(
    imap_app, dovecot
):
    subscriber_id, dsn = _signed_dsn(imap_app)
    dovecot.deliver(dsn)
    dovecot.deliver(corpus("auto-reply-out-of-office.eml"))

    result = imap_app.test_cli_runner().invoke(main, ["bounces", "poll"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == SUMMARY_ONE_HARD
    assert _subscriber(imap_app, subscriber_id) == ("bounced", 1)
    assert _bounces(imap_app) == [("hard", True, "imap")]
    with imap_app.app_context():
        assert is_blocked(RECIPIENT)
    left = dovecot.messages()
    assert len(left) == 1 and b"5.1.1" not in left[0][1]
    assert b"\\Seen" not in left[0][0]  # read with BODY.PEEK: still unread
    again = imap_app.test_cli_runner().invoke(main, ["bounces", "poll"])
    assert again.output.startswith("messages: 1,") and "removed: 0, left: 1" in again.output


def test_imap_reports_are_moved_to_the_folder_named(make_app, dovecot):
    dovecot.create("Processed")
    app = make_app(BOUNCE_MAILBOX=dovecot.url("imap"), BOUNCE_MAILBOX_MOVE_TO="Processed")
    subscriber_id, dsn = _signed_dsn(app)
    dovecot.deliver(dsn)
    dovecot.deliver(corpus("auto-reply-out-of-office.eml"))

    with app.app_context():
        result = mailbox.poll()

    assert (result.counts["removed"], result.counts["left"], result.error) == (1, 1, "")
    assert _subscriber(app, subscriber_id) == ("bounced", 1)
    moved = dovecot.messages("Processed")
    assert len(moved) == 1 and b"5.1.1" in moved[0][1]
    assert len(dovecot.messages()) == 1


def test_a_forged_report_is_kept_unverified_acts_on_nobody_and_is_removed(imap_app, dovecot):
    # The corpus DSN as it is: its return path's signature is not ours, so only the address
    # ties it to the subscriber. It is a report all the same (kept for the admin), so it goes.
    with imap_app.app_context():
        subscriber_id, _ = sent_delivery(RECIPIENT)
    dovecot.deliver(corpus("postfix-user-unknown.eml"))

    with imap_app.app_context():
        result = mailbox.poll()

    assert (result.counts["unverified"], result.counts["removed"]) == (1, 1)
    assert _subscriber(imap_app, subscriber_id) == ("confirmed", 0)
    assert _bounces(imap_app) == [("hard", False, "imap")]
    assert dovecot.messages() == []


def test_imap_connection_lost_between_commit_and_delete_reprocesses_harmlessly(
    imap_app, dovecot, monkeypatch, caplog
):
    subscriber_id, dsn = _signed_dsn(imap_app)
    dovecot.deliver(dsn)
    remove = mailbox._imap_remove
    calls = []

    def drop_then_remove(conn, *args):
        calls.append(1)
        if len(calls) == 1:
            # The connection is gone after the commit, before the delete.
            conn.sock.shutdown(socket.SHUT_RDWR)
        return remove(conn, *args)

    monkeypatch.setattr(mailbox, "_imap_remove", drop_then_remove)

    with imap_app.app_context():
        first = mailbox.poll()
    assert first.error and first.counts["hard"] == 1
    assert f"imap://bounces@127.0.0.1:{dovecot.imap_port}/INBOX" in caplog.text
    assert dovecot.password not in caplog.text
    assert _subscriber(imap_app, subscriber_id) == ("bounced", 1)
    assert len(dovecot.messages()) == 1  # still there: read again next time

    with imap_app.app_context():
        second = mailbox.poll()

    assert (second.error, second.counts["ignored"], second.counts["removed"]) == ("", 1, 1)
    assert _subscriber(imap_app, subscriber_id) == ("bounced", 1)  # counted once
    assert _bounces(imap_app) == [("hard", True, "imap")]
    assert dovecot.messages() == []


def test_pop3_report_is_deleted_and_other_mail_stays(make_app, dovecot):
    app = make_app(BOUNCE_MAILBOX=dovecot.url("pop3"))
    subscriber_id, dsn = _signed_dsn(app)
    dovecot.deliver(dsn)
    dovecot.deliver(corpus("auto-reply-out-of-office.eml"))

    result = app.test_cli_runner().invoke(main, ["bounces", "poll"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == SUMMARY_ONE_HARD
    assert _subscriber(app, subscriber_id) == ("bounced", 1)
    assert _bounces(app) == [("hard", True, "pop3")]
    left = dovecot.messages()
    assert len(left) == 1 and b"5.1.1" not in left[0][1]
    assert b"\\Seen" not in left[0][0]  # read by TOP, not RETR: still unread


def test_pop3_connection_lost_before_quit_deletes_nothing_and_reprocesses_harmlessly(
    make_app, dovecot, monkeypatch
):
    app = make_app(BOUNCE_MAILBOX=dovecot.url("pop3"))
    subscriber_id, dsn = _signed_dsn(app)
    dovecot.deliver(dsn)
    quit_ = poplib.POP3.quit
    calls = []

    def drop_then_quit(self):
        calls.append(1)
        if len(calls) == 1:
            # POP3 deletes at QUIT: the DELE is lost with the connection.
            self.sock.shutdown(socket.SHUT_RDWR)
        return quit_(self)

    monkeypatch.setattr(poplib.POP3, "quit", drop_then_quit)

    with app.app_context():
        first = mailbox.poll()
    assert first.error and first.counts["hard"] == 1
    assert len(dovecot.messages()) == 1

    with app.app_context():
        second = mailbox.poll()

    assert (second.error, second.counts["ignored"], second.counts["removed"]) == ("", 1, 1)
    assert _subscriber(app, subscriber_id) == ("bounced", 1)
    assert _bounces(app) == [("hard", True, "pop3")]
    assert dovecot.messages() == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_tick_polls_at_most_once_per_interval(make_app, dovecot):
    app = make_app(BOUNCE_MAILBOX=dovecot.url("imap"), BOUNCE_MAILBOX_SECONDS=3600)
    _, dsn = _signed_dsn(app)
    dovecot.deliver(dsn)
    with app.app_context():
        tick.tick()
    assert dovecot.messages() == []
    dovecot.deliver(dsn)

    with app.app_context():
        tick.tick()  # within the interval: the mailbox is not read

    assert len(dovecot.messages()) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Bounce.id))) == 1


def test_the_tick_with_redis_polls_once_across_processes(make_app, dovecot, redis_url):
    app = make_app(
        BOUNCE_MAILBOX=dovecot.url("imap"), BOUNCE_MAILBOX_SECONDS=3600, REDIS_URL=redis_url
    )
    other = make_app(
        BOUNCE_MAILBOX=dovecot.url("imap"), BOUNCE_MAILBOX_SECONDS=3600, REDIS_URL=redis_url
    )
    _, dsn = _signed_dsn(app)
    dovecot.deliver(dsn)
    with app.app_context():
        mailbox.poll_due()
        polling = queues.key("bounce-mailbox", "polling")
        assert queues.redis().get(polling) is None  # the lock is let go once done
    dovecot.deliver(dsn)

    with other.app_context():
        mailbox.poll_due()  # another process, same Redis: its turn has not come

    assert len(dovecot.messages()) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_while_another_process_polls_the_tick_does_not(make_app, dovecot, backend):
    app = make_app(BOUNCE_MAILBOX=dovecot.url("imap"))
    _, dsn = _signed_dsn(app)
    dovecot.deliver(dsn)
    with app.app_context(), contextlib.ExitStack() as other:
        if backend == "sqlite":  # another process's lock on the file beside the database
            database = make_url(db.engine.url).database
            fd = os.open(f"{database}.bounce-mailbox", os.O_RDWR | os.O_CREAT, 0o600)
            other.callback(os.close, fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        else:  # another process's advisory lock
            connection = other.enter_context(
                create_engine(db.engine.url, poolclass=NullPool).connect()
            )
            connection.scalar(text("SELECT pg_advisory_lock(:k)"), {"k": mailbox_turn.ADVISORY_KEY})

        tick.tick()

        assert len(dovecot.messages()) == 1
    with app.app_context():
        tick.tick()  # the other one is done: this one's turn
    assert dovecot.messages() == []


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (
            {"BOUNCE_MAILBOX": "imap://bounces:hunter2secret@mail.example.org/INBOX"},
            "imaps:// or pop3s:// for a server on another host",
        ),
        (
            {"BOUNCE_MAILBOX": "pop3://bounces:hunter2secret@192.0.2.7"},
            "imaps:// or pop3s:// for a server on another host",
        ),
        (
            {"BOUNCE_MAILBOX": "imap://bounces:hunter2secret@127.0.0.1.example.net/INBOX"},
            "imaps:// or pop3s:// for a server on another host",
        ),
        ({"BOUNCE_MAILBOX": "ftp://bounces:hunter2secret@127.0.0.1"}, "a URL starting imaps://"),
        ({"BOUNCE_MAILBOX": "imaps://mail.example.org/INBOX"}, "with a user, a password"),
        (
            {
                "BOUNCE_MAILBOX": "pop3s://bounces:hunter2secret@mail.example.org",
                "BOUNCE_MAILBOX_MOVE_TO": "Done",
            },
            "needs IMAP",
        ),
    ],
)
def test_a_mailbox_setting_that_would_leak_or_cannot_work_stops_the_start(make_app, settings, says):
    with pytest.raises(ConfigError) as refused:
        make_app(**settings)

    assert says in str(refused.value) and "hunter2secret" not in str(refused.value)


def test_poll_command_without_a_mailbox_says_so(runner):
    result = runner.invoke(main, ["bounces", "poll"])

    assert result.exit_code == 1
    assert "NEWSLETTER_BOUNCE_MAILBOX is not set" in result.output


def test_plain_imap_on_this_host_and_imaps_elsewhere_are_accepted(make_app):
    make_app(BOUNCE_MAILBOX="imap://bounces:pw@localhost/INBOX")
    make_app(BOUNCE_MAILBOX="pop3://bounces:pw@127.0.0.2:1110")
    make_app(BOUNCE_MAILBOX="imap://bounces:pw@[::1]:1143/INBOX")
    app = make_app(BOUNCE_MAILBOX="imaps://bounces:p%40ss@mail.example.org:1993/Bounces")

    box = mailbox_url.parse_url(app.config["BOUNCE_MAILBOX"])
    assert (box.host, box.port, box.password, box.folder, box.protocol) == (
        "mail.example.org",
        1993,
        "p@ss",
        "Bounces",
        "imap",
    )
    assert "p@ss" not in str(box)
