"""Sandboxed templates (`{{ answers.mood }}`) and conditions (`answers.mood <= 4`).

Flow files are written by staff, not programmers, and must never reach Python internals.
Two fences: `check_*` walks the parsed expression and accepts only a small grammar over
the names `participant`, `answers` and `previous`; at run time Jinja's sandbox evaluates,
and any failure renders as empty text or a false condition instead of raising.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import SandboxedEnvironment

PARTICIPANT_FIELDS = ("name", "language", "id")
SAFE_FILTERS = frozenset(
    {
        "upper",
        "lower",
        "capitalize",
        "title",
        "trim",
        "default",
        "round",
        "int",
        "float",
        "join",
        "length",
    }  # join and length: the chosen values of a multiple choice
)
# The whole grammar of flow texts and conditions, besides names, filters and attributes.
_ALLOWED = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.CondExpr,
    nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not, nodes.Neg, nodes.Pos,
    nodes.Const, nodes.List, nodes.Tuple, nodes.Concat,
    nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod,
)  # fmt: skip


class Missing(Undefined):
    """A name with no value (a skipped step): empty in text, and every comparison is false."""

    __slots__ = ()

    def _false(self, other: object) -> bool:
        return False

    # Undefined declares these with other signatures; every one of them means "false" here.
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _false  # type: ignore[assignment]
    __hash__ = Undefined.__hash__

    def __contains__(self, item: object) -> bool:
        return False

    def _missing(self, *args: object) -> Missing:
        return self

    # Arithmetic with an empty answer stays empty (Undefined's versions raise instead).
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _missing  # type: ignore[assignment]
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = _missing  # type: ignore[assignment]
    __mod__ = __rmod__ = __neg__ = __pos__ = _missing  # type: ignore[assignment]


MISSING = Missing()


def _display(value: Any) -> Any:
    """How an answer reads inside a message: yes/no, whole numbers without `.0`.

    Only plain values ever reach a message: anything else (an object a template found a
    way to name) shows as nothing rather than as its Python description.
    """
    if value is None or isinstance(value, Undefined):
        return ""
    if not isinstance(value, str | int | float | bool):
        return ""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MAX_REPEAT = 1000  # the largest constant a flow text may multiply by


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox with no globals (range, cycler, lipsum, ...) and no repetition:
    `*` and `**` refuse text and lists, so a reply cannot be blown up to gigabytes."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if isinstance(left, str | list | tuple) or isinstance(right, str | list | tuple):
            raise ValueError("repeating text or lists is not allowed")
        if operator == "**":
            raise ValueError("powers are not allowed")
        return super().call_binop(context, operator, left, right)


_env = _Sandbox(undefined=Missing, autoescape=False, finalize=_display)
_env.globals.clear()


def _filled(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: MISSING if value is None else value for key, value in values.items()}


def context(
    *,
    participant: Mapping[str, Any] | None = None,
    answers: Mapping[str, Any] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The names that templates and conditions may use, with empty values made `Missing`."""
    return {
        "participant": _filled(participant or {}),
        "answers": _filled(answers or {}),
        "previous": _filled(previous or {}),
    }


# --- static checks ---------------------------------------------------------------------


def _problems(
    node: nodes.Node, known_steps: Iterable[str], later_steps: Iterable[str]
) -> list[str]:
    """Every construct outside the allowed grammar, and every reference to an unknown step."""
    known, later = set(known_steps), set(later_steps)
    found: list[str] = []

    def visit(n: nodes.Node) -> None:
        if isinstance(n, nodes.Getattr):
            if not isinstance(n.node, nodes.Name):
                found.append(f"'{n.attr}' can only follow participant, answers or previous")
                return
            base, attr = n.node.name, n.attr
            if attr.startswith("_"):
                found.append(f"'{base}.{attr}' is not allowed: names starting with _ are private")
            elif base == "participant" and attr not in PARTICIPANT_FIELDS:
                found.append(
                    f"participant has no '{attr}' (use one of: {', '.join(PARTICIPANT_FIELDS)})"
                )
            elif base in ("answers", "previous") and attr not in known:
                found.append(f"'{base}.{attr}' refers to an unknown step '{attr}'")
            elif base == "answers" and attr in later:
                found.append(f"'answers.{attr}' refers to a later step; it has no answer yet")
            elif base not in ("participant", "answers", "previous"):
                found.append(f"unknown name '{base}'")
            return
        if isinstance(n, nodes.Name):
            found.append(
                f"'{n.name}' on its own is not allowed; "
                "use answers.STEP, previous.STEP or participant.name"
                if n.name in ("participant", "answers", "previous")
                else f"unknown name '{n.name}' "
                "(use answers.STEP, previous.STEP or participant.name)"
            )
            return
        if isinstance(n, nodes.Mul) and _repeats(n):
            found.append(
                f"multiplying text or lists, or by more than {MAX_REPEAT:,}, is not allowed"
            )
            return
        if isinstance(n, nodes.Filter):
            if n.name not in SAFE_FILTERS:
                found.append(f"filter '{n.name}' is not allowed")
        elif isinstance(n, nodes.Getitem | nodes.Call | nodes.Slice):
            found.append("only plain names like answers.STEP are allowed, not calls or indexing")
            return
        elif not isinstance(n, _ALLOWED):
            found.append(f"'{type(n).__name__}' is not allowed in flow texts and conditions")
            return
        for child in n.iter_child_nodes():
            visit(child)

    visit(node)
    return list(dict.fromkeys(found))


