"""The plain-text part reads as plain text: the words of the HTML part, links written out,
lists and headings laid out, and none of Markdown's (or HTML's) syntax."""

from __future__ import annotations

import tomllib

from helpers.env import ROOT
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import add_subscribers, make_issue, make_list

from newsletter.delivery import service
from newsletter.mail.compiled import compile_issue
from newsletter.mail.render import SubscriberFields
from newsletter.subscribers.links import Links

BODY = """# The garden in May

Hello {{ subscriber.name }}, the **tulips** are out, *finally*. Read
[the full story](https://example.org/story?id=7&x=1) or write to <ann@example.org>.

## What to do

- Water the **beds**, daily
- Cut the [roses](https://example.org/roses)
  1. low
  2. high

3. First
4. Second

> A quote with __bold__ text
> on two lines.

Use `git log` and a [link with `code`](https://example.org/c), or visit
<https://example.org/bare>.

```
code block
  indented
```

| Plant | When |
| --- | --- |
| Tulip | May |

![A photo of tulips](https://example.org/tulips.png)

***

Line one\\
line two, after a hard break. Fish &amp; chips & peas.
"""


def _text(app, body: str = BODY) -> str:
    links = Links("https://news.example/u/tok", "https://news.example/p/tok")
    with app.app_context():
        issue = compile_issue("Subject", "", body, site_name="Site", postal_address="1 Road")
        return issue.render(SubscriberFields("ann@example.org", "Ann"), links).text


def test_the_text_part_carries_no_markdown_syntax(app):
    text = _text(app)
    for syntax in ("**", "__", "*finally*", "`", "](", "[", "# ", "![", "<img", "&amp;", "|"):
        assert syntax not in text, f"{syntax!r} in the text part:\n{text}"


def test_the_text_part_reads_as_plain_text(app):
    lines = _text(app).splitlines()
    text = "\n".join(lines)
    assert "Hello Ann, the tulips are out, finally. Read the full story" in " ".join(lines)
    assert "the full story <https://example.org/story?id=7&x=1>" in " ".join(lines)
    assert "write to ann@example.org." in " ".join(lines)  # an address once, not twice
    assert "or visit https://example.org/bare." in " ".join(lines)  # a bare link once
    # Headings on their own lines, a blank line either side.
    for heading in ("The garden in May", "What to do"):
        at = lines.index(heading)
        assert lines[at + 1] == "" and (at == 0 or lines[at - 1] == "")
    # Lists with dashes and numbers (an ordered list keeps its start), nested under the item.
    assert "- Water the beds, daily\n- Cut the roses <https://example.org/roses>" in text
    assert "\n  1. low\n  2. high\n" in text
    assert "\n3. First\n4. Second\n" in text
    assert "> A quote with bold text on two lines." in lines
    assert "Use git log and a link with code <https://example.org/c>, or visit" in text
    assert "\n    code block\n      indented\n" in text  # preformatted lines kept as written
    assert "Plant  When" in lines and "Tulip  May" in lines
    assert "Line one" in lines and "line two, after a hard break. Fish & chips & peas." in lines
    assert max(map(len, lines)) <= 72


def test_a_subscribers_copy_carries_the_same_plain_text(app):
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 1)
        service.start_sending(make_issue([weekly], body=BODY))
    wait_idle(app)
    [mail] = outbox_messages(app)
    text = mail.get_body(("plain",)).get_content()
    assert "the tulips are out, finally." in text and "**" not in text and "](" not in text
    assert "Cut the roses <https://example.org/roses>" in text


def test_no_gpl_library_makes_the_text_part():
    # html2text is GPL-3.0; this package is MIT.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = [d.split(">")[0].split("<")[0].split("=")[0].split("~")[0].strip().lower()
             for d in pyproject["project"]["dependencies"]]  # fmt: skip
    assert "html2text" not in names
