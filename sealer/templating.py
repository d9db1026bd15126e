"""Sandboxed Jinja2 rendering for ``spec.template.data`` (SealedSecret and VaultSecret).

Templates see the decrypted (or resolved) values as strings, and may combine them; nothing else.
The sandbox forbids attribute tricks, and ``StrictUndefined`` turns a reference to a key that does
not exist into an error, instead of an empty value.

**Errors never quote the engine.** Jinja's messages (and Python's, for an operand that fails)
quote values: ``{{ {}[password] }}`` says ``'dict object' has no attribute '<the password>'``. A
:class:`~sealer.errors.TemplateError` therefore names the field (``template.data.KEY``), the line,
and a fixed category per exception class (:data:`KINDS`); what it adds beyond that comes from
the template's own source (undefined or unknown names), which is not secret.

**Every render is under a budget** (:class:`Bounds`, one :class:`_Budget` per object): the
template's size; the output's size; the characters written anywhere (``{% set %}`` blocks and macro
bodies included); the size of every string an operator, slice, filter or method builds, and of
every list, tuple or dict, counting all it holds (so ``str()``, ``==`` and ``in`` on it stay
small); what is built in all; the operands of ``*``, ``**``, ``+`` and ``%`` (checked before the
operation), and every integer built (so no ``//`` or ``%`` is one step of seconds); steps (loop
iterations, calls, filter and test uses, comparisons, subscripts); macro depth; and a wall-clock
deadline checked at every step. The hooks are the sandbox's (``call``, ``call_binop``, ``getitem``,
``getattr``, ``is_safe_attribute``) plus some in the generated code (:class:`_CodeGenerator`):
every ``for`` loop draws from a counting iterator, every output buffer counts what is written to
it, and every ``~``, literal list, tuple and dict, slice and comparison goes through a check.
Filters and globals are an allow-list (:data:`FILTERS`, ``range`` and ``dict``); methods of
strings, lists and dicts too. A template over budget ends as ``TemplateError("… over budget:
<bound>")``.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import functools
import inspect
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, cast

import jinja2
from jinja2 import filters as jinja_filters
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sealer.errors import TemplateError

__all__ = ["BOUNDS", "FILTERS", "KINDS", "Bounds", "OverBudget", "render_template_data"]


@dataclass(frozen=True)
class Bounds:
    """The budget of one object's templates (all its ``template.data`` keys together)."""

    source_chars: int = 16 * 1024  # one template's source
    output_bytes: int = 1024 * 1024  # every rendered key together (a Secret holds 1 MiB)
    written_chars: int = 4 * 1024 * 1024  # everything written, into {% set %} blocks and macros too
    value_chars: int = 1024 * 1024  # one string, or one list's whole contents, that is built
    built: int = 8 * 1024 * 1024  # characters and items built in all, by every operator and filter
    items: int = 100_000  # one list (or range) an operator, filter or method builds
    steps: int = 100_000  # loop iterations, range items, calls, filters, tests, operators, compares
    int_bits: int = 4096  # any integer built (by *, **, the int filter, ...)
    width: int = 1024  # widths, paddings, batch/slice counts, round precision, tojson indent
    macro_depth: int = 32  # nested macro (and recursive loop) calls
    seconds: float = 1.0  # wall-clock, from the start of the first key


BOUNDS = Bounds()


class OverBudget(Exception):
    """A render passed one of its :class:`Bounds`; the message names the bound, nothing else."""


class _Refused(Exception):
    """A filter of ours refused its input; the message is ours and quotes nothing."""


_CONTAINERS = (list, tuple, dict, set, frozenset)

_CURRENT: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "sealops_template_budget", default=None
)


