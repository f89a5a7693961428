"""The plain-text part of a mail, read from the sanitised HTML the subscriber sees.

A small walk over the tags our Markdown can produce (see ``render._ALLOWED_TAGS``), written
for people rather than for a Markdown parser: bold and code as their words, a link as
``text <https://…>``, lists with ``-`` or numbers, headings and quotes on their own lines,
paragraphs wrapped at 72 columns. Rendered once per issue, so its speed hardly matters.
"""

from __future__ import annotations

import re
import textwrap
from html.parser import HTMLParser

WIDTH = 72
_SPACES = re.compile(r"[ \t\r\n\f]+")  # HTML's white space; a no-break space stays
_HARD_BREAK = "\n"  # never in collapsed text, so it marks a <br>
_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
_LISTS = {"ul", "ol", "li"}
_SKIPPED = {"head", "script", "style", "title", "template"}


def html_to_text(html: str) -> str:
    """The plain text of ``html``: the same words and links, no markup of any kind."""
    walker = _Walker()
    walker.feed(html)
    walker.close()
    return walker.text()


class _Walker(HTMLParser):
    """Collects inline text per block and writes each block out as wrapped lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.inline: list[str] = []  # the current block's text so far
        self.links: list[tuple[str, int]] = []  # open <a>: href, where its text starts
        self.lists: list[list] = []  # open <ul>/<ol>: [tag, next number, item marker width]
        self.item_marker = ""  # "- " or "3. " until the list item's first line is written
        self.quotes = 0
        self.pre = 0
        self.skipped = 0
        self.table: list[list[str]] | None = None  # rows of cells while in a <table>
        self.cell_start: int | None = None

    # ------------------------------------------------------------ events

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipped += 1
        elif tag in _BLOCKS or tag in _LISTS:
            self._start_block(tag, dict(attrs))
        elif tag == "hr":
            self._flush()
            self._blank()
            self.lines.append("-" * 24)
            self._blank()
        elif tag == "br":
            self.inline.append(_HARD_BREAK)
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.inline)))
        elif tag in ("td", "th") and self.table is not None:
            self.cell_start = len(self.inline)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipped = max(0, self.skipped - 1)
        elif tag == "a" and self.links:
            self._end_link(*self.links.pop())
        elif tag in ("td", "th") and self.table is not None and self.cell_start is not None:
            cell = _collapse("".join(self.inline[self.cell_start :]))
            del self.inline[self.cell_start :]
            self.table[-1].append(cell.replace(_HARD_BREAK, " "))
            self.cell_start = None
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in _BLOCKS or tag in _LISTS:
            self._end_block(tag)

    def handle_data(self, data: str) -> None:
        if self.skipped:
            return
        self.inline.append(data if self.pre else _SPACES.sub(" ", data))

    # ------------------------------------------------------------ blocks

    def _start_block(self, tag: str, attrs: dict[str, str | None]) -> None:
        self._flush()
        if tag in ("ul", "ol"):
            if not self.lists:
                self._blank()
            start = attrs.get("start") or "1"
            self.lists.append([tag, int(start) if start.isdigit() else 1, 0])
        elif tag == "li":
            current = self.lists[-1] if self.lists else ["ul", 1, 0]
            self.item_marker = "- " if current[0] == "ul" else f"{current[1]}. "
            current[1] += 1
            current[2] = len(self.item_marker)
        else:
            self._blank()
            if tag == "blockquote":
                self.quotes += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "table":
                self.table = [[]]

    def _end_block(self, tag: str) -> None:
        if tag == "pre":
            self._write_pre()
            self.pre = max(0, self.pre - 1)
        elif tag == "table":
            self._write_table()
        else:
            self._flush()
        if tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            if not self.lists:
                self._blank()
        elif tag == "li":
            self.item_marker = ""
        else:
            if tag == "blockquote":
                self.quotes = max(0, self.quotes - 1)
            self._blank()

    def _end_link(self, href: str, start: int) -> None:
        text = _collapse("".join(self.inline[start:]))
        if not href or href.startswith("#") or href in (text, f"mailto:{text}"):
            return
        self.inline.append(f" <{href}>" if text else f"<{href}>")

    # ------------------------------------------------------------ writing

    def _indent(self) -> tuple[str, str]:
        """The first line's and the following lines' prefixes: quote marks, list indent."""
        quote = "> " * self.quotes
        widths = [width for _, _, width in self.lists]
        rest = quote + " " * sum(widths)  # under the list item's text
        if not self.item_marker:
            return rest, rest
        return quote + " " * sum(widths[:-1]) + self.item_marker, rest

    def _flush(self) -> None:
        """Write the inline text collected so far as wrapped lines."""
        text = _collapse("".join(self.inline))
        self.inline.clear()
        if not text:
            return
        first, rest = self._indent()
        lines: list[str] = []
        for part in text.split(_HARD_BREAK):
            wrapped = textwrap.wrap(
                part,
                width=WIDTH,
                initial_indent=rest if lines else first,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
            lines.extend(wrapped or [(rest if lines else first).rstrip()])
        self.lines.extend(lines)
        self.item_marker = ""

    def _write_pre(self) -> None:
        text = "".join(self.inline).strip("\n")
        self.inline.clear()
        _, rest = self._indent()
        self.lines.extend(rest + "    " + line if line else "" for line in text.split("\n"))

    def _write_table(self) -> None:
        rows = [row for row in self.table or [] if any(row)]
        self.table = None
        self.inline.clear()
        columns = max((len(row) for row in rows), default=0)
        widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(columns)]
        for row in rows:  # columns padded to line up
            cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            self.lines.append("  ".join(cells).rstrip())

    def _blank(self) -> None:
        """One blank line (inside a quote, a quoted one) before the next block."""
        if not self.lines:
            return
        if self.lines[-1].strip(" >"):
            self.lines.append("> " * self.quotes)
        else:  # already blank: quoted only as deep as both blocks around it are
            self.lines[-1] = "> " * min(self.lines[-1].count(">"), self.quotes)

    def text(self) -> str:
        """Everything written, with a final line break."""
        self._flush()
        return "\n".join(line.rstrip() for line in self.lines).strip("\n") + "\n"


def _collapse(text: str) -> str:
    """One space between words, none around a hard break or at the ends."""
    text = re.sub(r" *\n *", _HARD_BREAK, re.sub(" {2,}", " ", text))
    return text.strip(" ")
