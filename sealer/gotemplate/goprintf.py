"""Go's ``fmt.Sprintf``, ``Sprint`` and ``Sprintln`` over engine values (``printf``, ``print``).

The verbs ``%v %s %q %d %b %o %O %x %X %c %U %t %e %E %f %F %g %G %%``, the flags ``- + # 0`` and
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
_INT_VERBS = "dboOxXcqU"
_FLOAT_VERBS = "eEfFgG"


def go_quote(text: str, quote: str = '"', *, ascii_only: bool = False) -> str:
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
        elif char.isprintable() and not (ascii_only and code >= 0x80):
            out.append(char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out) + quote


def _pad(text: str, flags: str, width: int, numeric: bool, *, prefix: bool = True) -> str:
    if len(text) >= width:
        return text
    if "-" in flags:
        return text + " " * (width - len(text))
    if "0" in flags:
        head = ""
        if numeric:  # zeros go after the sign and a 0x, 0b or 0o prefix
            head = text[:1] if text[:1] in ("+", "-", " ") else ""
            if prefix and text[len(head) : len(head) + 2].lower() in ("0x", "0b", "0o"):
                head = text[: len(head) + 2]
        return head + "0" * (width - len(text)) + text[len(head) :]
    return " " * (width - len(text)) + text


def _integer(value: int, verb: str, flags: str, prec: int | None, width: int = 0) -> str:
    if verb == "c":
        return chr(value) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else "\ufffd"
    if verb == "q":
        valid = 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF
        return go_quote(chr(value) if valid else "\ufffd", "'", ascii_only="+" in flags)
    if verb == "U":
        text = "U+" + format(value % 2**64, "X").zfill(max(prec or 0, 4))
        if "#" in flags and 0 <= value <= 0x10FFFF and chr(value).isprintable():
            text += f" '{chr(value)}'"
        return text
    if prec == 0 and value == 0:
        return ""  # Go writes only the padding
    base = {"d": "d", "v": "d", "b": "b", "o": "o", "O": "o", "x": "x", "X": "X"}[verb]
    digits = format(abs(value), base)
    sign = "-" if value < 0 else "+" if "+" in flags else " " if " " in flags else ""
    if prec is not None:
        digits = digits.zfill(prec)
    elif "0" in flags and "-" not in flags:  # Go zero-fills the digits, then adds the prefix
        digits = digits.zfill(width - len(sign))
    if verb == "O":
        digits = "0o" + ("0" + digits if "#" in flags and not digits.startswith("0") else digits)
    elif "#" in flags and verb in "xXob":
        prefix = {"x": "0x", "X": "0X", "o": "0", "b": "0b"}[verb]
        digits = digits if verb == "o" and digits.startswith("0") else prefix + digits
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
    if not text.startswith("-"):
        text = "+" + text if "+" in flags else " " + text if " " in flags else text
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


def _can_backquote(text: str) -> bool:
    """``strconv.CanBackquote``: no backquote, no control character but tab, valid UTF-8."""
    return all(
        c == "\t"
        or (
            (c != "`" and c != "\ufeff" and ord(c) >= 0x20 and ord(c) != 0x7F)
            and not 0xD800 <= ord(c) <= 0xDFFF
        )
        for c in text
    )


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
    if isinstance(value, float) and "#" in flags:
        raise GoTemplateFailure("printf flag # with a float is not supported")
    if isinstance(value, float) and verb in "xX" and prec is None and _hex_float(value):
        text = _hex_float(value) or ""
        if text[0] != "-":
            text = "+" + text if "+" in flags else " " + text if " " in flags else text
        return _pad(text.upper() if verb == "X" else text, flags, width, True, prefix=False)
    if isinstance(value, float) and verb in "xXbp":
        raise GoTemplateFailure(f"printf verb %{verb} of this float is not supported")
    if not _fits(value, verb):
        return _bad(verb, value, flags, width, prec)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = _integer(value, verb, flags, prec, width)
    elif isinstance(value, float):
        text = _float(value, verb, flags, prec)
    else:
        text = _string(str(value), verb, flags, prec)
    numeric = isinstance(value, float) or (isinstance(value, int) and verb in "vdboOxX")
    if (numeric and not isinstance(value, float | bool) and prec is not None) or verb == "U":
        flags = flags.replace("0", "")  # a precision turns off zero padding of integers
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
        shown = value if prec is None else value[:prec]
        if "#" in flags and _can_backquote(shown):
            return f"`{shown}`"
        return go_quote(shown, ascii_only="+" in flags)
    data = value.encode("utf-8", "surrogateescape")
    if prec is not None:
        data = data[:prec]
    if "#" in flags:
        text = (
            " ".join("0x" + data[i : i + 1].hex() for i in range(len(data)))
            if " " in flags
            else ("0x" + data.hex() if data else "")
        )
    else:
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