def _repeats(node: nodes.Mul) -> bool:
    """A `*` that could build something huge: text or a list on either side, or a big number."""
    for side in (node.left, node.right):
        if isinstance(side, nodes.List | nodes.Tuple | nodes.Concat):
            return True
        if isinstance(side, nodes.Const):
            if isinstance(side.value, str):
                return True
            if isinstance(side.value, int | float) and abs(side.value) > MAX_REPEAT:
                return True
    return False


def check_template(
    source: str, known_steps: Iterable[str], later_steps: Iterable[str] = ()
) -> list[str]:
    """Problems with a text template: syntax, unknown names, anything unsafe. Empty if fine."""
    try:
        tree = _env.parse(source)
    except TemplateSyntaxError as error:
        return [f"template does not parse: {error.message}"]
    return _problems(tree, known_steps, later_steps)


def check_condition(
    source: str, known_steps: Iterable[str], later_steps: Iterable[str] = ()
) -> list[str]:
    """Problems with a `when`/`alert` condition. `later_steps` may not be referred to."""
    if not source.strip():
        return ["condition is empty"]
    try:
        tree = _env.parse("{{ (" + source + ") }}")
    except TemplateSyntaxError as error:
        return [f"condition does not parse: {error.message}"]
    return _problems(tree, known_steps, later_steps)


@dataclass(frozen=True)
class Comparison:
    """`answers.STEP` (or `previous.STEP`) compared in a condition with values written in it:
    `==`/`!=` a value, `in`/`not in` a list of values, or a value `in` the answer."""

    name: str  # "answers.warm"
    step: str
    operator: str  # Jinja's name: eq, ne, in, notin, lt, ...
    values: tuple[object, ...]
    answer_first: bool = True  # False for `'v' in answers.STEP`: the value is looked up in it


def comparisons(source: str) -> list[Comparison]:
    """Every comparison of a step's answer with fixed values in a condition, for the checks
    that a compared value is one the answer can take; none if the condition does not parse."""
    try:
        tree = _env.parse("{{ (" + source + ") }}")
    except TemplateSyntaxError:
        return []
    found: list[Comparison] = []
    for compare in tree.find_all(nodes.Compare):
        left = compare.expr
        for operand in compare.ops:
            found.extend(_compared(left, operand.op, operand.expr))
            left = operand.expr
    return found


def _compared(left: nodes.Expr, operator: str, right: nodes.Expr) -> list[Comparison]:
    answer, other = (left, right) if _answer_of(left) else (right, left)
    reference = _answer_of(answer)
    if reference is None:
        return []
    name, step = reference
    if isinstance(other, nodes.Const):
        return [Comparison(name, step, operator, (other.value,), answer is left)]
    listed = operator in ("in", "notin") and other is right
    if listed and isinstance(other, nodes.List | nodes.Tuple):
        values = tuple(item.value for item in other.items if isinstance(item, nodes.Const))
        return [Comparison(name, step, operator, values)] if values else []
    return []


def _answer_of(node: nodes.Node) -> tuple[str, str] | None:
    """("answers.warm", "warm") for a plain `answers.warm` or `previous.warm`, else None."""
    if not isinstance(node, nodes.Getattr) or not isinstance(node.node, nodes.Name):
        return None
    if node.node.name not in ("answers", "previous"):
        return None
    return f"{node.node.name}.{node.attr}", str(node.attr)


# --- evaluation ------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _template(source: str) -> Any:
    return _env.from_string(source)


@lru_cache(maxsize=4096)
def _condition(source: str) -> Any:
    return _env.compile_expression(source, undefined_to_none=False)


#: A bare `{{ participant.name }}` with the space before it: for someone with no name on
#: record the space goes too, so "Hi {{ participant.name }}, ..." reads "Hi, ...".
BARE_NAME = re.compile(r"( ?)\{\{\s*participant\.name\s*\}\}")


def _name_or_nothing(match: re.Match[str]) -> str:
    space = match.group(1)
    if not space:
        return "{{ participant.name or '' }}"
    return "{{ (' ' ~ participant.name) if participant.name else '' }}"


def render(source: str, names: Mapping[str, Any]) -> str:
    """Fill a template; on any failure, the text with its placeholders left empty.

    A bare `{{ participant.name }}` falls back gracefully when the name is empty.
    """
    if "{" not in source:
        return source
    try:
        return str(_template(BARE_NAME.sub(_name_or_nothing, source)).render(names))
    except Exception:
        return _strip_placeholders(source)


#: What `flows check` and a flow's page in the web app say about a line with a bare name.
BARE_NAME_WARNING = (
    "{{ participant.name }} is empty for people with no name on record (the text then "
    "leaves it out: 'Hi, time for ...'); to choose the words, write "
    '{{ participant.name or "there" }}'
)


def bare_name_lines(text: str) -> list[int]:
    """1-based lines of `text` that use a bare `{{ participant.name }}` (no `or` fallback)."""
    return [n for n, line in enumerate(text.splitlines(), 1) if BARE_NAME.search(line)]


def holds(source: str, names: Mapping[str, Any]) -> bool:
    """Whether a condition is true; a condition that fails to evaluate is false."""
    try:
        result = _condition(source)(**names)
    except Exception:
        return False
    return bool(result) and not isinstance(result, Undefined)


def _strip_placeholders(source: str) -> str:
    out, rest = [], source
    while "{{" in rest:
        head, _, tail = rest.partition("{{")
        out.append(head)
        _, _, rest = tail.partition("}}")
    out.append(rest)
    return "".join(out)
