"""Sprig's string functions (``Masterminds/sprig/v3`` ``strings.go``, ``regex.go``), as Bitnami's
controller offers them: encodings, case, trimming, quoting, splitting, padding, regexes.

Go strings are bytes: ``substr``, ``trunc`` and ``len`` count bytes, and a cut through a UTF-8
sequence keeps the bytes as they are. ``b64dec`` of text that is not base64 is refused (Sprig
returns the decoder's error text as the value). Regexes are Go's RE2 syntax run by Python's
``re``, so a pattern that could backtrack for long (nested or more than two repetitions) is
refused, as is a subject over 8 KiB.
"""

from __future__ import annotations

import base64
import binascii
import re

from sealer.gotemplate.builtins import go_bytes
from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.functions import GoFunc
from sealer.gotemplate.goprintf import go_quote
from sealer.gotemplate.literals import gostr
from sealer.gotemplate.values import StrMap, go_str
from sealer.templating.budget import current_budget

__all__ = ["STRINGS", "strval"]

# unicode.IsSpace
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)


def strval(value: object) -> str:
    """Sprig's ``strval``: a string as it is, anything else as ``%v``."""
    return value if isinstance(value, str) else go_str(value)


def _b64dec(text: str) -> str:
    data = go_bytes(text).replace(b"\r", b"").replace(b"\n", b"")  # Go skips line breaks
    try:
        return gostr(base64.b64decode(data, validate=True))
    except binascii.Error:
        # Sprig returns the decoder's error text as the value; we refuse instead.
        raise GoTemplateFailure("b64dec of text that is not base64") from None


def _case(text: str, upper: bool) -> str:
    """``strings.ToUpper``/``ToLower``: rune by rune (no ``ß`` → ``SS``); bytes that are not
    UTF-8 become U+FFFD, as Go's ``strings.Map`` writes them."""
    if text.isascii():
        return text.upper() if upper else text.lower()
    out = []
    for char in text:
        if 0xDC80 <= ord(char) <= 0xDCFF:
            out.append("\ufffd")
            continue
        mapped = char.upper() if upper else char.lower()
        out.append(mapped if len(mapped) == 1 else char)
    return "".join(out)


def _is_separator(char: str) -> bool:
    """``strings.Title``'s word boundary."""
    if char.isascii():
        return not (char.isalnum() or char == "_")
    return not (char.isalpha() or char.isdigit()) and char in _GO_SPACE


def _title(text: str) -> str:
    out, previous = [], " "
    for char in text:
        out.append(_case(char, True) if _is_separator(previous) else char)
        previous = char
    return "".join(out)


def _untitle(text: str) -> str:
    """Sprig's ``untitle``: words are runs of non-space runes."""
    out, in_word = [], False
    for char in text:
        space = char in _GO_SPACE
        out.append(_case(char, False) if not space and not in_word else char)
        in_word = not space
    return "".join(out)


def _repeat(count: int, text: str) -> str:
    if count < 0:
        raise GoTemplateFailure("negative repeat count")
    current_budget().check_length(count * len(text))
    return text * count


def _cut(text: str, start: int | None, end: int | None) -> str:
    return gostr(go_bytes(text)[start:end])


def _substr(start: int, end: int, text: str) -> str:
    size = len(go_bytes(text))
    if start < 0:
        if end > size or end < 0:
            raise GoTemplateFailure("slice bounds out of range")
        return _cut(text, None, end)
    if end < 0 or end > size:
        if start > size:
            raise GoTemplateFailure("slice bounds out of range")
        return _cut(text, start, None)
    if start > end:
        raise GoTemplateFailure("slice bounds out of range")
    return _cut(text, start, end)


def _trunc(count: int, text: str) -> str:
    size = len(go_bytes(text))
    if count < 0 and size + count > 0:
        return _cut(text, size + count, None)
    if count >= 0 and size > count:
        return _cut(text, None, count)
    return text


def _indent(spaces: int, text: str) -> str:
    if spaces < 0:
        raise GoTemplateFailure("negative indent")
    current_budget().check_width(spaces)
    pad = " " * spaces
    result = pad + text.replace("\n", "\n" + pad)
    current_budget().check_length(len(result))
    return result


def _replace(old: str, new: str, text: str) -> str:
    """``strings.Replace(text, old, new, -1)``, its size checked before it is built."""
    count = text.count(old)
    current_budget().check_length(len(text) + count * (len(new) - len(old)))
    return text.replace(old, new)


def _nospace(text: str) -> str:
    """goutils' ``DeleteWhiteSpace``, as Sprig calls it: byte by byte, each byte taken as the
    rune of that number (so U+0085 and U+00A0 bytes go, and other bytes above 0x7F are
    re-encoded), unless nothing is deleted."""
    data = go_bytes(text)
    kept = [chr(b) for b in data if chr(b) not in _GO_SPACE]
    return text if len(kept) == len(data) else "".join(kept)


def _split_list(sep: str, text: str) -> tuple[str, ...]:
    if sep == "":
        return tuple(text)
    return tuple(text.split(sep))


def _split(sep: str, text: str) -> StrMap:
    return StrMap({f"_{i}": part for i, part in enumerate(_split_list(sep, text))})


