"""The functions every Go template has (``text/template/funcs.go``), except ``and``/``or``,
which the executor evaluates itself because they stop early.

``call`` always fails: the values of a SealedSecret hold no functions. ``slice`` is Sprig's
(:mod:`sealer.gotemplate.sprig_data`), which replaces Go's in Sprig's function map.
"""

from __future__ import annotations

from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.functions import GoFunc
from sealer.gotemplate.goprintf import sprint, sprintf, sprintln
from sealer.gotemplate.values import NO_VALUE, StrMap, go_type, truth

__all__ = ["BUILTINS", "go_bytes"]


def go_bytes(text: str) -> bytes:
    """The bytes of a Go string held as ``text``."""
    return text.encode("utf-8", "surrogateescape")


def _len(value: object) -> int:
    if isinstance(value, str):
        return len(go_bytes(value))
    if isinstance(value, list | tuple | dict):
        return len(value)
    if value is None:
        raise GoTemplateFailure("len of nil pointer")
    raise GoTemplateFailure(f"len of type {go_type(value)}")


def _position(index: object, size: int) -> int:
    """``index`` as a position in a sequence of ``size`` items."""
    if not isinstance(index, int) or isinstance(index, bool):
        raise GoTemplateFailure(f"cannot index slice/array with type {go_type(index)}")
    if not 0 <= index < size:
        raise GoTemplateFailure("index out of range")
    return index


def _index(item: object, *indexes: object) -> object:
    for index in indexes:
        if item is None or item is NO_VALUE:
            raise GoTemplateFailure("index of untyped nil")
        if isinstance(item, dict):
            if not isinstance(index, str):
                raise GoTemplateFailure(f"value has type {go_type(index)}; should be string")
            item = item.get(index, "" if isinstance(item, StrMap) else None)
        elif isinstance(item, str):
            item = go_bytes(item)[_position(index, len(go_bytes(item)))]
        elif isinstance(item, list | tuple):
            item = item[_position(index, len(item))]
        else:
            raise GoTemplateFailure(f"can't index item of type {go_type(item)}")
    return item


def _kind(value: object) -> str:
    if value is None or value is NO_VALUE:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "string" if isinstance(value, str) else "other"


def _eq(first: object, *others: object) -> bool:
    if not others:
        raise GoTemplateFailure("missing argument for comparison")
    kind = _kind(first)
    for other in others:
        if _kind(other) != kind:
            if kind != "invalid" and _kind(other) != "invalid":
                raise GoTemplateFailure("incompatible types for comparison")
            continue
        if kind == "other":
            raise GoTemplateFailure("non-comparable type")
        if kind == "invalid" or first == other:
            return True
    return False


def _lt(first: object, second: object) -> bool:
    kind = _kind(first)
    if kind in ("bool", "other", "invalid") or _kind(second) in ("bool", "other", "invalid"):
        raise GoTemplateFailure("invalid type for comparison")
    if kind != _kind(second):
        raise GoTemplateFailure("incompatible types for comparison")
    if kind == "string":
        return go_bytes(first) < go_bytes(second)  # type: ignore[arg-type]
    return bool(first < second)  # type: ignore[operator]


def _text(args: tuple[object, ...]) -> str:
    """Go's ``evalArgs``: one string as it is, else ``fmt.Sprint`` (nil as ``<no value>``)."""
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if a is None or a is NO_VALUE else a for a in args])


_HTML = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\0": "\ufffd"}
_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026"}
_JS["="] = "\\u003D"


def _html(*args: object) -> str:
    return "".join(_HTML.get(c, c) for c in _text(args))


def _js_char(char: str) -> str:
    if char in _JS:
        return _JS[char]
    code = ord(char)
    if code < 0x20 or (code >= 0x80 and not char.isprintable()):
        return f"\\u{code:04X}" if not 0xDC80 <= code <= 0xDCFF else "\\uFFFD"
    return char


def _js(*args: object) -> str:
    return "".join(_js_char(c) for c in _text(args))


_URL_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _urlquery(*args: object) -> str:
    out = []
    for byte in go_bytes(_text(args)):
        out.append(chr(byte) if byte in _URL_SAFE else "+" if byte == 32 else f"%{byte:02X}")
    return "".join(out)


def _call(*_: object) -> object:
    raise GoTemplateFailure("call of a value that is not a function")


def _printf(fmt: str, *args: object) -> str:
    return sprintf(fmt, list(args))


BUILTINS: dict[str, GoFunc] = {
    "call": GoFunc(_call, ("any",), "any"),
    "eq": GoFunc(_eq, ("any",), "any"),
    "ge": GoFunc(lambda a, b: not _lt(a, b), ("any", "any")),
    "gt": GoFunc(lambda a, b: not _lt(a, b) and not _eq(a, b), ("any", "any")),
    "html": GoFunc(_html, (), "any"),
    "index": GoFunc(_index, ("any",), "any"),
    "js": GoFunc(_js, (), "any"),
    "le": GoFunc(lambda a, b: _lt(a, b) or _eq(a, b), ("any", "any")),
    "len": GoFunc(_len, ("any",)),
    "lt": GoFunc(_lt, ("any", "any")),
    "ne": GoFunc(lambda a, b: not _eq(a, b), ("any", "any")),
    "not": GoFunc(lambda a: not truth(a), ("any",)),
    "print": GoFunc(lambda *a: sprint(list(a)), (), "any"),
    "printf": GoFunc(_printf, ("str",), "any"),
    "println": GoFunc(lambda *a: sprintln(list(a)), (), "any"),
    "urlquery": GoFunc(_urlquery, (), "any"),
}
