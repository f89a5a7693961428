"""What ``segments.rules.check`` refuses, and what it says: the place (``rule 2.1``) and the
problem in plain words, so that an admin, a script and a shell user can mend the rule. Hostile
sizes (deep nesting, thousands of conditions, huge values) are refused the same way."""

from __future__ import annotations

import pytest

from newsletter.segments.rules import RuleError, check

CITY = {"field": "attributes.city", "op": "eq", "value": "Oslo"}


def _one(**rule: object) -> dict:
    return {"all": [CITY, rule]}


def _nested(depth: int) -> dict:
    tree: dict = {"all": [CITY]}
    for _ in range(depth - 1):
        tree = {"all": [tree]}
    return tree


REFUSED = [
    (_one(field="citty", op="eq", value="Oslo"), "rule 2: unknown field 'citty'"),
    (_one(field="attributes.ci'ty", op="eq", value="x"), "rule 2: bad attribute name"),
    (_one(field="attributes.", op="eq", value="x"), "rule 2: bad attribute name"),
    (_one(field=7, op="eq", value="x"), "rule 2: the field must be text"),
    (_one(field="status", op="contains", value="c"), "rule 2: unknown op 'contains' for status"),
    (_one(field="signed_up_at", op="eq", value="2026-01-01"), "rule 2: unknown op 'eq'"),
    (_one(field="name", op="eq"), "rule 2: a value is missing"),
    (_one(field="name", op="eq", value="x", vale="y"), "rule 2: unexpected key 'vale'"),
    (_one(field="status", op="eq", value="active"), "rule 2: unknown status 'active'"),
    (_one(field="list", op="eq", value="Weekly News"), "rule 2: 'Weekly News' is not a list slug"),
    (_one(field="name", op="eq", value=5), "rule 2: the value must be text"),
    (_one(field="attributes.vip", op="eq", value=True), "rule 2: the value must be text or a num"),
    (_one(field="name", op="in", value="Ann"), "rule 2: in takes a list of 1 to 100 values"),
    (_one(field="name", op="in", value=[]), "rule 2: in takes a list of 1 to 100 values"),
    (_one(field="name", op="in", value=["x"] * 101), "rule 2: in takes a list of 1 to 100"),
    (_one(field="name", op="exists", value="yes"), "rule 2: exists takes true or false"),
    (_one(field="confirmed_at", op="before", value="01/02/2026"), "rule 2: a date is written"),
    (_one(field="confirmed_at", op="after", value="2026-02-30"), "rule 2: a date is written"),
    (_one(field="confirmed_at", op="within_days", value="7"), "rule 2: within_days takes a whole"),
    (_one(field="confirmed_at", op="within_days", value=-1), "rule 2: within_days takes a whole"),
    (_one(field="confirmed_at", op="within_days", value=True), "rule 2: within_days takes"),
    (_one(field="name", op="contains", value="x" * 321), "rule 2: the value is too long"),
    (_one(field="name", op="eq", value="a\nb"), "rule 2: the value is too long or has control"),
    ({"all": [CITY, {"any": [CITY, {"field": "x"}]}]}, "rule 2.2: unknown field 'x'"),
    ({"all": [CITY, {"every": []}]}, 'rule 2: expected a group {"all": [...]} or {"any"'),
    ({"all": [CITY, {"all": [], "any": []}]}, "rule 2: expected a group"),
    ({"all": [CITY, 42]}, "rule 2: expected a group"),
    ({"all": {"field": "name"}}, 'rules: "all" must be a list of rules'),
    ([CITY], "rules: expected a group"),
    ("SELECT 1", "rules: expected a group"),
    (None, "rules: expected a group"),
    (_nested(6), "rule 1.1.1.1.1: groups are nested too deep (at most 5)"),
    ({"any": [CITY] * 51}, "rule 51: too many conditions (at most 50)"),
]


@pytest.mark.parametrize(("rules", "message"), REFUSED, ids=[m for _, m in REFUSED])
def test_a_bad_rule_is_refused_naming_the_place_and_the_problem(rules, message):
    with pytest.raises(RuleError) as refused:
        check(rules)
    assert str(refused.value).startswith(message)
    assert refused.value.field == "rules"


def test_a_rule_naming_a_list_that_does_not_exist_is_refused_when_lists_are_given():
    rules = {"any": [CITY, {"field": "list", "op": "in", "value": ["weekly", "weekley"]}]}
    with pytest.raises(RuleError, match=r"^rule 2: there is no list 'weekley'$"):
        check(rules, lists={"weekly"})


def test_good_rules_come_back_normalised():
    rules = {
        "any": [
            {"field": "email", "op": "eq", "value": " Ann@Example.ORG "},
            {"field": "attributes.age", "op": "in", "value": [34, 1.5, "x"]},
            {"field": "confirmed_at", "op": "after", "value": "2026-01-05"},
            _nested(4),
        ]
    }
    assert check(rules) == {
        "any": [
            {"field": "email", "op": "eq", "value": "ann@example.org"},
            {"field": "attributes.age", "op": "in", "value": ["34", "1.5", "x"]},
            {"field": "confirmed_at", "op": "after", "value": "2026-01-05"},
            _nested(4),
        ]
    }
    assert check(CITY) == {"all": [CITY]}  # a bare condition is a group of one
