"""Every report in the corpus (tests/data/bounces/index.json) gets its expected verdict."""

import json

import pytest
from helpers.bounce import CORPUS

from newsletter.bounces.parse import parse

INDEX = json.loads((CORPUS / "index.json").read_text())


@pytest.mark.parametrize("case", INDEX, ids=[c["file"] for c in INDEX])
def test_corpus_report_is_classified_as_expected(case):
    report = parse((CORPUS / case["file"]).read_bytes())

    if case["kind"] is None:
        assert report.failures == ()
        return
    [failure] = report.failures
    assert failure.kind == case["kind"]
    assert failure.recipient == case["recipient"]
    assert failure.status == case["status"]
    if case["message_id"]:  # MDaemon's report quotes nothing of the original
        assert case["message_id"] in report.message_ids
    if failure.kind != "complaint":
        assert failure.reason, "the server's own words are kept for the admin"


@pytest.mark.parametrize("name", ["flufl-simple_01.eml", "flufl-dsn_02.eml"])
def test_a_permanent_failure_no_status_calls_soft_is_hard(name):
    # MDaemon gave up on a bare "552 … would exceed mailbox quota" (its 220 greeting is no
    # reason); the X.400 gateway gave up ("Action: failed") after 4.4.7 "timed out".
    [failure] = parse((CORPUS / name).read_bytes()).failures

    assert failure.kind == "hard"
    assert failure.reason.startswith(("552 Message for", "Diagnostic 5 (Maximum-Time-Expired)"))


def test_every_corpus_file_is_in_the_index():
    listed = {c["file"] for c in INDEX}
    assert {p.name for p in CORPUS.glob("*.eml")} == listed


def test_multiline_smtp_reply_reads_as_one_sentence():
    report = parse((CORPUS / "gmail-address-not-found.eml").read_bytes())

    reason = report.failures[0].reason
    assert reason.startswith("550-5.1.1 The email account that you tried to reach does not exist.")
    assert "550-5.1.1 double-checking" not in reason


def test_bounce_that_quotes_our_envelope_sender_exposes_it_for_matching():
    report = parse((CORPUS / "exim-classic-user-unknown.eml").read_bytes())

    assert "bounces+d103.5d1c0b@news.example.org" in report.addresses


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00garbage", b"Subject: hi\r\n\r\nhello"])
def test_anything_that_is_no_report_yields_no_failures(raw):
    assert parse(raw).failures == ()


def test_eight_bit_bytes_in_report_fields_and_unknown_charsets_are_read_not_raised():
    raw = (CORPUS / "postfix-user-unknown.eml").read_bytes()
    raw = raw.replace(b"Action: failed", b"Action: failed\xe9\xff")
    raw = raw.replace(b"From: MAILER-DAEMON", b"From: \xfe MAILER-DAEMON")
    raw = raw.replace(b"charset=us-ascii", b"charset=no-such-charset")

    [failure] = parse(raw).failures

    assert (failure.kind, failure.recipient) == ("hard", "nobody-here@example.net")
