"""A segment's rules: the JSON tree an admin writes, checked (``check``) and compiled to a
parameterised SQLAlchemy condition over ``Subscriber`` (``where``).

The tree is a group, ``{"all": [...]}`` or ``{"any": [...]}``, of conditions
``{"field": F, "op": O, "value": V}`` and further groups. What each condition means:

- ``list`` (a slug): ``eq`` the subscriber has a subscription on that list that is not
  unsubscribed (pending or confirmed); ``ne`` has none; ``in`` (slugs) has one on any of them;
  ``exists`` true: is on some list (not unsubscribed), false: on none.
- ``status``: the subscriber's overall status (``pending``, ``confirmed``, ``unsubscribed``,
  ``bounced``, ``complained``); ``eq``, ``ne``, ``in``.
- ``email``, ``name``: ``eq``/``ne``/``in`` compare whole values, ``contains`` a substring; all
  ignore case (ASCII letters only on SQLite). An email value is compared in its stored form
  (lowercased). ``name exists`` true: the name is not empty.
- ``attributes.<key>`` (the key as imported, case-sensitive): values compare as text, so a
  rule value ``5`` matches the attribute ``5`` and ``"5"``; ``eq``/``in`` need the attribute
  present; ``ne`` also matches subscribers without it; ``contains`` ignores case;
  ``exists`` true: present and not empty.
- ``signed_up_at``, ``confirmed_at`` (the subscriber's, in UTC): ``before D`` earlier than
  day D, ``after D`` later than day D (D itself is in neither), ``within_days N`` in the last
  N days counted from now at query time; ``exists`` (``confirmed_at`` is empty until they
  confirm). A missing date matches none of the comparisons.

An empty ``all`` matches everyone, an empty ``any`` no one. A bare condition at the top is
taken as ``{"all": [condition]}``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    false,
    func,
    or_,
    select,
    true,
    union,
)

from ..models import MailingList, Subscriber, SubscriberStatus, Subscription, SubscriptionStatus
from ..models import utcnow as _utcnow
from ..subscribers.addresses import lookup_form
from .sql import KEY, among, among_values, attribute, maybe_containing

MAX_DEPTH = 5  # groups inside groups
MAX_CONDITIONS = 50
MAX_CHOICES = 100  # values of one ``in``
MAX_VALUE = 320  # characters of one value (an address is at most 254)
MAX_DAYS = 36_500
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

MEMBERS = (SubscriptionStatus.PENDING, SubscriptionStatus.CONFIRMED)
TEXT_OPS = ("eq", "ne", "contains", "in")
DATE_OPS = ("before", "after", "within_days", "exists")
OPS = {
    "list": ("eq", "ne", "in", "exists"),
    "status": ("eq", "ne", "in"),
    "email": TEXT_OPS,
    "name": (*TEXT_OPS, "exists"),
    "attributes": (*TEXT_OPS, "exists"),
    "signed_up_at": DATE_OPS,
    "confirmed_at": DATE_OPS,
}
FIELDS = ("list", "status", "email", "name", "attributes.<key>", "signed_up_at", "confirmed_at")


class RuleError(ValueError):
    """The rules cannot be used; ``str(exc)`` names the place and the problem
    (``rule 2: unknown field 'citty'``). ``field`` is the form/API field it belongs to."""

    field = "rules"

    def __init__(self, place: str, problem: str) -> None:
        super().__init__(f"{place}: {problem}")
        self.place = place


def check(rules: object, lists: Collection[str] | None = None) -> dict[str, Any]:
    """The rules as stored: validated, values normalised; :class:`RuleError` otherwise.
    With ``lists`` (the slugs that exist), a rule naming any other list is refused too."""
    if isinstance(rules, dict) and "field" in rules:
        rules = {"all": [rules]}
    return _Checker(lists).group(rules, "rules", 1)


class _Checker:
    """One walk over a tree: counts its conditions against the bound as it goes."""

    def __init__(self, lists: Collection[str] | None) -> None:
        self.lists = lists
        self.conditions = 0

    def group(self, node: object, place: str, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict) or len(node) != 1 or next(iter(node)) not in ("all", "any"):
            raise RuleError(place, 'expected a group {"all": [...]} or {"any": [...]}')
        if depth > MAX_DEPTH:
            raise RuleError(place, f"groups are nested too deep (at most {MAX_DEPTH})")
        ((how, items),) = node.items()
        if not isinstance(items, list):
            raise RuleError(place, f'"{how}" must be a list of rules')
        checked = []
        for number, item in enumerate(items, start=1):
            where_ = f"rule {number}" if depth == 1 else f"{place}.{number}"
            if isinstance(item, dict) and "field" in item:
                checked.append(self.condition(item, where_))
            else:
                checked.append(self.group(item, where_, depth + 1))
        return {how: checked}

    def condition(self, node: dict[str, Any], place: str) -> dict[str, Any]:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise RuleError(place, f"too many conditions (at most {MAX_CONDITIONS})")
        extra = sorted(set(node) - {"field", "op", "value"})
        if extra:
            raise RuleError(
                place, f"unexpected key {_shown(extra[0])} (a rule has field, op, value)"
            )
        field, op = node.get("field"), node.get("op")
        if not isinstance(field, str):
            raise RuleError(place, "the field must be text")
        kind = _kind(field, place)
        if not isinstance(op, str) or op not in OPS[kind]:
            raise RuleError(
                place, f"unknown op {_shown(op)} for {field} (one of {', '.join(OPS[kind])})"
            )
        if "value" not in node:
            raise RuleError(place, "a value is missing")
        value = _check_value(kind, op, node["value"], place)
        if kind == "list" and self.lists is not None and op != "exists":
            for slug in value if isinstance(value, list) else [value]:
                if slug not in self.lists:
                    raise RuleError(place, f"there is no list {_shown(slug)}")
        return {"field": field, "op": op, "value": value}


def _kind(field: str, place: str) -> str:
    if field.startswith("attributes."):
        if not KEY.match(field.removeprefix("attributes.")):
            raise RuleError(
                place,
                f"bad attribute name {_shown(field)} (letters, digits, space, _ . -; at most 100)",
            )
        return "attributes"
    if field not in OPS:
        raise RuleError(place, f"unknown field {_shown(field)} (one of {', '.join(FIELDS)})")
    return field


def _check_value(kind: str, op: str, value: object, place: str) -> Any:
    if op == "exists":
        if not isinstance(value, bool):
            raise RuleError(place, "exists takes true or false")
        return value
    if op == "within_days":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
            raise RuleError(place, f"within_days takes a whole number of days (0 to {MAX_DAYS})")
        return value
    if op in ("before", "after"):
        return _check_date(value, place)
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_CHOICES:
            raise RuleError(place, f"in takes a list of 1 to {MAX_CHOICES} values")
        return [_check_text(kind, item, place) for item in value]
    return _check_text(kind, value, place)


def _check_text(kind: str, value: object, place: str) -> str:
    if kind == "attributes" and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise RuleError(place, "the value must be text" + (" or a number" * (kind == "attributes")))
    if len(value) > MAX_VALUE or _CONTROL.search(value):
        raise RuleError(
            place, f"the value is too long or has control characters (at most {MAX_VALUE})"
        )
    if kind == "status" and value not in set(SubscriberStatus):
        raise RuleError(
            place, f"unknown status {_shown(value)} (one of {', '.join(SubscriberStatus)})"
        )
    if kind == "list" and not _SLUG.match(value):
        raise RuleError(place, f"{_shown(value)} is not a list slug")
    if kind == "email":
        value = lookup_form(value)  # as addresses are stored
    return value


def _check_date(value: object, place: str) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise RuleError(place, "a date is written YYYY-MM-DD") from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def attribute_keys(rules: dict[str, Any], op: str | None = None) -> set[str]:
    """Every attribute key the (checked) rules filter on (with ``op``: in that op)."""
    return {
        c["field"].removeprefix("attributes.")
        for c in _conditions(rules)
        if c["field"].startswith("attributes.") and op in (None, c["op"])
    }


def _conditions(node: dict[str, Any]) -> list[dict[str, Any]]:
    if "field" in node:
        return [node]
    ((_, items),) = node.items()
    return [c for item in items for c in _conditions(item)]


def where(rules: dict[str, Any]) -> ColumnElement[bool]:
    """The (checked) rules as a condition on ``Subscriber``; every value a bound parameter."""
    if "field" in rules:
        return _condition(rules)
    ((how, items),) = rules.items()
    parts = [where(item) for item in items]
    if how == "all":
        return and_(true(), *parts) if parts else true()
    if len(parts) < 2:
        return or_(false(), *parts)
    # Each alternative found on its own (with its own indexes), then their ids together: both
    # planners read every row for an OR whose sides want different indexes or subqueries.
    return among(union(*(select(Subscriber.id).where(part) for part in parts)))


def _condition(rule: dict[str, Any]) -> ColumnElement[bool]:
    field, op, value = rule["field"], rule["op"], rule["value"]
    if field == "list":
        return _on_list(op, value)
    if field in ("signed_up_at", "confirmed_at"):
        column = Subscriber.created_at if field == "signed_up_at" else Subscriber.confirmed_at
        return _date(column, op, value)
    if field in ("email", "name") and op == "contains":
        # ILIKE on PostgreSQL, which its trigram indexes (migration 0003) serve; on SQLite the
        # trigram search table narrows the rows LIKE then checks.
        column = getattr(Subscriber, field)
        exact = (column.contains if field == "email" else column.icontains)(value, autoescape=True)
        return and_(maybe_containing(value), exact)
    if field in ("status", "email"):
        # Both are stored as the values are checked (an address lowercased): a plain
        # comparison, which their indexes serve.
        return _compare(getattr(Subscriber, field), op, value)
    # The per-attribute index (see ``indexes``) is on this lowercased expression; each
    # comparison below is one it can answer as a range (NULL is a missing attribute).
    text = text_of(field)
    if op == "exists":
        return text > "" if value else or_(text.is_(None), text == "")
    if op == "contains":
        return contains(text, value)
    # The database lowercases the value too: SQLite's lower() leaves Ø and Å as they are, and
    # a value lowercased here would then never meet the stored one.
    if op == "in":
        return text.in_([func.lower(v) for v in value])
    if op == "ne":
        # Everyone but those equal (so missing is "not equal" too): the equal ones come from
        # the index, and the rest is a check per id instead of an attribute read per row.
        return among(select(Subscriber.id).where(text == func.lower(value)), negate=True)
    return text == func.lower(value)


def text_of(field: str) -> ColumnElement[str]:
    """What a name or attribute condition compares: the value lowercased (NULL when missing),
    the expression the per-attribute index holds."""
    key = field.removeprefix("attributes.")
    return func.lower(Subscriber.name if field == "name" else attribute(key))


def contains(text: ColumnElement[str], value: str) -> ColumnElement[bool]:
    """``text`` (lowercased) holds ``value`` anywhere, ignoring case, with LIKE's wildcards (and
    the escape character) in ``value`` taken literally."""
    escaped = value.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return text.like(func.lower("%" + escaped + "%"), escape="/")


def _compare(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    if op == "in":
        return column.in_(value)
    return column != value if op == "ne" else column == value


def _on_list(op: str, value: Any) -> ColumnElement[bool]:
    # "Not unsubscribed" as the states it leaves, so that the (list, state) index serves it.
    members = select(Subscription.subscriber_id).where(Subscription.status.in_(MEMBERS))
    if op != "exists":
        slugs = value if isinstance(value, list) else [value]
        lists = select(MailingList.id).where(MailingList.slug.in_(slugs))
        members = members.where(among_values(Subscription.list_id, lists))
    return among(members, negate=op == "ne" or (op == "exists" and not value))


def _date(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "exists":
        return column.is_not(None) if value else column.is_(None)
    if op == "within_days":
        return column >= _utcnow() - timedelta(days=value)
    day = datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    return column < day if op == "before" else column >= day + timedelta(days=1)
