"""What a string operation will build, priced before it is built.

A ``%`` or ``str.format`` format with a wide field, a ``replace`` of ``""``, a ``join`` of many
long items: each can build far more than its operands hold in one step. These checks take the
operands and raise :class:`~sealer.templating.budget.OverBudget` if the result would pass the
budget's width or string bound, before Python builds it. Called by the filters
(:mod:`sealer.templating.filters`) and the sandbox's hooks (:mod:`sealer.templating.sandbox`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

from sealer.templating.budget import Budget, OverBudget

__all__ = ["check_braces", "check_join", "check_percent", "check_replace"]

_PERCENT = re.compile(r"%(\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.DOTALL)
_DIGITS = re.compile(r"\d+")


def _longest(budget: Budget, values: Iterable[object]) -> int:
    return max((budget.text_size(value) for value in values), default=0)


def check_percent(budget: Budget, fmt: str, args: object) -> None:
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


def check_braces(budget: Budget, fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
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


def check_replace(budget: Budget, text: str, old: str, new: str, count: int | None) -> None:
    hits = (len(text) + 1) if old == "" else text.count(old)
    if count is not None and count >= 0:
        hits = min(hits, count)
    budget.check_length(len(text) + hits * len(new))


def check_join(budget: Budget, separator: str, items: list[Any]) -> None:
    budget.check_items(len(items))
    total = len(separator) * len(items)
    for item in items:
        total += budget.text_size(item)
        budget.check_length(total)
