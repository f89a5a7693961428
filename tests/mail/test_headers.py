"""Header lines as RFC 5322 and RFC 2047 want them, whatever the subject: encoded words of at
most 75 characters on lines of at most 76, read back by a mail program as typed."""

from __future__ import annotations

import email
import email.policy
import re

import pytest

from newsletter.mail.bulk import header_line

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