def _strslice(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [strval(v) for v in value if v is not None]
    return [] if value is None else [strval(value)]


def _quote(*values: object) -> str:
    return " ".join(go_quote(strval(v)) for v in values if v is not None)


def _squote(*values: object) -> str:
    return " ".join(f"'{strval(v)}'" for v in values if v is not None)


def _cat(*values: object) -> str:
    return " ".join(go_str(v) for v in values if v is not None)


_REGEX_TOKEN = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]])*\]|\(\??|[)|*+?]|\{[0-9,]+\}")


def _check_pattern(pattern: str) -> None:
    """Refuse what Python's backtracking could take long on: nested or many repetitions."""
    groups: list[bool] = [False]  # whether each open group holds a repetition or ``|``
    closed = False  # the previous token closed a group holding one
    count = 0
    for part in _REGEX_TOKEN.findall(pattern):
        if part.startswith("("):
            groups.append(False)
        elif part == ")" and len(groups) > 1:
            closed = groups.pop()
            groups[-1] = groups[-1] or closed
            continue
        elif part == "|":
            groups[-1] = True
        elif part[0] in "*+?{":
            if closed:
                raise GoTemplateFailure("nested repetition in a regex is not supported")
            count += 1
            groups[-1] = True
        closed = False
    if count > 2:
        raise GoTemplateFailure("a regex with more than two repetitions is not supported")


def _python_syntax(pattern: str) -> str:
    """RE2's ``$`` is the end of the text (Python's ``\\Z``) unless the pattern sets ``(?m)``."""
    multiline = re.search(r"\(\?[a-zA-Z]*m", pattern) is not None
    out = []
    for part in re.findall(r"\\.|\[\^?\]?(?:\\.|[^\]])*\]|.", pattern, re.S):
        if part == "$" and not multiline:
            part = r"\Z"
        out.append(r"\Z" if part == r"\z" else part)
    return "".join(out)


def _pattern(pattern: str, subject: str) -> re.Pattern[str]:
    """The pattern compiled for Python, if it cannot take long; else a refusal."""
    if len(go_bytes(subject)) > 8192:
        raise GoTemplateFailure("regex subject longer than 8192 bytes")
    _check_pattern(pattern)
    try:
        return re.compile(_python_syntax(pattern), re.ASCII)
    except re.error:
        raise GoTemplateFailure("regex syntax not supported") from None


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand``: ``$1``, ``${1}``, ``$name``, ``$$``; unknown groups are empty."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        if name is None:
            return "$"
        try:
            value = match.group(int(name) if name.isdigit() else name)
        except (IndexError, KeyError):
            return ""
        return value or ""

    return re.sub(r"\$(?:\{(\w+)\}|(\w+)|\$)", one, template)


def _regex_replace(pattern: str, text: str, repl: str) -> str:
    compiled = _pattern(pattern, text)
    return compiled.sub(lambda m: _expand(repl, m), text)


def _regex_find(pattern: str, text: str) -> str:
    found = _pattern(pattern, text).search(text)
    return found.group() if found else ""


def _regex_find_all(pattern: str, text: str, count: int) -> list[object]:
    found = [m.group() for m in _pattern(pattern, text).finditer(text)]
    return list(found if count < 0 else found[:count])


STRINGS: dict[str, GoFunc] = {
    "b64enc": GoFunc(lambda s: base64.b64encode(go_bytes(s)).decode(), ("str",)),
    "b64dec": GoFunc(_b64dec, ("str",)),
    "cat": GoFunc(_cat, (), "any"),
    "contains": GoFunc(lambda sub, s: sub in s, ("str", "str")),
    "hasPrefix": GoFunc(lambda p, s: s.startswith(p), ("str", "str")),
    "hasSuffix": GoFunc(lambda p, s: s.endswith(p), ("str", "str")),
    "indent": GoFunc(_indent, ("int", "str")),
    "join": GoFunc(lambda sep, v: sep.join(_strslice(v)), ("str", "any")),
    "lower": GoFunc(lambda s: _case(s, False), ("str",)),
    "nindent": GoFunc(lambda n, s: "\n" + _indent(n, s), ("int", "str")),
    "nospace": GoFunc(_nospace, ("str",)),
    "quote": GoFunc(_quote, (), "any"),
    "regexFind": GoFunc(_regex_find, ("str", "str")),
    "regexFindAll": GoFunc(_regex_find_all, ("str", "str", "int")),
    "regexMatch": GoFunc(lambda p, s: _pattern(p, s).search(s) is not None, ("str", "str")),
    "regexReplaceAll": GoFunc(_regex_replace, ("str", "str", "str")),
    "repeat": GoFunc(_repeat, ("int", "str")),
    "replace": GoFunc(_replace, ("str", "str", "str")),
    "split": GoFunc(_split, ("str", "str")),
    "splitList": GoFunc(_split_list, ("str", "str")),
    "squote": GoFunc(_squote, (), "any"),
    "substr": GoFunc(_substr, ("int", "int", "str")),
    "title": GoFunc(_title, ("str",)),
    "toString": GoFunc(strval, ("any",)),
    "trim": GoFunc(lambda s: s.strip(_GO_SPACE), ("str",)),
    "trimAll": GoFunc(lambda cut, s: s.strip(cut), ("str", "str")),
    "trimPrefix": GoFunc(lambda p, s: s.removeprefix(p), ("str", "str")),
    "trimSuffix": GoFunc(lambda p, s: s.removesuffix(p), ("str", "str")),
    "trunc": GoFunc(_trunc, ("int", "str")),
    "untitle": GoFunc(_untitle, ("str",)),
    "upper": GoFunc(lambda s: _case(s, True), ("str",)),
}
