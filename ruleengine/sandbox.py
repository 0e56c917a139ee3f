"""The Jinja sandbox with render budgets: a rule template cannot stall the daemon or fill its
memory by accident (``{{ 'a' * 10**9 }}``, nested loops over ``range``, a huge output).
Repetition, concatenation, powers, %-formatting, padding methods and filters and ``range`` are
checked before they allocate. ``templates`` builds its one environment on it; ``check`` asks
``over_budget`` about a template's constant parts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

#: Render budgets. Chat messages are short; these only stop accidents from stalling the daemon.
MAX_OUTPUT = 1_000_000  # characters one template renders; the rest is cut, with a marker
MAX_SEQUENCE = 1_000_000  # length of a string or list an operator, method or filter builds
MAX_POWER_BITS = 65_536  # size of an integer power
MAX_RANGE = 10_000  # range() elements in one render, all calls together (nested loops)
OUTPUT_CUT = "… [output cut at the render budget]"
_SIZED = (str, list, tuple)
_FORMAT_NUMBER = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d*))?|\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")
_RANGE_LEFT: ContextVar[list[int] | None] = ContextVar("range_left", default=None)


class OverBudget(Exception):
    """A template asked for more than a render may build."""


def _limit(size: int, what: str) -> None:
    if size > MAX_SEQUENCE:
        raise OverBudget(f"{what} of {size} elements (limit {MAX_SEQUENCE})")


def _check_format(fmt: Any) -> None:
    """Widths and precisions in a format string (``%09999999d``, ``{:>9999999}``)."""
    if isinstance(fmt, str):
        for match in _FORMAT_NUMBER.finditer(fmt):
            for number in match.groups():
                if number and int(number) > MAX_SEQUENCE:
                    raise OverBudget(f"format width {number} (limit {MAX_SEQUENCE})")


@contextmanager
def budgeted() -> Iterator[None]:
    """One render's shared budget (``range`` elements)."""
    token = _RANGE_LEFT.set([MAX_RANGE])
    try:
        yield
    finally:
        _RANGE_LEFT.reset(token)


def _range(*args: int) -> range:
    numbers = range(*args)
    left = _RANGE_LEFT.get()
    budget = left[0] if left is not None else MAX_RANGE
    if len(numbers) > budget:
        raise OverBudget(f"range() of {len(numbers)} more elements (limit {MAX_RANGE})")
    if left is not None:
        left[0] -= len(numbers)
    return numbers


def _precheck(obj: Any, args: tuple[Any, ...]) -> None:
    """Calls whose result size is known from their arguments: refused before they run."""
    owner, name = getattr(obj, "__self__", None), getattr(obj, "__name__", "")
    width = args[0] if args and isinstance(args[0], int) else 0
    if isinstance(owner, str) and name in {"ljust", "rjust", "center", "zfill"}:
        _limit(width, f"{name}()")
    elif isinstance(owner, str) and name == "expandtabs":
        _limit(len(owner) * (width or 8), "expandtabs()")
    elif isinstance(owner, str) and name == "replace" and len(args) >= 2:
        _limit(len(owner) + (owner.count(args[0]) + 1) * len(str(args[1])), "replace()")


def _bounded_filter(inner: Callable[..., Any], name: str) -> Callable[..., Any]:
    """``inner`` with its result size checked before (from its arguments) and after."""
    skip = 1 if hasattr(inner, "jinja_pass_arg") else 0  # join, replace get eval_ctx first

    def checked(*all_args: Any, **kwargs: Any) -> Any:
        _filter_precheck(name, all_args[skip], all_args[skip + 1 :])
        result = inner(*all_args, **kwargs)
        if isinstance(result, _SIZED):
            _limit(len(result), name)
        return result

    checked.__dict__.update(inner.__dict__)  # the pass_context/pass_eval_context marker
    return checked


def _filter_precheck(name: str, value: Any, args: tuple[Any, ...]) -> None:
    width = args[0] if args and isinstance(args[0], int) else 0
    if name == "center":
        _limit(width, "center")
    elif name == "indent":
        _limit(len(str(value)) + width * (str(value).count("\n") + 1), "indent")
    elif name == "format":
        _check_format(value)
    elif name == "join" and isinstance(value, (*_SIZED, range)):
        _limit(len(value) * (1 + (len(str(args[0])) if args else 0)), "join")
    elif name == "replace" and len(args) >= 2:
        text = str(value)
        _limit(len(text) + (text.count(str(args[0])) + 1) * len(str(args[1])), "replace")


_BOUNDED_FILTERS = ("center", "indent", "format", "join", "replace")


class BoundedSandbox(SandboxedEnvironment):
    """The sandbox with budgets: repetition, concatenation, power, %-formatting, padding
    methods and filters, and ``range`` are checked before they allocate."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _range
        self.add_filters(**{name: self.filters[name] for name in _BOUNDED_FILTERS})

    def add_filters(self, **filters: Callable[..., Any]) -> None:
        """Install filters; those whose output size their arguments decide stay checked."""
        for name, inner in filters.items():
            self.filters[name] = _bounded_filter(inner, name) if name in _BOUNDED_FILTERS else inner

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, _SIZED) and isinstance(times, int):
                    _limit(len(seq) * times, "repetition")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            bits = max(abs(left), 2).bit_length() * right
            if bits > MAX_POWER_BITS:
                raise OverBudget(f"power of about {bits} bits (limit {MAX_POWER_BITS})")
        elif operator == "+" and isinstance(left, _SIZED) and isinstance(right, _SIZED):
            _limit(len(left) + len(right), "concatenation")
        elif operator == "%":
            _check_format(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _precheck(__obj, args)
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, _SIZED):
            _limit(len(result), getattr(__obj, "__name__", "call") + "()")
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        _check_format(value.__self__)  # str.format / format_map of this very string

        def checked(*args: Any, **kwargs: Any) -> str:
            result = wrapper(*args, **kwargs)
            _limit(len(result), "format()")
            return result

        return checked


def over_budget(source: str, expression: bool = False) -> str | None:
    """Why a template's constant parts (``'a' * 10**9``, ``range(10**6)``) exceed the render
    budget, or None: what ``check`` can tell without an event."""
    env = BoundedSandbox()
    try:
        tree = env.parse(f"{{{{ {source} }}}}" if expression else source)
    except jinja2.TemplateSyntaxError:
        return None  # reported as an error elsewhere
    with budgeted():
        for node in tree.find_all((nodes.BinExpr, nodes.Call)):
            try:
                _fold(env, node)
            except OverBudget as exc:
                return str(exc)
            except Exception:  # noqa: S112 - not constant, or fails at run time anyway
                continue
    return None


def _fold(env: BoundedSandbox, node: nodes.Node) -> Any:
    """A constant sub-expression's value under the budgets; raises when it is not constant."""
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.BinExpr):
        return env.call_binop(None, node.operator, _fold(env, node.left), _fold(env, node.right))
    if (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "range"
        and not node.kwargs
    ):
        return _range(*(_fold(env, arg) for arg in node.args))
    raise nodes.Impossible
