"""The sandboxed Jinja2 environment every template is compiled and run in.

:class:`Environment` is Jinja's immutable sandbox with our hooks: every call, operator,
subscript and attribute costs a step and has its result checked (``call``, ``call_binop``,
``getitem``, ``getattr``); ``is_safe_attribute`` allows only the listed methods of strings, lists
and dicts; ``str.format`` is priced first. The code it generates
(:mod:`sealer.templating.codegen`) calls back into ``sealops_*`` hooks here. Globals are
``range`` (each item drawn a step) and ``dict``; the filters are
:data:`~sealer.templating.filters.FILTERS`. There is no loader: ``include``, ``import`` and
``extends`` find nothing. :data:`ENV` is the one environment (compiled templates are cached by
:mod:`sealer.templating.render`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

import jinja2
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sealer.templating.budget import OverBudget, current_budget
from sealer.templating.codegen import BudgetCodeGenerator, Buffer
from sealer.templating.filters import FILTERS, budgeted
from sealer.templating.pricing import check_braces, check_join, check_percent, check_replace

__all__ = ["ENV", "Environment"]


class _Range:
    """``range()`` whose every item drawn costs a step, so empty nested loops are bounded too."""

    def __init__(self, inner: range) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[int]:
        budget = current_budget()
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
    budget = current_budget()
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


class Environment(ImmutableSandboxedEnvironment):
    code_generator_class = BudgetCodeGenerator
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
        self.tests = {name: budgeted(test) for name, test in tests.items()}
        self.globals = {"range": _range, "dict": budgeted(dict)}

    # Hooks the generated code calls (nodes.EnvironmentAttribute and BudgetCodeGenerator.buffer).

    @staticmethod
    def sealops_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        budget = current_budget()
        for item in iterable:
            budget.step()
            yield item

    @staticmethod
    def sealops_buffer() -> Buffer:
        return Buffer()

    @staticmethod
    def sealops_join(parts: Iterable[Any]) -> str:
        budget = current_budget()
        budget.step()
        items = list(parts)
        budget.check_length(sum(budget.text_size(part) for part in items))
        joined = "".join([str(part) for part in items])
        budget.check_value(joined)
        return joined

    @staticmethod
    def sealops_value(value: Any) -> Any:
        budget = current_budget()
        budget.step()
        return budget.check_value(value)

    # Sandbox hooks.

    def getitem(self, obj: Any, argument: Any) -> Any:
        budget = current_budget()
        budget.step()
        return budget.check_value(super().getitem(obj, argument))

    def getattr(self, obj: Any, attribute: str) -> Any:
        current_budget().step()
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
            check_braces(current_budget(), fmt, args, kwargs)
            return formatter(*args, **kwargs)

        return checked

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
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
            check_percent(budget, left, right)
        return budget.check_value(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.step()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(__obj, "__name__", "")
            if name == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 else kwargs.get("count")
                check_replace(
                    budget,
                    owner,
                    str(args[0]),
                    str(args[1]),
                    count if isinstance(count, int) else None,
                )
            elif name == "join" and args:
                items = list(args[0])
                check_join(budget, owner, items)
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


ENV = Environment()
