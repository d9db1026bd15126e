"""What a failed render reports: a fixed category per exception class, never the exception's text.

Jinja's messages (and Python's, for an operand that fails) quote values, so :func:`describe`
never reads them: it gives the line, the category from :data:`KINDS`, and what the template's own
source says (undefined names, unknown filters and tests), which is not secret. Over-budget and
refused-filter errors give their own message, which is ours and quotes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import TracebackType

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import FilterArgumentError, SecurityError

from sealer.templating.budget import OverBudget
from sealer.templating.filters import Refused
from sealer.templating.sandbox import ENV

__all__ = ["KINDS", "describe"]

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


def _detail(exc: BaseException, source: str, context: Mapping[str, object]) -> str:
    """What the template's own source says about ``exc`` (names it uses), or ''."""
    if isinstance(exc, SecurityError | FilterArgumentError) or not isinstance(
        exc, jinja2.UndefinedError | jinja2.TemplateAssertionError | jinja2.TemplateRuntimeError
    ):
        return ""
    try:
        ast = ENV.parse(source)
    except Exception:
        return ""
    if isinstance(exc, jinja2.UndefinedError):
        missing = meta.find_undeclared_variables(ast) - set(context) - set(ENV.globals)
        names = _names(missing)
        return f" (not among the values: {names})" if names else ""
    unknown = [n.name for n in ast.find_all(nodes.Filter) if n.name not in ENV.filters]
    unknown_tests = [n.name for n in ast.find_all(nodes.Test) if n.name not in ENV.tests]
    parts = []
    if names := _names(unknown):
        parts.append(f"unknown filter {names}")
    if names := _names(unknown_tests):
        parts.append(f"unknown test {names}")
    return f" ({'; '.join(parts)})" if parts else ""


def describe(exc: BaseException, source: str, context: Mapping[str, object]) -> str:
    if isinstance(exc, OverBudget | Refused):
        message = str(exc) if isinstance(exc, Refused) else f"over budget: {exc}"
    else:
        message = _kind(exc) + _detail(exc, source, context)
    line = _line(exc)
    return f"line {line}: {message}" if line else message
