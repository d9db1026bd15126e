"""Go's ``fmt.Sprintf``, ``Sprint`` and ``Sprintln`` over engine values (``printf``, ``print``).

The verbs ``%v %s %q %d %b %o %x %X %c %U %t %e %E %f %F %g %G %%``, the flags ``- + # 0`` and
space, widths and precisions (bounded by the budget's ``width``); a verb of the wrong type
prints as Go prints it (``%!d(string=…)``), as do missing (``%!d(MISSING)``) and extra
(``%!(EXTRA …)``) arguments. Refused: ``%T``, ``%p``, ``%#v``, ``%b`` of a float, ``%x`` of a
float with a precision or below the normal range, ``*`` widths and ``[n]`` argument indexes.
"""

from __future__ import annotations

import math
import re

from sealer.gotemplate.failure import GoTemplateFailure
from sealer.gotemplate.values import NO_VALUE, go_float, go_str, go_type
from sealer.templating.budget import current_budget

__all__ = ["go_quote", "sprint", "sprintf", "sprintln"]

_SPEC = re.compile(r"%([-+# 0]*)([0-9]*)(?:\.([0-9]*))?(.?)", re.S)
_CONTROL = {
    "\a": r"\a",
    "\b": r"\b",
    "\f": r"\f",
    "\n": r"\n",
    "\r": r"\r",
    "\t": r"\t",
    "\v": r"\v",
}
_INT_VERBS = "dboxXcqU"
_FLOAT_VERBS = "eEfFgG"


def go_quote(text: str, quote: str = '"') -> str:
    """``strconv.Quote`` (``QuoteRune`` for ``'``): printable runes kept, others escaped."""
    out = [quote]
    for char in text:
        code = ord(char)
        if char in quote + "\\":
            out.append("\\" + char)
        elif char in _CONTROL:
            out.append(_CONTROL[char])
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif char.isprintable():
            out.append(char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + quote


def _pad(text: str, flags: str, width: int, numeric: bool) -> str:
    if len(text) >= width:
        return text
    if "-" in flags:
        return text + " " * (width - len(text))
    if "0" in flags:
        sign = text[0] if numeric and text[:1] in "+- " and text else ""
        return sign + "0" * (width - len(text)) + text[len(sign) :]
    return " " * (width - len(text)) + text


def _integer(value: int, verb: str, flags: str, prec: int | None) -> str:
    if verb == "c":
        return chr(value) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else "\ufffd"
    if verb == "U":
        return f"U+{value:04X}" if value >= 0 else _bad("U", value)
    if verb == "q":
        valid = 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF
        return go_quote(chr(value) if valid else "\ufffd", "'")
    base = {"d": "d", "v": "d", "b": "b", "o": "o", "x": "x", "X": "X"}[verb]
    digits = format(abs(value), base)
    if prec is not None:
        digits = digits.zfill(prec) if prec or value else ""
    if "#" in flags and verb in "xXob":
        digits = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}[verb] + digits
    sign = "-" if value < 0 else "+" if "+" in flags else " " if " " in flags else ""
    return sign + digits


def _float(value: float, verb: str, flags: str, prec: int | None) -> str:
    if math.isnan(value) or math.isinf(value):
        text = go_float(value)
        return text if "+" in flags or text != "+Inf" else "+Inf"
    if verb in "vgG" and prec is None:
        text = go_float(value)
        text = text.upper() if verb == "G" else text
    else:
        spec = "g" if verb == "v" else verb
        text = format(value, f"{'#' if '#' in flags else ''}.{6 if prec is None else prec}{spec}")
    if "+" in flags and not text.startswith("-"):
        text = "+" + text
    return text


def _hex_float(value: float) -> str | None:
    """``strconv.FormatFloat(value, 'x', -1, 64)`` for zero and normal numbers (else None)."""
    if value == 0:
        return ("-" if math.copysign(1, value) < 0 else "") + "0x0p+00"
    if math.isinf(value) or math.isnan(value) or abs(value) < 2.2250738585072014e-308:
        return None
    sign, rest = ("-", value.hex()[3:]) if value < 0 else ("", value.hex()[2:])
    mantissa, exponent = rest.split("p")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = int(exponent)
    return f"{sign}0x{mantissa}p{'-' if power < 0 else '+'}{abs(power):02d}"


