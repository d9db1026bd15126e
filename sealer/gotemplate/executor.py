"""Running a parsed Go template over a dot value, as Go's ``text/template/exec.go`` does.

:class:`Executor` walks the tree: text and actions are written through ``emit``; ``if``,
``with`` and ``range`` (lists, maps in key order, integers; ``break``, ``continue``, ``else``)
open a variable scope; pipelines pass each command's value as the next command's last argument;
fields read map keys (a missing key is ``<no value>``); ``and``/``or`` stop at the first
deciding operand. Every command and iteration is a step of the object's budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sealer.gotemplate import nodes as n
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.functions import GoFunc, constant, convert, ideal
from sealer.gotemplate.values import NO_VALUE, go_type, nil_if_missing, shown, truth
from sealer.templating.budget import Budget, OverBudget

__all__ = ["Executor"]

_NO_FINAL = object()  # the first command of a pipeline has no previous value
_CONSTANTS = (n.Bool, n.Number, n.String, n.Nil)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    def __init__(
        self,
        funcs: Mapping[str, GoFunc],
        budget: Budget,
        emit: Callable[[str], None],
        root: object,
        defines: Mapping[str, tuple[n.Node, ...]] | None = None,
    ) -> None:
        self.funcs = funcs
        self.defines = defines or {}
        self.budget = budget
        self.emit = emit
        self.vars: list[tuple[str, object]] = [("$", root)]
        self.line = 1

    def run(self, body: tuple[n.Node, ...]) -> None:
        try:
            self.walk(self.vars[0][1], body)
        except GoTemplateFailure as failure:
            raise failure.at(self.line) from None
        except OverBudget as exc:
            raise GoTemplateFailure(f"over budget: {exc}", self.line) from None

    def walk(self, dot: object, body: tuple[n.Node, ...]) -> None:
        for node in body:
            self.budget.step()
            if isinstance(node, n.Text):
                self.emit(node.text)
            elif isinstance(node, n.Action):
                self.line = node.line
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decls:
                    self.emit(shown(value))
            elif isinstance(node, n.Branch):
                self.branch(dot, node)
            elif isinstance(node, n.Range):
                self.range(dot, node)
            elif isinstance(node, n.Template):
                self.template(dot, node)
            elif isinstance(node, n.Break):
                raise _Break
            else:
                raise _Continue

    def template(self, dot: object, node: n.Template) -> None:
        """Run a named template with the pipeline's value (or nil) as dot and as ``$``."""
        self.line = node.line
        body = self.defines.get(node.name)
        if body is None:
            raise GoTemplateFailure("no such template", node.line)
        value = None if node.pipe is None else nil_if_missing(self.pipeline(dot, node.pipe))
        budget = self.budget
        budget.depth += 1
        if budget.depth > budget.bounds.macro_depth:
            raise OverBudget(f"templates nested deeper than {budget.bounds.macro_depth}")
        outer, self.vars = self.vars, [("$", value)]
        try:
            self.walk(value, body)
        finally:
            self.vars = outer
            budget.depth -= 1
            self.line = node.line

    def branch(self, dot: object, node: n.Branch) -> None:
        mark = len(self.vars)
        self.line = node.line
        value = self.pipeline(dot, node.pipe)
        if truth(value):
            self.walk(value if node.kind == "with" else dot, node.body)
        elif node.orelse:
            self.walk(dot, node.orelse)
        del self.vars[mark:]

    def _items(self, value: object, decls: int) -> list[tuple[object, object]]:
        if value is None or value is NO_VALUE:
            return []
        if isinstance(value, list | tuple):
            return list(enumerate(value))
        if isinstance(value, dict):
            keys = sorted(value, key=lambda k: str(k).encode("utf-8", "surrogateescape"))
            return [(key, value[key]) for key in keys]
        if isinstance(value, int) and not isinstance(value, bool):
            if decls > 1:
                raise GoTemplateFailure("can't use a second variable ranging over an integer")
            self.budget.check_items(max(value, 0))
            return [(i, i) for i in range(max(value, 0))]
        raise GoTemplateFailure(f"range can't iterate over {go_type(value)}", self.line)

    def range(self, dot: object, node: n.Range) -> None:
        outer = len(self.vars)
        self.line = node.line
        if node.pipe.assign:
            raise GoTemplateFailure("assignment in range is not supported", node.line)
        value = self.pipeline(dot, node.pipe)
        decls = node.pipe.decls
        try:
            items = self._items(value, len(decls))
        except GoTemplateFailure as failure:
            raise failure.at(node.line) from None
        mark = len(self.vars)
        for key, elem in items:
            self.budget.step()
            if decls:
                self.vars[mark - 1] = (decls[-1], elem)
            if len(decls) == 2:
                self.vars[mark - 2] = (decls[0], key)
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]
        if not items and node.orelse:
            self.walk(dot, node.orelse)
        del self.vars[outer:]

    def pipeline(self, dot: object, pipe: n.Pipe) -> object:
        value: object = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
        for name in pipe.decls:
            if pipe.assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def set_var(self, name: str, value: object) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        raise GoTemplateFailure(f"undefined variable: {name}", self.line)

    def var(self, name: str) -> object:
        for var_name, value in reversed(self.vars):
            if var_name == name:
                return value
        raise GoTemplateFailure(f"undefined variable: {name}", self.line)

    def command(self, dot: object, cmd: n.Command, final: object) -> object:
        self.budget.step()
        first, args = cmd.args[0], cmd.args[1:]
        if isinstance(first, n.Ident):
            return self.call(dot, first.name, args, final)
        if isinstance(first, n.Field):
            return self.fields(dot, first.names, bool(args) or final is not _NO_FINAL)
        if args or final is not _NO_FINAL:
            raise GoTemplateFailure("can't give argument to non-function", self.line)
        if isinstance(first, n.Nil):
            raise GoTemplateFailure("nil is not a command", self.line)
        if isinstance(first, n.Number):
            return ideal(first)
        if isinstance(first, n.Bool | n.String):
            return first.value
        return self.operand(dot, first)

    def operand(self, dot: object, node: n.Operand) -> object:
        """The value of an operand that is not a constant."""
        if isinstance(node, n.Dot):
            return dot
        if isinstance(node, n.Var):
            return self.fields(self.var(node.name), node.names, False)
        if isinstance(node, n.Field):
            return self.fields(dot, node.names, False)
        if isinstance(node, n.Chain):
            return self.fields(self.operand(dot, node.node), node.names, False)
        if isinstance(node, n.Pipe):
            return self.pipeline(dot, node)
        if isinstance(node, n.Ident):
            return self.call(dot, node.name, (), _NO_FINAL)
        return constant(node, "any")

    def fields(self, receiver: object, names: tuple[str, ...], has_args: bool) -> object:
        for i, name in enumerate(names):
            if receiver is NO_VALUE:
                return NO_VALUE
            if receiver is None:
                raise GoTemplateFailure(f"nil pointer evaluating interface {{}}.{name}", self.line)
            if not isinstance(receiver, dict):
                raise GoTemplateFailure(
                    f"can't evaluate field {name} in type {go_type(receiver)}", self.line
                )
            if has_args and i == len(names) - 1:
                raise GoTemplateFailure(f"{name} is not a method but has arguments", self.line)
            receiver = receiver.get(name, NO_VALUE)
        return receiver

    def argument(self, dot: object, node: n.Operand, kind: str) -> object:
        if isinstance(node, _CONSTANTS):
            return constant(node, kind)
        return convert(self.operand(dot, node), kind)

    def call(self, dot: object, name: str, args: tuple[n.Operand, ...], final: object) -> object:
        if name in ("and", "or"):
            return self.logic(dot, name, args, final)
        func = self.funcs[name]
        count = len(args) + (final is not _NO_FINAL)
        try:
            func.check_count(name, count)
            values = [self.argument(dot, arg, func.kind(i)) for i, arg in enumerate(args)]
            if final is not _NO_FINAL:
                values.append(convert(final, func.kind(len(args))))
            result = func.fn(*values)
        except GoTemplateFailure as failure:
            if failure.line is None and not failure.message.startswith("error calling"):
                failure.message = f"error calling {name}: {failure.message}"
            raise failure.at(self.line) from None
        self.budget.check_value(result)
        return result

    def logic(self, dot: object, name: str, args: tuple[n.Operand, ...], final: object) -> object:
        """``and``/``or``: operands are evaluated only until one decides (Go 1.18)."""
        if len(args) + (final is not _NO_FINAL) < 1:
            raise GoTemplateFailure(f"wrong number of args for {name}: want at least 1", self.line)
        value: object = None
        for arg in args:
            value = nil_if_missing(self.argument(dot, arg, "any"))
            if truth(value) == (name == "or"):
                return value
        if final is not _NO_FINAL:
            value = nil_if_missing(final)
        return value