class _Budget:
    def __init__(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self.deadline = time.monotonic() + bounds.seconds
        self.steps = 0
        self.written = 0
        self.output = 0
        self.depth = 0
        self.built = 0
        # Sizes of the containers seen, by id (the object is kept, so its id is not reused).
        self._sizes: dict[int, tuple[object, int]] = {}

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > self.bounds.steps:
            raise OverBudget(f"more than {self.bounds.steps} steps (loop iterations and calls)")
        if time.monotonic() > self.deadline:
            raise OverBudget(f"took longer than {self.bounds.seconds:g} s")

    def write(self, text: object) -> None:
        if isinstance(text, str):
            self.written += len(text)
            if self.written > self.bounds.written_chars:
                raise OverBudget(f"wrote more than {self.bounds.written_chars} characters")
        self.step()

    def emit(self, chunk: str) -> None:
        self.write(chunk)
        self.output += len(chunk.encode("utf-8", "replace"))
        if self.output > self.bounds.output_bytes:
            raise OverBudget(f"output larger than {self.bounds.output_bytes} bytes")

    def check_length(self, chars: int) -> None:
        if chars > self.bounds.value_chars:
            raise OverBudget(f"a string longer than {self.bounds.value_chars} characters")

    def check_items(self, count: int) -> None:
        if count > self.bounds.items:
            raise OverBudget(f"a list longer than {self.bounds.items} items")

    def check_width(self, width: object) -> None:
        if isinstance(width, str):
            width = len(width)
        if isinstance(width, int) and abs(width) > self.bounds.width:
            raise OverBudget(f"a width or count above {self.bounds.width}")

    def _charge(self, cells: int) -> None:
        self.built += cells
        if self.built > self.bounds.built:
            raise OverBudget(f"built more than {self.bounds.built} characters and items in all")

    def size(self, value: object) -> int:
        """The cells (characters and items) in ``value``, nested containers included.

        Stops counting past the string bound. A container's contents are counted once: a list
        repeating another list counts it as often as it repeats it, which is what ``str()``,
        ``==`` and ``in`` will walk.
        """
        if isinstance(value, str | bytes):
            return len(value) + 1
        if not isinstance(value, _CONTAINERS):
            return 1
        seen = self._sizes.get(id(value))
        if seen is not None and seen[0] is value:
            return seen[1]
        total = 1
        items: Iterable[Any] = (
            (x for pair in value.items() for x in pair) if isinstance(value, dict) else value
        )
        for item in items:
            total += self.size(item)
            if total > self.bounds.value_chars:
                break
        self._sizes[id(value)] = (value, total)
        return total

    def check_value(self, value: object) -> object:
        """``value`` (just built) if it is within the size bounds; its size counts as built."""
        if isinstance(value, int):
            # However it was made (``int`` of a long base-16 or base-32 string needs no ``*``):
            # one ``//`` or ``%`` of two such integers is a single step of seconds.
            if value.bit_length() > self.bounds.int_bits:
                raise OverBudget(f"an integer above {self.bounds.int_bits} bits")
        elif isinstance(value, str | bytes):
            self.check_length(len(value))
            self._charge(len(value))
        elif isinstance(value, _CONTAINERS):
            self.check_items(len(value))
            if self.size(value) > self.bounds.value_chars:
                raise OverBudget(
                    f"a list whose contents pass {self.bounds.value_chars} characters and items"
                )
            self._charge(len(value))
        return value

    def text_size(self, value: object) -> int:
        """An upper bound of ``len(str(value))``, without building it."""
        if isinstance(value, str):
            return len(value)
        if isinstance(value, _CONTAINERS):
            return 10 * self.size(value)  # repr: quotes, separators, escapes (\U0001f600)
        return len(str(value))


def _budget() -> _Budget:
    budget = _CURRENT.get()
    if budget is None:  # only render_template_data compiles or renders with this environment
        raise OverBudget("rendered outside a budget")
    return budget


# --- formatting: widths and repetition are bounded before the string is built ------------------

_PERCENT = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_DIGITS = re.compile(r"\d+")


def _longest(budget: _Budget, values: Iterable[object]) -> int:
    return max((budget.text_size(value) for value in values), default=0)


def _check_percent(budget: _Budget, fmt: str, args: object) -> None:
    fields = 0
    for match in _PERCENT.finditer(fmt):
        if match.group(4) == "%":
            continue
        fields += 1
        for width in (match.group(2), match.group(3)):
            if width == "*":
                raise OverBudget(f"a width or count above {budget.bounds.width} ('*' widths)")
            if width is not None:
                budget.check_width(int(width))
    values: Iterable[object]
    if isinstance(args, Mapping):
        values = args.values()
    elif isinstance(args, tuple | list):
        values = args
    else:
        values = [args]
    budget.check_length(len(fmt) + fields * (_longest(budget, values) + budget.bounds.width))


def _check_braces(budget: _Budget, fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    fields = 0
    for _literal, name, spec, _conversion in string.Formatter().parse(fmt):
        if name is None:
            continue
        fields += 1
        if spec and "{" in spec:
            raise OverBudget(f"a width or count above {budget.bounds.width} (nested fields)")
        for width in _DIGITS.findall(spec or ""):
            budget.check_width(int(width))
    budget.check_length(
        len(fmt) + fields * (_longest(budget, [*args, *kwargs.values()]) + budget.bounds.width)
    )


def _check_replace(budget: _Budget, text: str, old: str, new: str, count: int | None) -> None:
    hits = (len(text) + 1) if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    budget.check_length(len(text) + hits * len(new))


def _check_join(budget: _Budget, separator: str, items: list[Any]) -> None:
    budget.check_items(len(items))
    total = len(separator) * len(items)
    for item in items:
        total += budget.text_size(item)
        budget.check_length(total)


# --- filters: an allow-list; the ones that can grow their input check their arguments first ----


def _b64enc(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def _b64dec(value: str) -> str:
    try:
        raw = base64.b64decode(value)
    except (binascii.Error, ValueError, TypeError):
        raise _Refused("b64dec: the input is not base64") from None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise _Refused("b64dec: the decoded bytes are not UTF-8 text") from None


Check = Callable[[_Budget, inspect.BoundArguments], None]


def _arg(bound: inspect.BoundArguments, name: str) -> Any:
    return bound.arguments.get(name, bound.signature.parameters[name].default)


def _check_center(budget: _Budget, bound: inspect.BoundArguments) -> None:
    budget.check_width(_arg(bound, "width"))


def _check_indent(budget: _Budget, bound: inspect.BoundArguments) -> None:
    width, text = _arg(bound, "width"), str(_arg(bound, "s"))
    budget.check_width(width)
    pad = len(width) if isinstance(width, str) else int(width)
    budget.check_length(len(text) + (text.count("\n") + 1) * max(pad, 0))


def _check_format(budget: _Budget, bound: inspect.BoundArguments) -> None:
    args, kwargs = _arg(bound, "args"), _arg(bound, "kwargs")
    _check_percent(budget, str(_arg(bound, "value")), kwargs if kwargs else tuple(args))


def _check_replace_filter(budget: _Budget, bound: inspect.BoundArguments) -> None:
    count = _arg(bound, "count")
    _check_replace(
        budget,
        str(_arg(bound, "s")),
        str(_arg(bound, "old")),
        str(_arg(bound, "new")),
        count if isinstance(count, int) else None,
    )


def _check_wordwrap(budget: _Budget, bound: inspect.BoundArguments) -> None:
    text, width = str(_arg(bound, "s")), _arg(bound, "width")
    wrap = _arg(bound, "wrapstring") or "\n"
    lines = len(text) // max(int(width), 1) + text.count("\n") + 1 if isinstance(width, int) else 1
    budget.check_length(len(text) + lines * len(str(wrap)))
    if len(text) > _WORDWRAP_CHARS:  # textwrap takes seconds, in one step, over a long string
        raise OverBudget(f"wordwrap of a string longer than {_WORDWRAP_CHARS} characters")


_WORDWRAP_CHARS = 64 * 1024


def _check_count(name: str) -> Check:
    def check(budget: _Budget, bound: inspect.BoundArguments) -> None:
        budget.check_width(_arg(bound, name))

    return check


def _check_sum(budget: _Budget, bound: inspect.BoundArguments) -> None:
    start = _arg(bound, "start")
    if not isinstance(start, int | float):  # summing lists is quadratic: numbers only
        raise _Refused("sum: adds numbers only")


def _materialize(bound: inspect.BoundArguments, name: str) -> list[Any]:
    items = list(_arg(bound, name))
    bound.arguments[name] = items
    return items


def _check_join_filter(budget: _Budget, bound: inspect.BoundArguments) -> None:
    _check_join(budget, str(_arg(bound, "d")), _materialize(bound, "value"))


def _budgeted(func: Callable[..., Any], check: Check | None = None) -> Callable[..., Any]:
    signature = inspect.signature(func) if check is not None else None

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        if check is not None and signature is not None:
            bound = signature.bind(*args, **kwargs)
            check(budget, bound)
            args, kwargs = bound.args, bound.kwargs
        return budget.check_value(func(*args, **kwargs))

    return wrapper


_PLAIN_FILTERS = [
    "abs",
    "attr",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "first",
    "float",
    "int",
    "items",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "select",
    "selectattr",
    "sort",
    "string",
    "title",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
]
_CHECKED_FILTERS: dict[str, Check] = {
    "batch": _check_count("linecount"),
    "center": _check_center,
    "format": _check_format,
    "indent": _check_indent,
    "join": _check_join_filter,
    "replace": _check_replace_filter,
    "round": _check_count("precision"),  # round(10, -10**7) computes 10**(10**7)
    "slice": _check_count("slices"),
    "sum": _check_sum,
    "tojson": _check_count("indent"),
    "wordwrap": _check_wordwrap,
}


def _sync(name: str) -> Callable[..., Any]:
    """Jinja's plain function for a filter (its async wrapper hides the real signature)."""
    func: Callable[..., Any] = (
        getattr(jinja_filters, f"sync_do_{name}", None) or (jinja_filters.FILTERS[name])
    )
    return func


#: Every filter a template may use (Jinja's builtins not listed here are not available).
FILTERS: dict[str, Callable[..., Any]] = {
    "b64enc": _budgeted(_b64enc),
    "b64dec": _budgeted(_b64dec),
    **{name: _budgeted(jinja_filters.FILTERS[name]) for name in _PLAIN_FILTERS},
    **{name: _budgeted(_sync(name), check) for name, check in _CHECKED_FILTERS.items()},
}


# --- globals --------------------------------------------------------------------------------


class _Range:
    """``range()`` whose every item drawn costs a step, so empty nested loops are bounded too."""

    def __init__(self, inner: range) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[int]:
        budget = _budget()
        for item in self._inner:
            budget.step()
            yield item

    def __reversed__(self) -> Iterator[int]:
        return iter(_Range(self._inner[::-1]))

    def __len__(self) -> int:
        return len(self._inner)

    def __contains__(self, item: object) -> bool:
        return item in self._inner

    def __getitem__(self, index: int | slice) -> int | _Range:
        if isinstance(index, slice):
            return _Range(self._inner[index])
        return self._inner[index]

    def __repr__(self) -> str:
        return repr(self._inner)


def _range(*args: int) -> _Range:
    budget = _budget()
    budget.step()
    if not all(isinstance(arg, int) for arg in args):
        raise TypeError("range() takes integers")
    inner = range(*args)
    budget.check_items(len(inner))
    return _Range(inner)


# --- methods of values: an allow-list per type --------------------------------------------------

_STR_METHODS = frozenset(
    [
        "capitalize",
        "count",
        "endswith",
        "find",
        "format",
        "isalnum",
        "isalpha",
        "isdigit",
        "islower",
        "isspace",
        "isupper",
        "join",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "title",
        "upper",
    ]
)
_METHODS: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (str, _STR_METHODS),
    (dict, frozenset({"get", "items", "keys", "values"})),
    ((list, tuple), frozenset({"count", "index"})),
    ((int, float, bytes, _Range), frozenset()),
)


# --- the environment and its generated code -----------------------------------------------------


class _Buffer(list[Any]):
    """The list the generated code writes a block's output into; every write is counted."""

    def append(self, item: Any) -> None:
        _budget().write(item)
        super().append(item)

    def extend(self, items: Iterable[Any]) -> None:
        budget = _budget()
        for item in items:
            budget.write(item)
            super().append(item)


class _CodeGenerator(CodeGenerator):
    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.sealops_buffer()")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        iterable = nodes.EnvironmentAttribute("sealops_iter", lineno=node.iter.lineno)
        node.iter = nodes.Call(iterable, [node.iter], [], None, None, lineno=node.iter.lineno)
        super().visit_For(node, frame)

    def _checked(self, visit: Callable[[Any, Frame], None], node: nodes.Expr, frame: Frame) -> None:
        self.write("environment.sealops_value(")
        visit(node, frame)
        self.write(")")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._checked(super().visit_List, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._checked(super().visit_Dict, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target: {% for a, b in ... %}
            super().visit_Tuple(node, frame)
        else:
            self._checked(super().visit_Tuple, node, frame)

    @optimizeconst
    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        # Slices are compiled to plain subscripts, not environment.getitem: check the copy.
        if isinstance(node.arg, nodes.Slice):
            self._checked(super().visit_Getitem, node, frame)
        else:
            super().visit_Getitem(node, frame)

    @optimizeconst
    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        # == and in walk their operands: each costs a step, so the deadline is checked.
        self._checked(super().visit_Compare, node, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.sealops_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Environment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            loader=jinja2.DictLoader({}),  # include, import and extends find nothing
        )
        self.filters = dict(FILTERS)
        # Jinja's tests, each use a step: select() and reject() run one per item.
        tests: Mapping[str, Callable[..., Any]] = cast(Any, self.tests)
        self.tests = {name: _budgeted(test) for name, test in tests.items()}
        self.globals = {"range": _range, "dict": _budgeted(dict)}

    # Hooks the generated code calls (nodes.EnvironmentAttribute and _CodeGenerator.buffer).

    @staticmethod
    def sealops_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        budget = _budget()
        for item in iterable:
            budget.step()
            yield item

    @staticmethod
    def sealops_buffer() -> _Buffer:
        return _Buffer()

    @staticmethod
    def sealops_join(parts: Iterable[Any]) -> str:
        budget = _budget()
        budget.step()
        items = list(parts)
        budget.check_length(sum(budget.text_size(part) for part in items))
        joined = "".join([str(part) for part in items])
        budget.check_value(joined)
        return joined

    @staticmethod
    def sealops_value(value: Any) -> Any:
        budget = _budget()
        budget.step()
        return budget.check_value(value)

    # Sandbox hooks.

    def getitem(self, obj: Any, argument: Any) -> Any:
        budget = _budget()
        budget.step()
        return budget.check_value(super().getitem(obj, argument))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().step()
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        for types, allowed in _METHODS:
            if isinstance(obj, types):
                return attr in allowed
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        fmt: str = value.__self__

        @functools.wraps(formatter)
        def checked(*args: Any, **kwargs: Any) -> str:
            _check_braces(_budget(), fmt, args, kwargs)
            return formatter(*args, **kwargs)

        return checked

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.step()
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "*":
            if ints:
                if left.bit_length() + right.bit_length() > budget.bounds.int_bits:
                    raise OverBudget(f"an integer above {budget.bounds.int_bits} bits")
            else:
                for seq, times in ((left, right), (right, left)):
                    if isinstance(times, int) and isinstance(seq, str | list | tuple):
                        count = len(seq) * max(times, 0)
                        (budget.check_length if isinstance(seq, str) else budget.check_items)(count)
        elif operator == "**" and ints and right > 0 and abs(left) > 1:
            if right * left.bit_length() > budget.bounds.int_bits:
                raise OverBudget(f"an integer above {budget.bounds.int_bits} bits")
        elif operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                budget.check_length(len(left) + len(right))
            elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
                budget.check_items(len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            _check_percent(budget, left, right)
        return budget.check_value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 else kwargs.get("count")
                _check_replace(
                    budget,
                    owner,
                    str(args[0]),
                    str(args[1]),
                    count if isinstance(count, int) else None,
                )
            elif name == "join" and args:
                items = list(args[0])
                _check_join(budget, owner, items)
                args = (items, *args[1:])
        if isinstance(__obj, LoopContext) and args:  # a recursive loop: its items count too
            args = (__self.sealops_iter(args[0]), *args[1:])
        if isinstance(__obj, Macro | LoopContext):
            budget.depth += 1
            try:
                if budget.depth > budget.bounds.macro_depth:
                    raise OverBudget(f"macros nested deeper than {budget.bounds.macro_depth}")
                result = super().call(__context, __obj, *args, **kwargs)
            finally:
                budget.depth -= 1
        else:
            result = super().call(__context, __obj, *args, **kwargs)
        return budget.check_value(result)


_ENV = _Environment()


# --- errors: a fixed category per exception class, never the exception's text -----------------

#: The category a template error reports for each exception class (the first that matches).
KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (jinja2.TemplateAssertionError, "invalid template"),
    (jinja2.TemplateSyntaxError, "syntax error"),
    (jinja2.UndefinedError, "undefined name"),
    (SecurityError, "not allowed by the sandbox"),
    (FilterArgumentError, "bad filter argument"),
    (jinja2.TemplateNotFound, "include, import and extends are not available"),
    (jinja2.TemplateRuntimeError, "runtime error"),
    (jinja2.TemplateError, "template error"),
    (RecursionError, "nested too deeply"),
    (MemoryError, "out of memory"),
    (ZeroDivisionError, "division by zero"),
    (OverflowError, "number too large"),
    (KeyError, "missing key"),
    (IndexError, "index out of range"),
    (UnicodeError, "not valid text"),
    (TypeError, "type error"),
    (ValueError, "value error"),
    (ArithmeticError, "arithmetic error"),
    (Exception, "evaluation error"),
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def _kind(exc: BaseException) -> str:
    for cls, kind in KINDS:
        if isinstance(exc, cls):
            return kind
    return "evaluation error"


def _line(exc: BaseException) -> int | None:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.lineno
    line = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:  # Jinja rewrites the traceback: template frames carry template lines
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _names(items: Iterable[str]) -> str:
    shown = sorted({name for name in items if _IDENTIFIER.fullmatch(name)})[:5]
    return ", ".join(repr(name) for name in shown)


def _detail(exc: BaseException, source: str, context: Mapping[str, str]) -> str:
    """What the template's own source says about ``exc`` (names it uses), or ''."""
    if isinstance(exc, SecurityError | FilterArgumentError) or not isinstance(
        exc, jinja2.UndefinedError | jinja2.TemplateAssertionError | jinja2.TemplateRuntimeError
    ):
        return ""
    try:
        ast = _ENV.parse(source)
    except Exception:
        return ""
    if isinstance(exc, jinja2.UndefinedError):
        missing = meta.find_undeclared_variables(ast) - set(context) - set(_ENV.globals)
        names = _names(missing)
        return f" (not among the values: {names})" if names else ""
    unknown = [n.name for n in ast.find_all(nodes.Filter) if n.name not in _ENV.filters]
    unknown_tests = [n.name for n in ast.find_all(nodes.Test) if n.name not in _ENV.tests]
    parts = []
    if names := _names(unknown):
        parts.append(f"unknown filter {names}")
    if names := _names(unknown_tests):
        parts.append(f"unknown test {names}")
    return f" ({'; '.join(parts)})" if parts else ""


def _describe(exc: BaseException, source: str, context: Mapping[str, str]) -> str:
    if isinstance(exc, OverBudget | _Refused):
        message = str(exc) if isinstance(exc, _Refused) else f"over budget: {exc}"
    else:
        message = _kind(exc) + _detail(exc, source, context)
    line = _line(exc)
    return f"line {line}: {message}" if line else message


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    """A compiled template per source: compiling is nearly all of a render's cost, and every
    reconcile renders the same sources again. A template that does not compile raises and is not
    kept; a kept one holds no value (values are passed at render time), only the user's source.
    """
    return _ENV.from_string(source)


def _render_one(template: jinja2.Template, context: Mapping[str, str], budget: _Budget) -> bytes:
    parts = []
    for chunk in template.generate(context):
        budget.emit(chunk)
        parts.append(chunk)
    return "".join(parts).encode()


def render_template_data(
    templates: Mapping[str, str],
    values: Mapping[str, bytes],
    *,
    where: str | None = None,
    bounds: Bounds = BOUNDS,
) -> dict[str, bytes]:
    """Render each template over ``values`` (decoded as UTF-8, undecodable bytes replaced).

    Returns the rendered bytes per key. Raises :class:`TemplateError` naming
    ``template.data.KEY``, the line and the kind of error, and never a value; all keys together
    are rendered under one budget (``bounds``).
    """
    if not isinstance(templates, Mapping):
        raise TemplateError(
            "must be a mapping of key to template", where=where, field="template.data"
        )
    context = {key: value.decode("utf-8", "replace") for key, value in values.items()}
    rendered: dict[str, bytes] = {}
    budget = _Budget(bounds)
    token = _CURRENT.set(budget)
    try:
        for key, source in templates.items():
            field = f"template.data.{key}"
            if not isinstance(source, str):
                raise TemplateError("must be a string", where=where, field=field)
            if len(source) > bounds.source_chars:
                raise TemplateError(
                    f"over budget: a template longer than {bounds.source_chars} characters",
                    where=where,
                    field=field,
                )
            failure: str | None = None
            try:
                template = _compiled(source)
                rendered[key] = _render_one(template, context, budget)
            except Exception as exc:
                failure = _describe(exc, source, context)
                del exc
            if failure is not None:
                # Raised outside the handler: the engine's exception (which may quote a value)
                # is neither the cause nor the context of ours.
                raise TemplateError(failure, where=where, field=field)
    finally:
        _CURRENT.reset(token)
    return rendered
