"""The ``{{ … }}`` expressions an admin may write in an issue, evaluated for one subscriber.

Every expression is checked and may be evaluated in a Jinja sandbox. The common shapes —
``subscriber.name``, ``subscriber.email`` and ``subscriber.attributes.key``, each maybe with
``| default("…")`` — are also read directly, with the value the sandbox would produce: a
sandboxed render costs ~20 µs, and a bulk send fills each expression twice (HTML and text)
for every subscriber.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2
import markupsafe
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

# A "{{ … }}" expression in the admin's Markdown; "{% … %}" blocks are refused (see below).
EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_MAX_OUTPUT = 100_000  # characters any one expression may produce


class TemplateProblem(ValueError):
    """An admin's personalisation expression cannot be compiled or rendered; shown in compose,
    beside ``field`` (the compose form's field it is in)."""

    def __init__(self, message: str, field: str = "body_md") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SubscriberFields:
    """Who an issue is rendered for: what ``{{ subscriber.* }}`` may read."""

    email: str
    name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


def _fallback(value: Any, default: Any = "", boolean: bool = True) -> Any:
    """``default`` that also replaces empty values: an empty name still gets "reader"."""
    if isinstance(value, jinja2.Undefined) or (boolean and not value):
        return default
    return value


class _Sandbox(SandboxedEnvironment):
    """The sandbox for what admins type; refuses arithmetic that would build huge strings."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``attributes.items`` is the subscriber's "items" column, not dict's method: a dict's
        dotted names are always its keys (a missing one is empty, like any unknown)."""
        if isinstance(obj, dict):
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" or any(isinstance(v, str | list) for v in (left, right)):
            raise SecurityError(f"the {operator} operator is not allowed here")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=2)
def sandbox(autoescape: bool) -> SandboxedEnvironment:
    """The sandbox, escaping for HTML or not (text)."""
    env = _Sandbox(autoescape=autoescape, undefined=jinja2.ChainableUndefined)
    env.filters["default"] = env.filters["d"] = env.filters["fallback"] = _fallback
    # A subscriber's own values are never trusted as HTML: "| safe" would let a name carry markup
    # into mails and into the admin's preview.
    del env.filters["safe"]
    return env


def parse_expressions(body_md: str) -> list[str]:
    """Every ``{{ … }}`` expression in the body, each checked to compile in the sandbox."""
    source = body_md or ""
    if "{%" in source:
        raise TemplateProblem(
            "Only {{ … }} expressions are supported, such as "
            '{{ subscriber.name | default("reader") }}; {% … %} blocks are not.'
        )
    expressions = [m.group(1) for m in EXPRESSION.finditer(source)]
    if "{{" in EXPRESSION.sub("", source):
        raise TemplateProblem("A {{ has no matching }}.")
    for expression in expressions:
        try:
            sandbox(True).from_string("{{" + expression + "}}")
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateProblem(f"Cannot read {{{{{expression}}}}}: {exc.message}") from exc
    return expressions


_NOT_READ = object()  # ``direct``'s answer when only the sandbox can tell


@dataclass(frozen=True)
class Expression:
    """One expression compiled for HTML (``escape``) or for text."""

    template: jinja2.Template
    escape: bool
    # The value without the sandbox, if the shape allows.
    direct: Callable[[SubscriberFields], Any] | None

    @classmethod
    def compile(cls, expression: str, escape: bool) -> Expression:
        """Compile ``expression`` (already checked by :func:`parse_expressions`)."""
        source = "{{" + expression + "}}"
        return cls(sandbox(escape).from_string(source), escape, _direct(source))

    def evaluate(self, subscriber: SubscriberFields) -> str:
        """The expression's output for this subscriber; raises :class:`TemplateProblem`."""
        value = self.direct(subscriber) if self.direct is not None else _NOT_READ
        if value is _NOT_READ:
            output = self._render(subscriber)
        else:  # what Jinja's output step does: escape when autoescaping, else str()
            output = str(markupsafe.escape(value)) if self.escape else str(value)
        if len(output) > _MAX_OUTPUT:
            raise TemplateProblem("A personalisation expression produced far too much text.")
        return output

    def _render(self, subscriber: SubscriberFields) -> str:
        try:
            return self.template.render(subscriber=subscriber)
        except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError) as exc:
            raise TemplateProblem(f"A personalisation expression failed: {exc}") from exc


_DEFAULTS = {"default", "d", "fallback"}


def _direct(source: str) -> Callable[[SubscriberFields], Any] | None:
    """A plain function reading what ``source`` outputs, for the common shapes; else None."""
    body = sandbox(False).parse(source).body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    node, default = body[0].nodes[0], None
    if isinstance(node, nodes.Filter):
        args = node.args
        if (
            node.name not in _DEFAULTS
            or node.kwargs
            or node.dyn_args
            or node.dyn_kwargs
            or len(args) != 1
            or not isinstance(args[0], nodes.Const)
            or not isinstance(args[0].value, str)
        ):
            return None
        node, default = node.node, args[0].value
    read = _field_reader(node)
    if read is None:
        return None
    if default is None:
        return read

    def read_or_default(subscriber: SubscriberFields) -> Any:
        value = read(subscriber)
        return value if value or value is _NOT_READ else default

    return read_or_default


def _field_reader(node: nodes.Node) -> Callable[[SubscriberFields], Any] | None:
    def on_subscriber(n: nodes.Node) -> bool:
        return isinstance(n, nodes.Name) and n.name == "subscriber"

    if isinstance(node, nodes.Getattr) and on_subscriber(node.node):
        if node.attr == "name":
            return lambda subscriber: subscriber.name
        if node.attr == "email":
            return lambda subscriber: subscriber.email
        return None
    if isinstance(node, nodes.Getattr):
        key = node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        key = node.arg.value
    else:
        return None
    inner = node.node
    if not (
        isinstance(inner, nodes.Getattr)
        and inner.attr == "attributes"
        and on_subscriber(inner.node)
    ):
        return None
    if not isinstance(key, str):
        return None

    def read_attribute(subscriber: SubscriberFields) -> Any:
        attributes = subscriber.attributes
        if type(attributes) is not dict or type(subscriber) is not SubscriberFields:
            return _NOT_READ
        return attributes.get(key, "")  # the sandbox prints nothing for a missing one

    return read_attribute
