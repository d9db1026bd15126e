"""Rendering an object's Bitnami ``template.data`` (Go ``text/template`` with Sprig).

:func:`render_go_template_data` renders each template with the decrypted values as dot, a Go
``map[string]string`` (``{{ .password }}``, ``{{ index . "tls.crt" }}``), as Bitnami's
controller does. All keys share one :class:`~sealer.templating.budget.Budget` (source size,
output size, steps, value sizes, a deadline). A template that cannot be rendered raises one
:class:`~sealer.errors.TemplateError` naming ``template.data.KEY``, the line and the construct,
never a value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from sealer.gotemplate.executor import Executor
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.funcmap import FUNCS, check_function
from sealer.gotemplate.literals import gostr
from sealer.gotemplate.nodes import Tree
from sealer.gotemplate.parser import parse
from sealer.gotemplate.values import StrMap
from sealer.templating.budget import BOUNDS, Bounds, Budget, OverBudget, render_each

__all__ = ["render_go_template", "render_go_template_data"]


@functools.lru_cache(maxsize=256)
def _tree(source: str) -> Tree:
    """The parsed tree per source (immutable, and holding no value): every reconcile renders
    the same sources again. A source that does not parse raises and is not kept."""
    return parse(source, check_function)


def render_go_template(source: str, values: Mapping[str, bytes], budget: Budget) -> bytes:
    """One template over ``values``; raises :class:`GoTemplateFailure` or :class:`OverBudget`."""
    tree = _tree(source)
    parts: list[str] = []

    def emit(chunk: str) -> None:
        budget.emit(chunk)
        parts.append(chunk)

    root = StrMap({key: gostr(value) for key, value in values.items()})
    Executor(FUNCS, budget, emit, root, dict(tree.defines)).run(tree.body)
    return "".join(parts).encode("utf-8", "surrogateescape")


def _failure(exc: Exception) -> str:
    """Our own message for ``exc``: never the text of an exception we did not write."""
    if isinstance(exc, GoTemplateFailure):
        return exc.describe()
    if isinstance(exc, OverBudget):
        return f"over budget: {exc}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "evaluation error"


def render_go_template_data(
    templates: Mapping[str, object],
    values: Mapping[str, bytes],
    *,
    where: str | None = None,
    bounds: Bounds = BOUNDS,
) -> dict[str, bytes]:
    """Render each Go template over ``values``: the rendered bytes per key.

    Raises :class:`TemplateError` naming ``template.data.KEY``, and never a value.
    """
    return render_each(
        templates,
        lambda source, budget: render_go_template(source, values, budget),
        lambda exc, source: _failure(exc),
        where=where,
        bounds=bounds,
    )
