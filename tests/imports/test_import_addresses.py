"""One address form everywhere: the importer's fast normalisation gives exactly what
``normalise_address`` gives (the local part lowercased too), so an imported ``Ann@x.org`` and a
signed-up ``ann@x.org`` are one subscriber."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.imports import rows as import_rows
from newsletter.lists import service as list_service
from newsletter.models import Subscriber
from newsletter.subscribers.addresses import InvalidAddress, normalise_address

_ATOM = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
_local = st.lists(st.text(_ATOM, min_size=1, max_size=12), min_size=1, max_size=3).map(".".join)
_domain = st.sampled_from(
    ["Example.ORG", "x.org", "MAIL.example.co.uk", "bücher.de", "xn--bcher-kva.DE"]
)
_odd = st.text(min_size=0, max_size=40)  # anything at all: both must refuse or agree


def _either(function, raw: str) -> str:
    try:
        return function(raw)
    except InvalidAddress:
        return "refused"


@settings(max_examples=400, deadline=None)
@given(local=_local, domain=_domain, pad=st.sampled_from(["", " ", "\t"]))
def test_fast_normalisation_is_normalise_address_on_plain_addresses(local, domain, pad):
    raw = f"{pad}{local}@{domain}{pad}"
    assert _either(import_rows.normalise, raw) == _either(normalise_address, raw)


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(_odd, st.builds("{}@{}".format, _odd, _domain)))
def test_fast_normalisation_is_normalise_address_on_anything(raw):
    assert _either(import_rows.normalise, raw) == _either(normalise_address, raw)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_imported_address_and_a_signup_in_another_case_are_one_subscriber(app, tmp_path):
    with app.app_context():
        list_service.create("news", "News", "", True)
    path = tmp_path / "readers.csv"
    path.write_text("email,name\nAnn.Smith@X.org,Ann\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        main, ["import", str(path), "--list", "news", "--confirmed", "--note", "fair"]
    )
    assert "accepted: 1" in result.output
    visitor = app.test_client()
    visitor.post("/subscribe", data={"email": "ann.smith@x.org", "lists": ["news"]})
    with app.app_context():
        assert db.session.scalars(db.select(Subscriber.email)).all() == ["ann.smith@x.org"]
    again = app.test_cli_runner().invoke(main, ["import", str(path), "--list", "news"])
    assert "accepted: 0" in again.output and "updated: 1" in again.output