def _bad(verb: str, value: object, flags: str = "", width: int = 0, prec: int | None = None) -> str:
    """Go's ``%!verb(type=value)``: the value printed with ``%v`` and the verb's flags."""
    if value is None or value is NO_VALUE:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(value)}={_one(value, 'v', flags, width, prec, False)})"


def _one(value: object, verb: str, flags: str, width: int, prec: int | None, top: bool) -> str:
    if isinstance(value, list | tuple):
        inner = (_one(v, verb, flags, width, prec, False) for v in value)
        return "[" + " ".join(inner) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]).encode("utf-8", "surrogateescape"))
        inner = (
            f"{_one(k, verb, flags, width, prec, False)}:{_one(v, verb, flags, width, prec, False)}"
            for k, v in items
        )
        return "map[" + " ".join(inner) + "]"
    if value is None or value is NO_VALUE:
        if not top:
            return "<nil>"  # Go writes a nil inside a list or map as it is, unpadded
        return _pad("<nil>", flags, width, False) if verb == "v" else _bad(verb, value)
    if isinstance(value, float) and verb in "xX" and prec is None and _hex_float(value):
        text = _hex_float(value) or ""
        text = "+" + text if "+" in flags and text[0] != "-" else text
        return _pad(text.upper() if verb == "X" else text, flags, width, True)
    if isinstance(value, float) and verb in "xXbp":
        raise GoTemplateFailure(f"printf verb %{verb} of this float is not supported")
    if not _fits(value, verb):
        return _bad(verb, value, flags, width, prec)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = _integer(value, verb, flags, prec)
    elif isinstance(value, float):
        text = _float(value, verb, flags, prec)
    else:
        text = _string(str(value), verb, flags, prec)
    numeric = isinstance(value, float) or (isinstance(value, int) and verb in "vdboxX")
    return _pad(text, flags, width, numeric and not isinstance(value, bool))


def _fits(value: object, verb: str) -> bool:
    """Whether ``verb`` prints a value of this Go type."""
    if isinstance(value, bool):
        return verb in "vt"
    if isinstance(value, int):
        return verb in "v" + _INT_VERBS
    if isinstance(value, float):
        return verb in "v" + _FLOAT_VERBS
    return isinstance(value, str) and verb in "vsqxX"


def _string(value: str, verb: str, flags: str, prec: int | None) -> str:
    if verb in "vs":
        return value if prec is None else value[:prec]
    if verb == "q":
        return go_quote(value if prec is None else value[:prec])
    data = value.encode("utf-8", "surrogateescape")
    if prec is not None:
        data = data[:prec]
    text = data.hex(" ") if " " in flags else data.hex()
    return text.upper() if verb == "X" else text


def sprintf(fmt: str, args: list[object]) -> str:
    """``fmt.Sprintf(fmt, args...)``."""
    out: list[str] = []
    pos = index = 0
    for match in _SPEC.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, prec, verb = match.groups()
        if verb == "%" and not flags and not width and prec is None:
            out.append("%")
            continue
        if verb == "v":
            if "#" in flags:
                raise GoTemplateFailure("printf verb %#v is not supported")
            flags = flags.replace("+", "")  # %+v names struct fields; on other values: none
        if verb in ("", "*", "[") or verb in "Tp":
            if verb == "":
                out.append("%!(NOVERB)")
                continue
            raise GoTemplateFailure(f"printf verb %{verb} is not supported")
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        value = args[index]
        index += 1
        precision = None if prec is None else int(prec or 0)
        budget = current_budget()
        budget.check_width(int(width or 0))
        budget.check_width(precision or 0)
        out.append(_one(value, verb, flags, int(width or 0), precision, True))
    out.append(fmt[pos:])
    if index < len(args):
        extra = ", ".join(_bad("", v)[3:-1] if v is not None else "<nil>" for v in args[index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def sprint(args: list[object]) -> str:
    """``fmt.Sprint``: a space between two operands when neither is a string."""
    out: list[str] = []
    for i, value in enumerate(args):
        if i and not isinstance(value, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_str(value))
    return "".join(out)


def sprintln(args: list[object]) -> str:
    return " ".join(go_str(v) for v in args) + "\n"
