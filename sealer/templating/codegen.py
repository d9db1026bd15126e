"""The code Jinja generates for a template, with counters compiled in.

The sandbox's hooks see calls and operators, not loops, output or literals. The generator here
adds them: every ``for`` loop draws from a counting iterator, every output buffer is a
:class:`Buffer` that counts what is written to it, and every ``~``, literal list, tuple and dict,
slice and comparison goes through a check. The generated code calls the ``sealops_*`` hooks of
:class:`sealer.templating.sandbox.Environment`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst

from sealer.templating.budget import current_budget

__all__ = ["BudgetCodeGenerator", "Buffer"]


class Buffer(list[Any]):
    """The list the generated code writes a block's output into; every write is counted."""

    def append(self, item: Any) -> None:
        current_budget().write(item)
        super().append(item)

    def extend(self, items: Iterable[Any]) -> None:
        budget = current_budget()
        for item in items:
            budget.write(item)
            super().append(item)


class BudgetCodeGenerator(CodeGenerator):
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
