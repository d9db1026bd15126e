"""Sandboxed Jinja2 rendering for ``spec.template.data`` (SealedSecret and VaultSecret).

Templates see the decrypted (or resolved) values as strings, and may combine them; nothing else.
The sandbox forbids attribute tricks, and ``StrictUndefined`` turns a reference to a key that does
not exist into an error, instead of an empty value.

**Errors never quote the engine.** Jinja's messages (and Python's, for an operand that fails)
quote values: ``{{ {}[password] }}`` says ``'dict object' has no attribute '<the password>'``. A
:class:`~sealer.errors.TemplateError` therefore names the field (``template.data.KEY``), the line,
and a fixed category per exception class (:data:`KINDS`); what it adds beyond that comes from
the template's own source (undefined or unknown names), which is not secret.

**Every render is under a budget** (:class:`Bounds`, one
:class:`~sealer.templating.budget.Budget` per object): the template's size; the output's size;
the characters written anywhere (``{% set %}`` blocks and macro bodies included); the size of
every string an operator, slice, filter or method builds, and of every list, tuple or dict,
counting all it holds (so ``str()``, ``==`` and ``in`` on it stay small); what is built in all;
the operands of ``*``, ``**``, ``+`` and ``%`` (checked before the operation), and every integer
built (so no ``//`` or ``%`` is one step of seconds); steps (loop iterations, calls, filter and
test uses, comparisons, subscripts); macro depth; and a wall-clock deadline checked at every step.
The hooks are the sandbox's (``call``, ``call_binop``, ``getitem``, ``getattr``,
``is_safe_attribute``) plus some in the generated code
(:class:`~sealer.templating.codegen.BudgetCodeGenerator`): every ``for`` loop draws from a
counting iterator, every output buffer counts what is written to it, and every ``~``, literal
list, tuple and dict, slice and comparison goes through a check. Filters and globals are an
allow-list (:data:`FILTERS`, ``range`` and ``dict``); methods of strings, lists and dicts too. A
template over budget ends as ``TemplateError("… over budget: <bound>")``.

The modules, each owning one part: :mod:`~sealer.templating.budget` (the bounds and the meter),
:mod:`~sealer.templating.pricing` (string operations priced before they are built),
:mod:`~sealer.templating.filters` (the filter allow-list), :mod:`~sealer.templating.codegen`
(counters in the generated code), :mod:`~sealer.templating.sandbox` (the environment and its
hooks), :mod:`~sealer.templating.errors` (what a failure reports) and
:mod:`~sealer.templating.render` (the entry point).
"""

from __future__ import annotations

from sealer.templating.budget import BOUNDS, Bounds, OverBudget
from sealer.templating.errors import KINDS
from sealer.templating.filters import FILTERS
from sealer.templating.render import render_template_data

__all__ = ["BOUNDS", "FILTERS", "KINDS", "Bounds", "OverBudget", "render_template_data"]
