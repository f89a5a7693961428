"""Header lines as RFC 5322, RFC 2047 and RFC 2919 want them, whatever the subject or list name:
encoded words of at most 75 characters on lines of at most 76, read back by a mail program as
typed, and a List-Id that names one list id however its name is spelt."""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re

import pytest

from newsletter.mail.bulk import BulkTemplate, header_line
from newsletter.mail.render import Rendered

SUBJECTS = [
    "Notizen aus dem Garten: Äpfel, Birnen und die Frage, wann man den Rosenschnitt wagen sollte",
    "[Test] die wann aus Garten wirklich Garten été ok dem wagen die man aus wagen sollte très va",
    "Grüße " + "Rosenschnittübermäßiglanglanglanglanglanglanglanglanglanglanglanglanglang" * 2,
    "日本語のニュースレター、今月の庭の話題とこれからの季節の準備について" * 2,
    "Ünïcode_with=signs?and_underscores " * 4,
]
ENCODED_WORD = re.compile(r"=\?[^?]+\?[QqBb]\?[^?]*\?=")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_long_non_ascii_subject_is_folded_into_words_of_at_most_75(subject):
    line = header_line("Subject", subject).decode("ascii")
    assert all(len(word) <= 75 for word in ENCODED_WORD.findall(line)), line
    assert all(len(part) <= 76 for part in line.split("\r\n")), line
    message = email.message_from_string(line + "\r\n", policy=email.policy.default)
    assert message["Subject"] == subject


@pytest.mark.parametrize(
    "name", ['Tips, Tricks & "Q&A": <weekly>', "Grüße aus dem Garten", "Garden News", ""]
)
def test_the_list_id_is_one_id_after_the_lists_name_however_it_is_spelt(name):
    template = BulkTemplate(
        sender="Garden <news@example.org>",
        subject="Hello",
        list_id="weekly.example.org",
        list_name=name,
    )
    copy = template.personalise(
        recipient="ann@example.net",
        name="Ann",
        message_id="<1@example.org>",
        body=Rendered(html="<p>Hello</p>", text="Hello"),
        unsubscribe_url="https://news.example.org/unsubscribe/token",
    )
    raw = email.message_from_bytes(copy.data)["List-Id"]
    [(phrase, list_id)] = email.utils.getaddresses([raw])
    assert list_id == "weekly.example.org", raw
    assert str(email.header.make_header(email.header.decode_header(phrase))) == name
