"""The catalogues are complete: every message extracted from the sources is in messages.pot and
translated in each language, nothing fuzzy or obsolete, placeholders and markup kept; and they
are compiled when the app starts from a checkout."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import Translations

from newsletter.languages import DEFAULT_CONSENT_TEXT
from newsletter.languages.catalogues import DIRECTORY, available, compiled

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None}  # lazy_gettext, imported as _l
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TAG = re.compile(r"</?[a-z]+")


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        found[2] if isinstance(found[2], str) else found[2][0]
        for found in extract_from_dir(ROOT, method_map, options_map, keywords=KEYWORDS)
    }


def _catalogue(path: Path):
    with path.open("rb") as source:
        return read_po(source)


def test_the_template_is_up_to_date_with_the_sources():
    template = {_ids(m)[0] for m in _catalogue(DIRECTORY / "messages.pot") if m.id}
    extracted = _extracted()
    assert sorted(extracted - template) == [], "run the update command in README, Languages"
    assert sorted(template - extracted) == [], "messages.pot holds messages no source uses"


@pytest.mark.parametrize("language", [code for code in available() if code != "en"])
def test_each_catalogue_translates_everything(language):
    template = {_ids(m)[0] for m in _catalogue(DIRECTORY / "messages.pot") if m.id}
    catalogue = _catalogue(DIRECTORY / language / "LC_MESSAGES" / "messages.po")
    assert not catalogue.obsolete, f"{language}: obsolete entries {list(catalogue.obsolete)}"
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        assert not message.fuzzy, f"{language}: fuzzy: {message.id!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated: {message.id!r}"
        for string in strings:
            for pattern in (PLACEHOLDER, TAG):
                wanted = sorted(set(pattern.findall(" ".join(_ids(message)))))
                assert sorted(set(pattern.findall(string))) == wanted, (language, message.id)
        translated[_ids(message)[0]] = strings
    assert sorted(template - translated.keys()) == [], f"{language}: missing messages"
    assert sorted(translated.keys() - template) == [], f"{language}: messages no longer used"


def test_the_default_consent_text_is_the_one_translated():
    from newsletter.config import DEFAULTS

    assert DEFAULTS["CONSENT_TEXT"] == DEFAULT_CONSENT_TEXT


def test_a_checkout_compiles_missing_or_stale_catalogues_at_start(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(DIRECTORY, source, ignore=shutil.ignore_patterns("*.mo"))
    assert compiled(tmp_path / "instance", source) == source
    german = source / "de" / "LC_MESSAGES" / "messages.mo"
    with german.open("rb") as mo:
        assert Translations(mo).gettext("Subscribe") == "Abonnieren"

    # A .po edited after its .mo was made is compiled again.
    po = german.with_suffix(".po")
    po.write_text(po.read_text().replace('msgstr "Abonnieren"', 'msgstr "Jetzt abonnieren"'))
    os.utime(german, (0, 0))
    compiled(tmp_path / "instance", source)
    with german.open("rb") as mo:
        assert Translations(mo).gettext("Subscribe") == "Jetzt abonnieren"


def test_a_read_only_installation_compiles_into_the_instance_folder(tmp_path):
    source = tmp_path / "translations"
    shutil.copytree(DIRECTORY, source, ignore=shutil.ignore_patterns("*.mo"))
    # A directory where the .mo would go: writing there fails, even for root.
    (source / "fr" / "LC_MESSAGES" / "messages.mo").mkdir()
    os.utime(source / "fr" / "LC_MESSAGES" / "messages.mo", (0, 0))
    instance = tmp_path / "instance" / "translations"
    assert compiled(instance, source) == instance
    assert sorted(p.parent.parent.name for p in instance.glob("*/LC_MESSAGES/messages.mo")) == [
        "de",
        "es",
        "fr",
    ]
