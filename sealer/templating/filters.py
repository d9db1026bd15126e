"""The filters a template may use: an allow-list, each use a step under the budget.

:data:`FILTERS` holds ``b64enc`` and ``b64dec`` (ours) and the Jinja builtins we allow; the ones
that can grow their input (``center``, ``indent``, ``format``, ``replace``, ``join``, ``wordwrap``,
counts and widths) check their arguments first. :func:`budgeted` wraps any callable so that it
costs a step and its result is checked against the budget; the sandbox uses it for Jinja's tests
and the ``dict`` global too. A filter of ours that refuses its input raises :class:`Refused`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
from collections.abc import Callable
from typing import Any

from jinja2 import filters as jinja_filters

from sealer.templating.budget import Budget, OverBudget, current_budget
from sealer.templating.pricing import check_join, check_percent, check_replace

__all__ = ["FILTERS", "Refused", "budgeted"]


class Refused(Exception):
    """A filter of ours refused its input; the message is ours and quotes nothing."""


def _b64enc(value: str | bytes) -> str:
    # surrogateescape: a binary value's bytes, as they came in (see render_template_data)
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def _b64dec(value: str) -> str:
    try:
        raw = base64.b64decode(value)
    except (binascii.Error, ValueError, TypeError):
        raise Refused("b64dec: the input is not base64") from None
    return raw.decode("utf-8", "surrogateescape")  # binary bytes go out unchanged


Check = Callable[[Budget, inspect.BoundArguments], None]


def _arg(bound: inspect.BoundArguments, name: str) -> Any:
    return bound.arguments.get(name, bound.signature.parameters[name].default)


def _check_center(budget: Budget, bound: inspect.BoundArguments) -> None:
    budget.check_width(_arg(bound, "width"))


def _check_indent(budget: Budget, bound: inspect.BoundArguments) -> None:
    width, text = _arg(bound, "width"), str(_arg(bound, "s"))
    budget.check_width(width)
    pad = len(width) if isinstance(width, str) else int(width)
    budget.check_length(len(text) + (text.count("\n") + 1) * max(pad, 0))


def _check_format(budget: Budget, bound: inspect.BoundArguments) -> None:
    args, kwargs = _arg(bound, "args"), _arg(bound, "kwargs")
    check_percent(budget, str(_arg(bound, "value")), kwargs if kwargs else tuple(args))


def _check_replace_filter(budget: Budget, bound: inspect.BoundArguments) -> None:
    count = _arg(bound, "count")
    check_replace(
        budget,
        str(_arg(bound, "s")),
        str(_arg(bound, "old")),
        str(_arg(bound, "new")),
        count if isinstance(count, int) else None,
    )


def _check_wordwrap(budget: Budget, bound: inspect.BoundArguments) -> None:
    text, width = str(_arg(bound, "s")), _arg(bound, "width")
    wrap = _arg(bound, "wrapstring") or "\n"
    lines = len(text) // max(int(width), 1) + text.count("\n") + 1 if isinstance(width, int) else 1
    budget.check_length(len(text) + lines * len(str(wrap)))
    if len(text) > _WORDWRAP_CHARS:  # textwrap takes seconds, in one step, over a long string
        raise OverBudget(f"wordwrap of a string longer than {_WORDWRAP_CHARS} characters")


_WORDWRAP_CHARS = 64 * 1024


def _check_count(name: str) -> Check:
    def check(budget: Budget, bound: inspect.BoundArguments) -> None:
        budget.check_width(_arg(bound, name))

    return check


def _check_sum(budget: Budget, bound: inspect.BoundArguments) -> None:
    start = _arg(bound, "start")
    if not isinstance(start, int | float):  # summing lists is quadratic: numbers only
        raise Refused("sum: adds numbers only")


def _materialize(bound: inspect.BoundArguments, name: str) -> list[Any]:
    items = list(_arg(bound, name))
    bound.arguments[name] = items
    return items


def _check_join_filter(budget: Budget, bound: inspect.BoundArguments) -> None:
    check_join(budget, str(_arg(bound, "d")), _materialize(bound, "value"))


def budgeted(func: Callable[..., Any], check: Check | None = None) -> Callable[..., Any]:
    signature = inspect.signature(func) if check is not None else None

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
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
    "b64enc": budgeted(_b64enc),
    "b64dec": budgeted(_b64dec),
    **{name: budgeted(jinja_filters.FILTERS[name]) for name in _PLAIN_FILTERS},
    **{name: budgeted(_sync(name), check) for name, check in _CHECKED_FILTERS.items()},
}
