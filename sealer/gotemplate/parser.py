"""Tokens of :mod:`sealer.gotemplate.lexer` into the tree of :mod:`sealer.gotemplate.nodes`.

Follows Go's ``text/template/parse``: pipelines with ``$x :=`` / ``$x =`` declarations,
commands, operands with field chains, ``if``/``with``/``range`` with ``else`` (and ``else if``,
``else with``), ``break``/``continue`` inside ``range``. Function names are checked while
parsing, as Go does, through ``check`` (which refuses unknown and disallowed names), and so
are variables (a variable used outside the scope of its declaration is refused).
``define`` (at the top level, as in Go), ``template`` and ``block`` are read into the
:class:`~sealer.gotemplate.nodes.Tree`'s named templates.
"""

from __future__ import annotations

from collections.abc import Callable

from sealer.gotemplate import nodes as n
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.lexer import Token, tokenize
from sealer.gotemplate.literals import number, unquote

__all__ = ["parse"]

_STOPS = ("right", "pipe", "rparen")


def parse(source: str, check: Callable[[str], None]) -> n.Tree:
    """The tree of ``source``; ``check(name)`` raises for a function that may not be called."""
    parser = _Parser(tokenize(source), check)
    body, end = parser.nodes(in_range=False, top=True)
    if end is not None:
        raise GoTemplateFailure(f"unexpected {{{{{end}}}}}", parser.line)
    return n.Tree(body, tuple(parser.defines.items()))


