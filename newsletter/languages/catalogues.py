"""The gettext catalogues: which languages there are (one ``.po`` file each) and their compiled
``.mo`` files.

Only ``.po`` files are kept in the repository. A wheel gets its ``.mo`` files from the build
(``setup.py`` loads this file by path, as Flask is not installed while building); a source
checkout or an editable install compiles missing or stale ones when the app starts. This module
therefore imports nothing but Babel and the standard library.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

SOURCE_LANGUAGE = "en"  # the language the templates and the code are written in
DOMAIN = "messages"
DIRECTORY = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for it, which extraction knows)
    """Mark a message for extraction where it is defined; it is translated where it is shown."""
    return message


@cache  # asked on every public request; a new catalogue counts from the next start
def available(directory: Path = DIRECTORY) -> tuple[str, ...]:
    """The source language, then every language with a catalogue, alphabetically."""
    found = sorted(po.parent.parent.name for po in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


def compile_catalogue(po: Path, mo: Path) -> None:
    """Compile one ``.po`` file to ``mo``, atomically: several processes may start at once."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as source:
        catalogue = read_po(source, locale=po.parent.parent.name, domain=DOMAIN)
    mo.parent.mkdir(parents=True, exist_ok=True)
    partial = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
    with partial.open("wb") as target:
        write_mo(target, catalogue, use_fuzzy=False)
    os.replace(partial, mo)


def compile_all(source: Path, target: Path, *, only_stale: bool = True) -> None:
    """Compile each catalogue under ``source`` into the same place under ``target``."""
    for po in source.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if not only_stale or _stale(po, mo):
            compile_catalogue(po, mo)


def compiled(fallback: Path, source: Path = DIRECTORY) -> Path:
    """A folder holding an up-to-date ``.mo`` for every catalogue: ``source`` itself when its
    ``.mo`` files are current or can be written there (a checkout), else ``fallback`` (an
    installed copy whose folder is read-only)."""
    catalogues = source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    if not any(_stale(po, po.with_suffix(".mo")) for po in catalogues):
        return source
    try:
        compile_all(source, source)
    except OSError:
        compile_all(source, fallback)
        return fallback
    return source


def _stale(po: Path, mo: Path) -> bool:
    try:
        return mo.stat().st_mtime < po.stat().st_mtime
    except FileNotFoundError:
        return True
