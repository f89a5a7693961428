"""The aligned text table that the listing commands print (``newsletter lists``,
``segments list``, ``api-token list``): one rule for column widths, kept in one place."""

from __future__ import annotations

from collections.abc import Sequence

import click


def echo_table(rows: Sequence[Sequence[str]]) -> None:
    """Print rows (the first is the header) as columns two spaces apart, each as wide as its
    widest cell, without trailing blanks."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