class _Parser:
    def __init__(self, tokens: list[Token], check: Callable[[str], None]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.check = check
        self.line = 1
        self.vars = ["$"]  # the variables in scope, as Go's parser keeps them
        self.defines: dict[str, tuple[n.Node, ...]] = {}

    def peek(self, skip_space: bool = True) -> Token | None:
        while skip_space and self.pos < len(self.tokens) and self.tokens[self.pos].kind == "space":
            self.pos += 1
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, skip_space: bool = True) -> Token:
        token = self.peek(skip_space)
        if token is None:
            raise GoTemplateFailure("unexpected end of template", self.line)
        self.pos += 1
        self.line = token.line
        return token

    def expect(self, kind: str, what: str) -> Token:
        token = self.take()
        if token.kind != kind:
            raise GoTemplateFailure(f"expected {what}", token.line)
        return token

    def nodes(self, *, in_range: bool, top: bool = False) -> tuple[tuple[n.Node, ...], str | None]:
        """Nodes up to an ``{{end}}`` or ``{{else}}`` (returned: "end", "else") or the end."""
        out: list[n.Node] = []
        while (token := self.peek(skip_space=False)) is not None:
            self.take(skip_space=False)
            if token.kind == "text":
                out.append(n.Text(token.value))
                continue
            word = self.peek()
            if word is not None and word.kind == "keyword" and word.value == "define":
                if not top:
                    raise GoTemplateFailure("unexpected define in command", word.line)
                self.take()
                self.define(word.line)
                continue
            if word is not None and word.kind == "keyword":
                node = self.keyword(word, in_range=in_range)
                if isinstance(node, str):
                    return tuple(out), node
                out.append(node)
                continue
            out.append(n.Action(token.line, self.pipeline("command", allow_decl=True)))
        return tuple(out), None

    def keyword(self, word: Token, *, in_range: bool) -> n.Node | str:
        self.take()
        name = word.value
        if name in ("end", "else"):
            if name == "end":
                self.expect("right", "}} after end")
            return name
        if name in ("if", "with", "range"):
            return self.control(name, word.line, in_range=in_range)
        if name in ("break", "continue"):
            if not in_range:
                raise GoTemplateFailure(f"{{{{{name}}}}} outside {{{{range}}}}", word.line)
            self.expect("right", f"}} after {name}")
            return n.Break(word.line) if name == "break" else n.Continue(word.line)
        if name in ("template", "block"):
            return self.template(name, word.line)
        raise GoTemplateFailure(f"unexpected {name}", word.line)

    def define(self, line: int) -> None:
        """Read ``"name"}}…{{end}}`` into :attr:`defines`; its body has its own variables."""
        name = self.take()
        if name.kind not in ("string", "raw"):
            raise GoTemplateFailure("define needs a quoted name", line)
        key = unquote(name.value, line)
        self.expect("right", "}} after the define name")
        self.define_body(key, line)

    def define_body(self, key: str, line: int) -> None:
        outer, self.vars = self.vars, ["$"]
        try:
            body, end = self.nodes(in_range=False)
        finally:
            self.vars = outer
        if end != "end":
            raise GoTemplateFailure("expected end of define", line)
        if key in self.defines and self.defines[key] and body:
            raise GoTemplateFailure("template defined twice", line)
        if body or key not in self.defines:
            self.defines[key] = body

    def template(self, kind: str, line: int) -> n.Template:
        """``{{template "name" [pipeline]}}``; ``{{block …}}`` also defines the name."""
        name = self.take()
        if name.kind not in ("string", "raw"):
            raise GoTemplateFailure(f"{kind} needs a quoted name", line)
        pipe = None
        following = self.peek()
        if following is not None and following.kind != "right":
            pipe = self.pipeline(kind, allow_decl=False)
        else:
            self.expect("right", f"}} after the {kind} name")
        key = unquote(name.value, line)
        if kind == "block":
            if pipe is None:
                raise GoTemplateFailure("block needs a pipeline", line)
            self.define_body(key, line)
        return n.Template(line, key, pipe)

    def control(self, kind: str, line: int, *, in_range: bool) -> n.Node:
        mark = len(self.vars)
        try:
            return self._control(kind, line, in_range=in_range)
        finally:
            del self.vars[mark:]

    def _control(self, kind: str, line: int, *, in_range: bool) -> n.Node:
        pipe = self.pipeline(kind, allow_decl=True)
        body, end = self.nodes(in_range=in_range or kind == "range")
        orelse: tuple[n.Node, ...] = ()
        if end is None:
            raise GoTemplateFailure(f"unexpected end of template in {kind}", line)
        if end == "else":
            following = self.peek()
            if kind != "range" and following is not None and following.value in ("if", "with"):
                # ``{{else if …}}`` is ``{{else}}{{if …}}…{{end}}{{end}}`` sharing one end.
                self.take()
                orelse = (self.control(following.value, following.line, in_range=in_range),)
            else:
                self.expect("right", "}} after else")
                orelse, end = self.nodes(in_range=in_range)
                if end != "end":
                    raise GoTemplateFailure(f"expected end in {kind}", line)
        if kind == "range":
            return n.Range(line, pipe, body, orelse)
        return n.Branch(kind, line, pipe, body, orelse)

    def declarations(self) -> tuple[tuple[str, ...], bool]:
        start = self.pos
        names: list[str] = []
        while (token := self.peek()) is not None and token.kind == "var":
            self.take()
            names.append(token.value)
            after = self.peek()
            if after is not None and after.kind in ("declare", "assign"):
                self.take()
                return tuple(names), after.kind == "assign"
            if after is None or after.kind != "comma" or len(names) == 2:
                break
            self.take()
        self.pos = start
        return (), False

    def pipeline(self, context: str, *, allow_decl: bool, close: str = "right") -> n.Pipe:
        line = self.line
        decls, assign = self.declarations() if allow_decl else ((), False)
        if len(decls) == 2 and context != "range":
            raise GoTemplateFailure("too many declarations in " + context, line)
        cmds: list[n.Command] = []
        while True:
            cmds.append(self.command())
            token = self.take()
            if token.kind == close:
                break
            if token.kind != "pipe":
                raise GoTemplateFailure(f"unexpected token in {context}", token.line)
        self.vars.extend(decls)
        for stage, cmd in enumerate(cmds[1:], start=2):
            if isinstance(cmd.args[0], n.Bool | n.Dot | n.Nil | n.Number | n.String):
                raise GoTemplateFailure(f"non executable command in pipeline stage {stage}", line)
        return n.Pipe(line, decls, assign, tuple(cmds))

    def command(self) -> n.Command:
        args: list[n.Operand] = []
        while (token := self.peek()) is not None and token.kind not in _STOPS:
            args.append(self.operand())
            after = self.peek(skip_space=False)
            if after is not None and after.kind not in ("space", *_STOPS):
                raise GoTemplateFailure("missing space between operands", after.line)
        if not args:
            raise GoTemplateFailure("missing value for command", self.line)
        return n.Command(tuple(args))

    def operand(self) -> n.Operand:
        term = self.term()
        after = self.peek(skip_space=False)
        if after is not None and after.kind == "field":
            self.take(skip_space=False)
            names = tuple(after.value[1:].split("."))
            if isinstance(term, n.Field):
                return n.Field(term.names + names)
            if isinstance(term, n.Var):
                return n.Var(term.name, term.names + names)
            if isinstance(term, n.Bool | n.String | n.Number | n.Nil | n.Dot):
                raise GoTemplateFailure("unexpected field after a constant", after.line)
            return n.Chain(term, names)
        return term

    def term(self) -> n.Operand:
        token = self.take()
        kind, value = token.kind, token.value
        if kind == "ident":
            try:
                self.check(value)
            except GoTemplateFailure as failure:
                raise failure.at(token.line) from None
            return n.Ident(value)
        if kind == "field":
            return n.Field(tuple(value[1:].split(".")))
        if kind == "var":
            if value not in self.vars:
                raise GoTemplateFailure(f'undefined variable "{value}"', token.line)
            return n.Var(value)
        if kind == "dot":
            return n.Dot()
        if kind == "bool":
            return n.Bool(value == "true")
        if kind in ("string", "raw"):
            return n.String(unquote(value, token.line))
        if kind in ("number", "char"):
            return number(value, token.line)
        if kind == "keyword" and value == "nil":
            return n.Nil()
        if kind == "lparen":
            return self.pipeline("parenthesized pipeline", allow_decl=False, close="rparen")
        raise GoTemplateFailure(f"unexpected {kind} in operand", token.line)
