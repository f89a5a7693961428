"""The segment form's rule builder: rows of (field, test, value) that a browser without
JavaScript can add to and remove from, and the JSON text for what rows cannot show.

The form posts back its rows (``cond-N-field``, ``cond-N-key``, ``cond-N-op``,
``cond-N-value``), the choice ``match`` (``all`` or ``any``), and the JSON text ``rules_json``
with ``rules_shown``, the text as the page showed it. The rules come from the JSON when the
admin changed that text, or when the rules cannot be shown as rows (nested groups:
``source`` is ``json``); otherwise from the rows. Either way the page shows both again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from ..database import row_id
from ..segments import rules as segment_rules
from ..segments import service as segments

# (value in the form, label). "attribute" takes its key from the row's own text box.
FIELDS = [
    ("list", "List (its short name)"),
    ("status", "Status"),
    ("email", "Email"),
    ("name", "Name"),
    ("attribute", "Attribute"),
    ("signed_up_at", "Signed up"),
    ("confirmed_at", "Confirmed"),
]
OPS = [
    ("eq", "is"),
    ("ne", "is not"),
    ("contains", "contains"),
    ("in", "is one of (comma-separated)"),
    ("exists", "is set (yes or no)"),
    ("before", "before (YYYY-MM-DD)"),
    ("after", "after (YYYY-MM-DD)"),
    ("within_days", "within the last N days"),
]
MAX_ROWS = segment_rules.MAX_CONDITIONS
YES, NO = ("yes", "true"), ("no", "false")


@dataclass
class Row:
    """One condition as the form shows it: all text, as typed."""

    field: str = "list"
    key: str = ""  # the attribute's name, when ``field`` is "attribute"
    op: str = "eq"
    value: str = ""
    error: str = ""

    @property
    def blank(self) -> bool:
        """Left out of the rules: nothing typed as its value (a test "is set" needs none)."""
        return not self.value.strip() and self.op != "exists"

    def condition(self) -> dict[str, Any]:
        """The row as a rule, its value typed as its test takes it."""
        name = f"attributes.{self.key.strip()}" if self.field == "attribute" else self.field
        return {"field": name, "op": self.op, "value": _typed(self.op, self.value)}

    @classmethod
    def of(cls, rule: dict[str, Any]) -> Row:
        """A stored rule as a row."""
        name, value = rule["field"], rule["value"]
        key = name.removeprefix("attributes.") if name.startswith("attributes.") else ""
        if isinstance(value, bool):
            text = YES[0] if value else NO[0]
        elif isinstance(value, list):
            text = ", ".join(str(v) for v in value)
        else:
            text = str(value)
        return cls("attribute" if key else name, key, rule["op"], text)


def _typed(op: str, text: str) -> Any:
    text = text.strip()
    if op == "in":
        return [part.strip() for part in text.split(",") if part.strip()]
    if op == "exists":
        # Anything but yes or no is passed on as typed, for the rules' own message.
        return True if text.lower() in ("", *YES) else False if text.lower() in NO else text
    # Digits as a number (the rules check its range), anything else for the rules' message.
    days = row_id(text) if op == "within_days" else None
    return text if days is None else days


@dataclass
class Builder:
    """The rules being built: what the page shows and what it has to say about them."""

    match: str = "all"
    rows: list[Row] = field(default_factory=lambda: [Row()])
    text: str = ""  # the rules as JSON, in the advanced box
    shown: str = ""  # the JSON the page last showed for checked rules (edits differ from it)
    source: str = "rows"  # "json": the rules cannot be shown as rows
    error: str = ""  # about the rules as a whole
    json_error: str = ""  # about the JSON box's text (then ``error`` says the same)
    rules: dict[str, Any] | None = None  # checked, when they could be

    @classmethod
    def of(cls, rules: dict[str, Any]) -> Builder:
        """The builder showing saved (checked) rules."""
        built = cls()
        built._show(rules)
        return built

    @classmethod
    def posted(cls, form: MultiDict) -> Builder:
        """The builder as the form posted it, with its rules checked (``rules`` set) or the
        problems marked by the row or box they are about."""
        text, shown = form.get("rules_json", ""), form.get("rules_shown", "")
        built = cls(
            match="any" if form.get("match") == "any" else "all",
            rows=_rows(form),
            text=text,
            shown=shown,
            source="json" if form.get("source") == "json" else "rows",
        )
        # An emptied box hands the rules back to the rows.
        if text.strip() and (built.source == "json" or _changed(text, shown)):
            built._from_json(text)
        else:
            built._from_rows()
        return built

    def add_row(self) -> None:
        """One more (empty) condition."""
        if len(self.rows) < MAX_ROWS:
            self.rows.append(Row())

    def remove_row(self, index: int) -> None:
        """Leave out one condition (the form keeps at least one row to fill in)."""
        if 0 <= index < len(self.rows):
            del self.rows[index]
        if not self.rows:
            self.rows.append(Row())

    def _from_json(self, text: str) -> None:
        try:
            rules = _parsed(text)
        except ValueError as exc:
            self.error = self.json_error = str(exc)
            return
        try:
            self._show(segments.checked(rules))
        except segment_rules.RuleError as exc:
            self.error = self.json_error = str(exc)

    def _from_rows(self) -> None:
        used = [row for row in self.rows if not row.blank]
        for row in used:
            try:
                segments.checked({"all": [row.condition()]})
            except segment_rules.RuleError as exc:
                row.error = str(exc).split(": ", 1)[-1]
        if any(row.error for row in used):
            self.error = "Some conditions cannot be used; see the message by each."
            return
        try:
            rules = segments.checked({self.match: [row.condition() for row in used]})
        except segment_rules.RuleError as exc:
            self.error = str(exc)
            return
        self._show(rules, keep_rows=True)

    def _show(self, rules: dict[str, Any], keep_rows: bool = False) -> None:
        """Show checked rules: as rows when rows can say them exactly, always as JSON."""
        self.rules = rules
        self.text = self.shown = json.dumps(rules, indent=2, ensure_ascii=False)
        ((self.match, items),) = rules.items()
        if all("field" in item for item in items):
            rows = [Row.of(item) for item in items]
            if _same({self.match: [r.condition() for r in rows]}, rules):
                self.source = "rows"
                self.rows = self.rows if keep_rows else (rows or [Row()])
                return
        self.source, self.rows = "json", []


def _rows(form: MultiDict) -> list[Row]:
    numbers = sorted(
        {n for k in form if k.startswith("cond-") and (n := row_id(k.split("-")[1])) is not None}
    )[:MAX_ROWS]
    return [
        Row(
            field=form.get(f"cond-{n}-field", "list"),
            key=form.get(f"cond-{n}-key", ""),
            op=form.get(f"cond-{n}-op", "eq"),
            value=form.get(f"cond-{n}-value", ""),
        )
        for n in numbers
    ]


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"This is not JSON: {exc}.") from None
    except RecursionError:  # thousands of brackets deep: the parser gives up
        raise ValueError("This JSON is nested far too deep.") from None


def _changed(text: str, shown: str) -> bool:
    """Whether the admin edited the JSON box (not merely re-posted what the page showed)."""
    try:
        return _parsed(text or "null") != _parsed(shown or "null")
    except ValueError:
        return text.strip() != shown.strip()


def _same(rules: dict[str, Any], checked: dict[str, Any]) -> bool:
    try:
        return segment_rules.check(rules) == checked
    except segment_rules.RuleError:
        return False
