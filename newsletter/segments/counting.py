"""A segment's count as one query, shaped so that the big one-condition shapes read an index
instead of a million subscribers (issue 15: under 300 ms at a million, on both backends).

- A list condition alone (``eq``, ``in``, ``exists`` true) is counted from the memberships
  index ``subscription(list_id, status, subscriber_id)`` alone: no subscriber row is read.
- A condition that is the exact opposite of a cheap one (``ne`` of ``eq``, ``exists`` true of
  false, or false of true) is everyone less the cheap one: "not in Oslo" is the million less
  the hundred thousand the city index finds, rather than a check per subscriber.
- An attribute ``contains`` alone, on SQLite, when the attribute's index exists: if it holds
  at most ``FEW`` distinct values, those are read from the index (skipping from one to the
  next), the ones containing the text kept, and their subscribers counted through the index;
  else every value in the index is tested, in index order; either way instead of reading
  every subscriber's JSON (PostgreSQL has its trigram index).
- An ``any`` at the top: how many ids its alternatives find together, each with its own
  indexes; SQLite merges them from arms that come in id order rather than put each id into
  a temporary B-tree (see ``_any_count``).

Everything else is ``count(*)`` over ``rules.where``; what the rules mean is theirs alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    column,
    distinct,
    exists,
    func,
    literal_column,
    select,
    table,
    true,
    union,
)

from ..models import MailingList, Subscriber, Subscription
from . import indexes
from .rules import MEMBERS, contains, text_of, where
from .sql import among, intersect_first, on_sqlite

# Conditions that are "not" of another by definition: ``ne`` of ``eq`` (a missing value is
# "not equal"), ``exists`` false of true. Counted the other way round when the opposite is
# the one an index finds: ``eq``, a list's members, a missing date.
_TEXT = ("list", "status", "email", "name")
_DATES = ("signed_up_at", "confirmed_at")
# At most this many distinct values of an attribute are searched one by one (SQLite).
FEW = 1000
# At most this many arms are merged for an ``any`` (SQLite takes 500 in one compound); more
# (lists ``in`` many slugs) are found as one arm per alternative.
MERGED_ARMS = 64
_SQLITE_MASTER = table("sqlite_master", column("type"), column("name"))


def query(rules: dict[str, Any]) -> Select[Any]:
    """``SELECT`` of how many subscribers the (checked) rules match."""
    return select(_count(rules))


def _count(rules: dict[str, Any]) -> ColumnElement[int]:
    only = _alone(rules)
    if only is None and len(rules.get("any", ())) > 1:
        # The union of the alternatives' ids (each found with its own indexes) is counted
        # as it stands, rather than checked against every subscriber.
        items = rules["any"]
        return on_sqlite(_any_count(items, merged=True), _any_count(items, merged=False))
    if only is None:
        return _matching(rules)
    if only["op"] == "exists" and only["value"] and only["field"] not in ("list", *_DATES):
        # Present and not empty: everyone less the missing and the empty, each found by the
        # attribute's (or name's) index; SQLite reads every row for the two as one OR.
        text = text_of(only["field"])
        return _everyone() - _where(text.is_(None)) - _where(text == "")
    if only["op"] == "contains" and only["field"].startswith("attributes."):
        return on_sqlite(_contains_among_few(only), _direct(only))
    opposite = _opposite(only)
    if opposite is not None:
        return _everyone() - _direct(opposite)
    return _direct(only)


def _direct(rule: dict[str, Any]) -> ColumnElement[int]:
    return _members(rule) if _members_only(rule) else _where(where(rule))


def _alone(rules: dict[str, Any]) -> dict[str, Any] | None:
    """The one condition of a tree that is a single condition, else None."""
    while "field" not in rules:
        ((_, items),) = rules.items()
        if len(items) != 1:
            return None
        rules = items[0]
    return rules


def _members_only(rule: dict[str, Any]) -> bool:
    return rule["field"] == "list" and (
        rule["op"] in ("eq", "in") or (rule["op"] == "exists" and rule["value"])
    )


def _any_count(items: list[dict[str, Any]], *, merged: bool) -> ColumnElement[int]:
    """How many subscribers are among the alternatives' ids, found in arms that each hand
    them over in id order (an attribute's or the status index does; an alternative starting
    from a list's members is one arm per list and state). ``merged`` (SQLite): merged by
    ``UNION ... ORDER BY 1`` instead of put into a temporary B-tree one by one (SQLite sorts
    an arm that does not come in order: the count is the same). PostgreSQL hashes the union,
    and takes an alternative apart only where that pays (``_merges_by_id``)."""
    each = [_ids(item, apart=merged or _merges_by_id(item)) for item in items]
    if sum(map(len, each)) > MERGED_ARMS:
        each = [_ids(item) for item in items]
    arms = [arm for item_arms in each for arm in item_arms]
    if not merged:
        return _union_count(arms)
    first = next((n for n, item in enumerate(items) if _equalities(item)), None)
    if first is None:
        return _merged(arms)
    # "In Oslo and on pro" (SQLite): the two attribute indexes' ids merged too (INTERSECT),
    # leading the chain, when both indexes exist, rather than the Oslo ids checked against a
    # set of the pro ones built first.
    conditions = items[first]["all"]
    both = intersect_first(*(select(Subscriber.id).where(where(c)) for c in conditions))
    others = [arm for n, item_arms in enumerate(each) if n != first for arm in item_arms]
    indexed = and_(*(_indexed(c["field"].removeprefix("attributes.")) for c in conditions))
    return case((indexed, _merged([both, *others])), else_=_merged(arms))


def _equalities(rules: dict[str, Any]) -> bool:
    """An ``all`` of two or more attribute ``eq`` conditions alone."""
    items = rules.get("all", ())
    equal = [i for i in items if "field" in i and i["field"].startswith("attributes.")]
    return len(items) > 1 and len(equal) == len(items) and all(i["op"] == "eq" for i in equal)


def _merges_by_id(rules: dict[str, Any]) -> bool:
    """Whether an alternative is one list's members and status ``eq`` conditions alone,
    which PostgreSQL counts faster one state at a time: each arm's members, in id order, are
    merge-joined with the status index ``(status, id)``, in id order too, rather than hashed
    against all its ids ("on daily and confirmed": 200 k members, 850 k confirmed). Any
    other condition (an attribute, a date), or more lists, would be read again every arm."""
    items = rules.get("all", ())
    lists = [item for item in items if "field" in item and _members_only(item)]
    if not lists or lists[0]["op"] != "eq":
        return False
    rest = [item for item in items if item is not lists[0]]
    return all("field" in item and (item["field"], item["op"]) == ("status", "eq") for item in rest)


def _merged(arms: list[Any]) -> ColumnElement[int]:
    """How many ids the arms find together, merged by SQLite's ``UNION ... ORDER BY 1``."""
    return _union_count(arms, order=literal_column("1"))


def _union_count(arms: list[Any], order: Any = None) -> ColumnElement[int]:
    ids = union(*arms).order_by(order)
    return select(func.count()).select_from(ids.subquery()).scalar_subquery()


def _ids(rules: dict[str, Any], *, apart: bool = False) -> list[Select[Any]]:
    """The ids of the subscribers an ``any``'s alternative matches. An ``all`` with a list's
    members among its conditions starts from the memberships index and checks the rest on
    each member's row, fetched by primary key: "on daily and confirmed" reads the daily
    list's members rather than every confirmed subscriber's id to probe them against. With
    ``apart``, those memberships come one list and state at a time (see ``_any_count``)."""
    items = rules.get("all", ())
    lists = next((item for item in items if "field" in item and _members_only(item)), None)
    if lists is None and "all" in rules:
        return [select(Subscriber.id).where(and_(true(), *_each_by_its_index(items)))]
    if lists is None:
        return [select(Subscriber.id).where(where(rules))]
    rest = where({"all": [item for item in items if item is not lists]})
    found = _memberships_apart(lists) if apart else [_memberships(lists)]
    joined = [f.join(Subscriber, Subscriber.id == Subscription.subscriber_id) for f in found]
    return [each.where(rest) for each in joined]


def _each_by_its_index(items: list[dict[str, Any]]) -> list[ColumnElement[bool]]:
    """An ``all``'s conditions, the attribute ``eq`` ones after the first (which an index
    drives) on SQLite as "among the ids its own index finds" when that index exists: "in Oslo
    and on pro" checks the Oslo ids against the pro ones instead of reading each Oslo row's
    JSON. (PostgreSQL ANDs the two indexes' bitmaps itself.)"""
    equal = [i for i in items if "field" in i and i["field"].startswith("attributes.")]
    equal = [i for i in equal if i["op"] == "eq"]
    conditions = []
    for item in items:
        condition = where(item)
        if any(item is other for other in equal[1:]):
            key = item["field"].removeprefix("attributes.")
            by_index = among(select(Subscriber.id).where(condition))
            condition = on_sqlite(case((_indexed(key), by_index), else_=condition), condition)
        conditions.append(condition)
    return conditions


def _indexed(key: str) -> ColumnElement[bool]:
    """Whether the attribute's index exists (SQLite)."""
    name = indexes.name_for(key)
    return exists().where(_SQLITE_MASTER.c.type == "index", _SQLITE_MASTER.c.name == name)


def _memberships(rule: dict[str, Any]) -> Select[Any]:
    """The memberships (not unsubscribed) on the rule's lists, or on any, by subscriber."""
    found = select(Subscription.subscriber_id).where(Subscription.status.in_(MEMBERS))
    if rule["op"] != "exists":
        slugs = rule["value"] if isinstance(rule["value"], list) else [rule["value"]]
        found = found.where(
            Subscription.list_id.in_(select(MailingList.id).where(MailingList.slug.in_(slugs)))
        )
    return found


def _memberships_apart(rule: dict[str, Any]) -> list[Select[Any]]:
    """``_memberships`` as one select per list and state, each an equality on the memberships
    index ``(list_id, status, subscriber_id)`` that reads its members in subscriber order;
    "any list" stays one (by the primary key, in subscriber order too)."""
    if rule["op"] == "exists":
        return [_memberships(rule)]
    slugs = rule["value"] if isinstance(rule["value"], list) else [rule["value"]]
    found = select(Subscription.subscriber_id)
    return [
        found.where(Subscription.list_id == _list_id(slug), Subscription.status == state)
        for slug in slugs
        for state in MEMBERS
    ]


def _list_id(slug: str) -> ColumnElement[int]:
    return select(MailingList.id).where(MailingList.slug == slug).scalar_subquery()


def _members(rule: dict[str, Any]) -> ColumnElement[int]:
    """Subscribers with a membership (not unsubscribed) on the rule's lists, or on any."""
    found = _memberships(rule)
    if rule["op"] == "eq":
        # One membership per (subscriber, list): the rows are the subscribers.
        return found.with_only_columns(func.count()).scalar_subquery()
    each = func.count(distinct(Subscription.subscriber_id))
    distinct_count = found.with_only_columns(each).scalar_subquery()
    arms = _memberships_apart(rule)
    if rule["op"] == "in" and len(arms) <= MERGED_ARMS:
        # SQLite: the lists' members merged one list and state at a time, instead of
        # putting every membership's subscriber into a temporary B-tree to count them once.
        return on_sqlite(_merged(arms), distinct_count)
    return distinct_count


def _opposite(rule: dict[str, Any]) -> dict[str, Any] | None:
    field, op, value = rule["field"], rule["op"], rule["value"]
    kind = "attributes" if field.startswith("attributes.") else field
    if op == "ne" and kind in (*_TEXT, "attributes"):
        return {"field": field, "op": "eq", "value": value}
    if op == "exists" and value == (kind != "list"):  # a list's members; a missing date
        return {"field": field, "op": "exists", "value": not value}
    return None


def _contains_among_few(rule: dict[str, Any]) -> ColumnElement[int]:
    """SQLite's count of an attribute ``contains`` when the attribute's index exists: through
    its distinct values when they are at most ``FEW``, else the same ``LIKE`` tested on every
    value in the index, read in order as the range ``>= ''`` (a missing attribute, NULL, is
    not in it and matches no LIKE anyway): SQLite takes an indexed expression's value from
    the index rather than from each row's JSON. Without the index, the rules' own scan. The
    values are filtered with the same ``LIKE`` the rules write; the index holds the same
    expression, so the count is the same."""
    text = text_of(rule["field"])
    key = rule["field"].removeprefix("attributes.")
    values = select(text.label("value")).distinct().limit(FEW + 1).subquery()
    found = select(values.c.value).where(contains(values.c.value, rule["value"])).subquery()
    # Each value's subscribers counted through the index (SQLite reads every row for an IN
    # over a subquery, or for a join it starts from the subscribers).
    each = select(func.count()).select_from(Subscriber).where(text == found.c.value)
    through_index = select(func.coalesce(func.sum(each.scalar_subquery()), 0)).select_from(found)
    indexed = _indexed(key)
    few = select(func.count()).select_from(values).scalar_subquery() <= FEW
    in_order = _where(and_(text >= "", contains(text, rule["value"])))
    return case((~indexed, _direct(rule)), (few, through_index.scalar_subquery()), else_=in_order)


def _everyone() -> ColumnElement[int]:
    return select(func.count()).select_from(Subscriber).scalar_subquery()


def _matching(rules: dict[str, Any]) -> ColumnElement[int]:
    return _where(where(rules))


def _where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return select(func.count()).select_from(Subscriber).where(condition).scalar_subquery()
