"""Every kind of mail we send, scored by SpamAssassin as a receiving server scores it: no rule
with a positive score hits any of them, DKIM-signed or not.

SpamAssassin runs with its network tests off (``-L``: no DNS blocklists, no DKIM key lookups;
the DKIM tests verify signatures with dkimpy), once for all the mails of a run. Rules scored
0.001 only describe a mail (``HTML_MESSAGE``: it has an HTML part, which the big providers
want beside the text) and are allowed; every other positive rule fails the test, named.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers.dkim import SELECTOR
from helpers.mail_kinds import SITE, send_every_kind

SPAMASSASSIN = shutil.which("spamassassin")
pytestmark = pytest.mark.skipif(
    SPAMASSASSIN is None, reason="SpamAssassin is not installed (apt-get install spamassassin)"
)

SUBJECT = "Notizen aus dem Garten: Äpfel, Birnen und die Frage, wann man den Rosenschnitt wagt"
INFORMATIONAL = 0.001  # the score SpamAssassin gives a rule that describes, not judges
# One line per scored mail, in the order given: "<marker> <rule>=<score>,…".
MARKER = "newsletter-spam-rules"
REPORT = re.compile(rf"^{MARKER} ?(.*)$", re.MULTILINE)


@pytest.fixture(params=["dkim", "unsigned"])
def mails(request, make_app, smtp_server, dkim_key):
    """One received mail of every kind, by kind, DKIM-signed or not."""
    signing = {}
    if request.param == "dkim":
        signing = {"DKIM_KEY_FILE": str(dkim_key[0]), "DKIM_SELECTOR": SELECTOR}
    app = make_app(SMTP_URL=smtp_server.url, BASE_URL=SITE, **signing)
    return send_every_kind(app, smtp_server, SUBJECT)


def spamassassin_rules(messages: dict[str, bytes], folder: Path) -> dict[str, dict[str, float]]:
    """The rules SpamAssassin's local tests hit on each message, with their scores, by name."""
    paths = []
    for name, data in messages.items():
        paths.append(folder / f"{name}.eml")
        paths[-1].write_bytes(data)
    prefs = folder / "user_prefs"  # empty: a developer's own preferences and Bayes stay out
    prefs.write_text("")
    run = subprocess.run(
        [
            SPAMASSASSIN,
            "--local",
            "--test-mode",
            f"--prefspath={prefs}",
            "--cf=use_bayes 0",
            "--cf=clear_report_template",
            f"--cf=report {MARKER} _TESTSSCORES(,)_",
            *map(str, paths),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    reports = REPORT.findall(run.stdout.decode("utf-8", "replace"))
    assert len(reports) == len(paths), run.stderr.decode("utf-8", "replace")
    hits = ([hit.partition("=") for hit in line.split(",") if hit] for line in reports)
    return {
        name: {rule: float(score) for rule, _, score in found}
        for name, found in zip(messages, hits, strict=True)
    }


def test_no_spamassassin_rule_with_a_positive_score_hits_any_kind_of_mail(mails, tmp_path):
    rules = spamassassin_rules({kind: mail.data for kind, mail in mails.items()}, tmp_path)
    judged = {
        kind: {rule: score for rule, score in hits.items() if score > INFORMATIONAL}
        for kind, hits in rules.items()
    }
    assert not any(judged.values()), "SpamAssassin's rules hit, by mail:\n" + "\n".join(
        f"{kind}: {', '.join(f'{r}={s}' for r, s in hits.items())}" for kind, hits in rules.items()
    )
