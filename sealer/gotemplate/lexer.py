"""Go ``text/template`` source into tokens: text between actions, and the words of each action.

Follows Go's ``text/template/parse/lex.go``: ``{{`` and ``}}`` delimiters, the trim markers
``{{- `` and `` -}}`` (a space on the inner side), comments ``{{/* … */}}`` right inside the
delimiters, strings, raw strings, characters, numbers, fields, variables and keywords. Called by
:mod:`sealer.gotemplate.parser`; errors are :class:`~sealer.gotemplate.failure.GoTemplateFailure`
naming the line and the construct, never the source text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sealer.gotemplate.failure import GoTemplateFailure

__all__ = ["KEYWORDS", "Token", "tokenize"]

KEYWORDS = frozenset(
    (
        "block",
        "break",
        "continue",
        "define",
        "else",
        "end",
        "if",
        "nil",
        "range",
        "template",
        "with",
    )
)
_SPACE = " \t\r\n"


@dataclass(frozen=True)
class Token:
    kind: str  # text left right space ident keyword bool field dot var string raw char number
    # lparen rparen pipe declare assign comma
    value: str
    line: int


_WORDS = re.compile(
    r"""(?P<raw>`[^`]*`)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<char>'(?:[^'\\\n]|\\[^\n]+?)')
    |(?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+
        |(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?)(?:i)?)
    |(?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
    |(?P<dot>\.)
    |(?P<var>\$[A-Za-z0-9_]*)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<declare>:=)
    |(?P<assign>=)
    |(?P<lparen>\()
    |(?P<rparen>\))
    |(?P<pipe>\|)
    |(?P<comma>,)
    """,
    re.VERBOSE,
)


def _text_end(source: str, start: int) -> tuple[int, bool]:
    """Where the text from ``start`` ends (the next ``{{``), and whether it is trimmed."""
    left = source.find("{{", start)
    if left < 0:
        return len(source), False
    trim = source.startswith("{{- ", left) or (
        source.startswith("{{-", left) and left + 3 < len(source) and source[left + 3] in _SPACE
    )
    return left, trim


def tokenize(source: str) -> list[Token]:
    """Every token of ``source``; text already trimmed where a trim marker asks for it."""
    tokens: list[Token] = []
    pos, line, trim_next = 0, 1, False
    while pos < len(source):
        end, trim = _text_end(source, pos)
        text = source[pos:end]
        if trim_next:
            text = text.lstrip(_SPACE)
        if trim:
            text = text.rstrip(_SPACE)
        if text:
            tokens.append(Token("text", text, line))
        line += source.count("\n", pos, end)
        if end >= len(source):
            break
        pos, line, trim_next = _action(source, end + (4 if trim else 2), line, tokens)
    return tokens


def _comment(source: str, pos: int, line: int) -> tuple[int, int, bool]:
    close = source.find("*/", pos + 2)
    if close < 0:
        raise GoTemplateFailure("unclosed comment", line)
    after = close + 2
    line += source.count("\n", pos, after)
    if source.startswith(" -}}", after):
        return after + 4, line, True
    if source.startswith("}}", after):
        return after + 2, line, False
    raise GoTemplateFailure("comment ends before closing delimiter", line)


def _action(source: str, pos: int, line: int, tokens: list[Token]) -> tuple[int, int, bool]:
    """Lex one action from just inside its ``{{``; returns the position after ``}}``."""
    if source.startswith("/*", pos):
        return _comment(source, pos, line)
    tokens.append(Token("left", "{{", line))
    depth = 0
    while True:
        if pos >= len(source):
            raise GoTemplateFailure("unclosed action", line)
        if source[pos] in _SPACE:
            run = pos
            while run < len(source) and source[run] in _SPACE:
                run += 1
            line += source.count("\n", pos, run)
            if source.startswith("-}}", run):
                tokens.append(Token("right", "}}", line))
                return run + 3, line, True
            tokens.append(Token("space", " ", line))
            pos = run
            continue
        if source.startswith("}}", pos):
            if depth:
                raise GoTemplateFailure("unclosed left parenthesis", line)
            tokens.append(Token("right", "}}", line))
            return pos + 2, line, False
        match = _WORDS.match(source, pos)
        if match is None:
            raise GoTemplateFailure("unrecognized character in action", line)
        kind = match.lastgroup or ""
        word = match.group()
        if kind == "word":
            kind = "keyword" if word in KEYWORDS else "bool" if word in ("true", "false") else kind
            kind = "ident" if kind == "word" else kind
        depth += {"lparen": 1, "rparen": -1}.get(kind, 0)
        if depth < 0:
            raise GoTemplateFailure("unexpected right parenthesis", line)
        tokens.append(Token(kind, word, line))
        line += word.count("\n")
        pos = match.end()
