"""Go literals in templates: quoted and raw strings, characters and numbers.

Strings are Go strings, so bytes: ``"\\xff"`` is one byte. The engine holds a Go string as a
Python ``str`` whose undecodable bytes are surrogate escapes (``\\udcff``), so every byte
survives to the output (encoded with ``surrogateescape``).
"""

from __future__ import annotations

import re

from sealer.gotemplate import nodes as n
from sealer.gotemplate.failure import GoTemplateFailure

__all__ = ["gostr", "number", "unquote"]

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.S)


def gostr(data: bytes) -> str:
    """The engine's form of a Go string holding ``data``."""
    return data.decode("utf-8", "surrogateescape")


def _escape(match: re.Match[str], line: int, quote: str) -> bytes:
    code = match.group(1)
    if code[0] == "x":
        return bytes([int(code[1:], 16)])
    if code[0] in "uU":
        point = int(code[1:], 16)
        if point > 0x10FFFF or 0xD800 <= point <= 0xDFFF:
            raise GoTemplateFailure("invalid escape in a quoted string", line)
        return chr(point).encode()
    if code[0] in "01234567" and len(code) == 3:
        if int(code, 8) > 255:
            raise GoTemplateFailure("invalid escape in a quoted string", line)
        return bytes([int(code, 8)])
    if code in _SIMPLE and (code not in "'\"" or code == quote):
        return bytes([_SIMPLE[code]])
    raise GoTemplateFailure("invalid escape in a quoted string", line)


def _unescape(body: str, line: int, quote: str) -> bytes:
    out = bytearray()
    pos = 0
    for match in _ESCAPE.finditer(body):
        out += body[pos : match.start()].encode("utf-8", "surrogateescape")
        out += _escape(match, line, quote)
        pos = match.end()
    out += body[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)


def unquote(token: str, line: int) -> str:
    """The value of a ``"…"`` or ```…``` literal."""
    if token.startswith("`"):
        return token[1:-1].replace("\r", "")
    return gostr(_unescape(token[1:-1], line, '"'))


def _char(token: str, line: int) -> n.Number:
    raw = _unescape(token[1:-1], line, "'")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = ""
    if len(raw) == 1:
        text = chr(raw[0])
    if len(text) != 1:
        raise GoTemplateFailure("malformed character constant", line)
    return n.Number(token, ord(text), float(ord(text)), False)


def number(token: str, line: int) -> n.Number:
    """A number (or character) constant, as Go's ``parse.NumberNode`` reads it."""
    if token.startswith("'"):
        return _char(token, line)
    if token.endswith("i"):
        raise GoTemplateFailure("complex numbers are not supported", line)
    text = token.replace("_", "")
    lowered = text.lower().lstrip("+-")
    is_float_text = not lowered.startswith(("0x", "0b", "0o")) and any(c in lowered for c in ".e")
    integer: int | None = None
    real: float | None = None
    try:
        integer = int(text, 0) if not is_float_text else None
    except ValueError:
        if re.fullmatch(r"[+-]?0[0-7]+", text):  # Go reads a leading 0 as octal
            integer = int(text.replace("0", "0o", 1), 0)
        else:
            raise GoTemplateFailure("bad number syntax", line) from None
    if integer is not None:
        if not -(2**63) <= integer < 2**64:
            raise GoTemplateFailure("integer overflow in a constant", line)
        real = float(integer)
    else:
        try:
            real = float(text)
        except ValueError:
            raise GoTemplateFailure("bad number syntax", line) from None
        if real.is_integer() and abs(real) < 2**63:
            integer = int(real)
    return n.Number(token, integer, real, is_float_text)
