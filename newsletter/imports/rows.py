"""Reading an import's CSV: UTF-8 rows whose header names the columns, each with its address
put in the one stored form (``subscribers.addresses.normalise_address``), fast."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any

from ..subscribers.addresses import MAX_ADDRESS, clean_name, normalise_address

MAX_ATTRIBUTE = 500
EMAIL_HEADERS = ("email", "e-mail", "email address", "mail")
# A plain ASCII dot-atom local part: email-validator returns these unchanged, so only the
# domain needs its (slow, IDNA) check, and that is cached per domain. Matched whole
# (fullmatch): "$" would let a line break through at the end.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


class ImportProblem(ValueError):
    """The file cannot be imported at all (no email column, unreadable); says why."""


# Bytes that are not UTF-8, as ``surrogateescape`` decodes them: one of these in a row means
# the file was saved in another encoding (a spreadsheet's plain "CSV" is cp1252).
_NOT_UTF8 = re.compile("[\udc80-\udcff]")
NOT_UTF8 = "The file is not UTF-8 text: save it as “CSV UTF-8” and import it again."


@dataclass(frozen=True)
class Row:
    """One line of the file: its number (as a spreadsheet shows it), address as written,
    name and other columns; ``readable`` is False for a line with bytes that are not UTF-8,
    which is rejected whole rather than imported garbled (its address then shows them as �)."""

    number: int
    email: str
    name: str
    attributes: dict[str, str]
    readable: bool = True


def normalise(raw: str) -> str:
    """Same result as ``normalise_address`` (tests/test_import_addresses.py checks it), fast
    for the common plain address: its local part only needs lowercasing."""
    value = (raw or "").strip(" \t")
    local, at, domain = value.rpartition("@")
    if at and len(local) <= 64 and len(value) <= MAX_ADDRESS and _PLAIN_LOCAL.fullmatch(local):
        address = f"{local.lower()}@{_domain(domain)}"
        if len(address) <= MAX_ADDRESS:  # an IDN domain grows as Punycode
            return address
    return normalise_address(value)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str:
    return normalise_address(f"x@{domain}").rpartition("@")[2]


def rows(stream: IO[bytes]) -> Iterator[Row]:
    """Parse the CSV (UTF-8, with or without BOM) into rows; the header names the columns."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = _readable(csv.reader(text))
    first = next(reader, [])
    if _NOT_UTF8.search("".join(first)):
        raise ImportProblem(NOT_UTF8)
    # A column's name becomes an attribute's key, kept and exported as its cells are: without
    # control characters (PostgreSQL reads no NUL back out of a JSON key: every export failed).
    header = [clean_name(h).lower() for h in first]
    email_at = next((i for i, h in enumerate(header) if h in EMAIL_HEADERS), None)
    if email_at is None:
        raise ImportProblem("The first row must name the columns, one of them “email”.")
    name_at = header.index("name") if "name" in header else None
    extra = [(i, h) for i, h in enumerate(header) if i not in (email_at, name_at) and h]
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cells += [""] * (len(header) - len(cells))
        if _NOT_UTF8.search("".join(cells)):  # one search a row: this is the import's hot loop
            shown = cells[email_at].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            yield Row(number, shown, "", {}, readable=False)
            continue
        yield Row(
            number,
            cells[email_at],
            clean_name(cells[name_at]) if name_at is not None else "",
            {h: clean_name(cells[i])[:MAX_ATTRIBUTE] for i, h in extra if cells[i].strip()},
        )


def _readable(reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a line it cannot read (a NUL, a cell over the csv module's 131,072
    characters) ends the import with where and why, as :class:`ImportProblem`."""
    try:
        yield from reader
    except csv.Error as exc:
        raise ImportProblem(
            f"Line {reader.line_num} of the file cannot be read as CSV: {exc}."
        ) from None
