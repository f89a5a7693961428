"""A CSV saved in cp1252 or Latin-1 (a spreadsheet's plain "CSV") is not taken for UTF-8:
its rows with such bytes are rejected, saying how to save the file, never imported garbled."""

from __future__ import annotations

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.lists import service as list_service
from newsletter.models import Subscriber


def test_rows_that_are_not_utf8_are_rejected_not_garbled(app, runner, tmp_path):
    with app.app_context():
        list_service.create("news", "News")
    path = tmp_path / "from-a-spreadsheet.csv"
    path.write_bytes(
        "email,name,city\n"
        "ann@example.org,Ann,Oslo\n"
        "jorn@example.org,Jørn,Tromsø\n"
        "bo@example.org,Bo,Malmö\n".encode("cp1252")
    )

    result = runner.invoke(main, ["import", str(path), "--list", "news"])

    assert result.exit_code == 0, result.output
    assert "accepted: 1\n" in result.output
    assert "rejected: 2\n" in result.output
    assert "row 3: jorn@example.org: not utf-8" in result.output
    assert "row 4: bo@example.org: not utf-8" in result.output
    with app.app_context():
        names = db.session.scalars(db.select(Subscriber.name)).all()
    assert names == ["Ann"]  # no "J\ufffdrn"


def test_a_header_that_is_not_utf8_stops_the_import_saying_how_to_save_it(app, runner, tmp_path):
    with app.app_context():
        list_service.create("news", "News")
    path = tmp_path / "von-excel.csv"
    path.write_bytes("email,Straße\nann@example.org,Hauptstraße 1\n".encode("cp1252"))

    result = runner.invoke(main, ["import", str(path), "--list", "news"])

    assert result.exit_code != 0
    assert "not UTF-8" in result.output and "CSV UTF-8" in result.output
    with app.app_context():
        assert db.session.scalars(db.select(Subscriber.email)).all() == []


def test_a_line_the_csv_reader_cannot_read_is_one_line_naming_it(app, runner, tmp_path):
    with app.app_context():
        list_service.create("news", "News")
    path = tmp_path / "long.csv"
    path.write_bytes(b"email,name\nann@example.org,Ann\nzoe@example.org," + b"x" * 200_000)

    result = runner.invoke(main, ["import", str(path), "--list", "news"])

    assert result.exit_code == 1 and result.exception.__class__ is SystemExit
    assert "Line 3 of the file cannot be read as CSV: field larger than field limit" in (
        result.output
    )
