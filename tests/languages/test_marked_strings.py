"""Every word a reader sees in the public, archive and mail templates is marked for translation:
text outside ``{{ _() }}`` and ``{% trans %}``, or a title, alt, aria-label, placeholder or value
attribute written in plain words, fails this test with its file and line."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jinja2 import Environment, nodes

from newsletter import TEMPLATES

SCANNED = sorted(
    [TEMPLATES / "base.html"]
    + [p for folder in ("public", "archive", "email") for p in (TEMPLATES / folder).iterdir()]
)
WORDS = re.compile(r"[^\W\d_]{2,}")  # two letters in a row: a word, not "·" or "--"
ATTRIBUTES = {"title", "alt", "aria-label", "placeholder", "value"}
SLOT = "\x00"  # where an expression's output goes: marked text, or data


def _skeleton(path: Path) -> tuple[str, list[int]]:
    """The template's output with each expression as SLOT, and the source line of each char."""
    env = Environment(extensions=["jinja2.ext.i18n"])  # noqa: S701 (parsed, never rendered)
    tree = env.parse(path.read_text())
    text, lines = [], []
    for output in tree.find_all(nodes.Output):
        for node in output.nodes:
            if isinstance(node, nodes.TemplateData):
                for offset, line in enumerate(node.data.split("\n")):
                    part = line if offset == 0 else "\n" + line
                    text.append(part)
                    lines.extend([node.lineno + offset] * len(part))
            else:
                text.append(SLOT)
                lines.append(node.lineno)
    return "".join(text), lines


class _Finder(HTMLParser):
    """Collects (offset, text) of unmarked words in an HTML skeleton."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.found: list[tuple[int, str]] = []
        self.skipping = 0

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skipping += 1
        for name, value in attrs:
            if name in ATTRIBUTES and value and WORDS.search(value.replace(SLOT, " ")):
                self.found.append((self._offset(), f'{name}="{value}"'))

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and WORDS.search(data.replace(SLOT, " ")):
            self.found.append((self._offset(), data.strip()))


def unmarked(path: Path) -> list[str]:
    """``file:line: text`` for each piece of unmarked text in the template."""
    skeleton, lines = _skeleton(path)
    if path.suffix == ".txt":
        found = [
            (m.start(), m.group())
            for m in re.finditer(r"[^\x00\n]+", skeleton)
            if WORDS.search(m.group())
        ]
    else:
        finder = _Finder(skeleton)
        finder.feed(skeleton)
        finder.close()
        found = finder.found
    name = path.name if not path.is_relative_to(TEMPLATES) else path.relative_to(TEMPLATES.parent)
    return [f"{name}:{lines[min(at, len(lines) - 1)]}: {text!r}" for at, text in found]


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_visible_string_is_marked_for_translation(path):
    assert unmarked(path) == []


def test_the_scan_finds_plain_words(tmp_path):
    template = tmp_path / "sample.html"
    template.write_text(
        '<p>{{ _("Marked") }}</p>\n<p>{% trans %}Also marked{% endtrans %}</p>\n'
        '<p>Forgotten {{ name }}</p>\n<img alt="A plain picture" src="{{ src }}">\n'
    )
    assert [line.split(": ", 1)[0][-1] for line in unmarked(template)] == ["3", "4"]
