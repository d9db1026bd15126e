"""Random Go templates for the differential test against Helm's Go engine (seeded, repeatable).

Each template combines one or two actions (output, ``if``/``else``, ``range`` with two
variables and ``else``, ``with``, a declared variable, trim markers) over nested calls of the
builtins and Sprig functions sealer.gotemplate renders, with constants, fields, missing keys
and values of every Go type as operands.
"""

from __future__ import annotations

import random

DATA = {
    "a": "Hello, World",
    "n": "42",
    "e": "",
    "s": "  x y  ",
    "j": '{"k":[1,"<"],"z":{"q":null}}',
    "u": "ünï çødé",
    "neg": "-7",
    "f": "2.5",
    "tls.crt": "C<E>R&T",
}
_STRS = ['"abc"', '"a,b,c"', '""', '"<&>"', '"é"', '"  pad "', ".a", ".n", ".e", ".s", ".u"]
_STRS += ['(index . "neg")', ".f", '"x\\ty"', '"%d-%s"', '(index . "tls.crt")', '"0x1F"']
_NUMS = ["0", "1", "3", "-2", "7", "1.5", "(len .a)", "(atoi .n)", "(int .f)", "(add 1 2)"]
_ANY = [*_STRS, *_NUMS, "true", "false", "nil", '(list 1 "b")', '(dict "k" 1 "a" (list))']
# No missing key among them: Helm's missingkey=zero makes it a nil interface{}, which a
# map[string]interface{} parameter refuses, where Bitnami's invalid value becomes a nil map.
# Nor the dot: Helm's is a map[string]interface{}, Bitnami's a map[string]string, and
# fmt names the type (%!(EXTRA map[string]string=…)).
_ANY += ["(list)", '(splitList "," "p,q")', "(fromJson .j)", '(split "," "x,y")']
_ONE = "upper lower trim title untitle nospace b64enc quote squote toJson toString sha1sum"
_ONE += " adler32sum len html js urlquery print println empty not int int64 float64 atoi add1"
_ONE += " toPrettyJson toRawJson first last sortAlpha keys cat sha256sum b64dec"
_TWO = [
    ("trimPrefix", _STRS, _STRS), ("trimSuffix", _STRS, _STRS), ("trimAll", _STRS, _STRS),
    ("contains", _STRS, _STRS), ("hasPrefix", _STRS, _STRS), ("hasSuffix", _STRS, _STRS),
    ("repeat", _NUMS, _STRS), ("trunc", _NUMS, _STRS), ("indent", _NUMS, _STRS),
    ("nindent", _NUMS, _STRS), ("split", _STRS, _STRS), ("splitList", _STRS, _STRS),
    ("join", _STRS, _ANY), ("default", _ANY, _ANY), ("eq", _ANY, _ANY), ("ne", _ANY, _ANY),
    ("lt", _ANY, _ANY), ("ge", _ANY, _ANY), ("le", _ANY, _ANY), ("gt", _ANY, _ANY),
    ("add", _ANY, _ANY), ("sub", _ANY, _ANY), ("mul", _ANY, _ANY), ("div", _ANY, _ANY),
    ("mod", _ANY, _ANY), ("max", _ANY, _ANY), ("min", _ANY, _ANY), ("index", _ANY, _ANY),
    ("printf", _STRS, _ANY), ("coalesce", _ANY, _ANY), ("and", _ANY, _ANY), ("or", _ANY, _ANY),
    ("has", _ANY, _ANY), ("list", _ANY, _ANY), ("dict", _STRS, _ANY), ("quote", _ANY, _ANY),
    ("print", _ANY, _ANY), ("get", ['(dict "k" 1)'], _STRS), ("hasKey", ['(dict "k" 1)'], _STRS),
    ("regexMatch", ['"^[a-z]+"', '"[0-9]"', '"o$"', '"(?i)HELLO"'], _STRS),
    ("regexFind", ['"[a-z]+"', '"[0-9]+"'], _STRS),
]  # fmt: skip
_FORMATS = ['"%v|%s|%d"', '"%q %x"', '"%5.2f %-4v|"', '"%+d %05d %o %X"', '"%t %c %U %e %g"']
_FORMATS += ['"%8.3s|%-6q|%x"', '"%v %v %v"', '"%s"']
_THREE = [
    ("substr", _NUMS, _NUMS, _STRS), ("replace", _STRS, _STRS, _STRS),
    ("ternary", _ANY, _ANY, ["true", "false"]), ("printf", _FORMATS, _ANY, _ANY),
    ("slice", ['(list 1 2 3)'], _NUMS, _NUMS), ("set", ['(dict "k" 1)'], _STRS, _ANY),
    ("regexReplaceAll", ['"[aeiou]"', '"(l+)"', '"(?P<x>o)"'], _STRS, ['"_"', '"<$1>"', '"${x}$$"']),
]  # fmt: skip


def _pick(rng: random.Random, choices: list[str], depth: int) -> str:
    return rng.choice(choices) if rng.random() < 0.6 else expression(rng, depth + 1)


def expression(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 2 or roll < 0.3:
        return rng.choice(_ANY)
    if roll < 0.5:
        return f"({rng.choice(_ONE.split())} {_pick(rng, _STRS, depth)})"
    if roll < 0.55:
        return f"({expression(rng, depth + 1)} | {rng.choice(_ONE.split())})"
    if roll < 0.85:
        name, first, second = rng.choice(_TWO)
        return f"({name} {_pick(rng, first, depth)} {_pick(rng, second, depth)})"
    name, first, second, third = rng.choice(_THREE)
    return f"({name} {rng.choice(first)} {_pick(rng, second, depth)} {_pick(rng, third, depth)})"


def _action(rng: random.Random) -> str:
    roll, value = rng.random(), expression(rng)
    left, right = rng.choice(["{{ ", "{{- "]), rng.choice([" }}", " -}}"])
    if roll < 0.5:
        return left + value + right
    if roll < 0.65:
        return f"{left}if {value}{right} T {{{{ else }}}} F {{{{ end }}}}"
    if roll < 0.8:
        return f"{{{{ range $i, $v := {value} }}}}[{{{{ $i }}}}={{{{ $v }}}}]{{{{ else }}}}E{{{{ end }}}}"
    if roll < 0.9:
        return f"{{{{ with {value} }}}}<{{{{ . }}}}>{{{{ else }}}}W{{{{ end }}}}"
    return f'{{{{ $x := {value} }}}}{{{{- /* c */ -}}}}{{{{ printf "%v" $x }}}}'


def template(rng: random.Random) -> str:
    return " \n| ".join(_action(rng) for _ in range(rng.randint(1, 2)))


_PRINTF_VALUES = ['"abc"', '""', '"é<"', '"\\x01\\t"', "0", "42", "-7", "255", "1.5", "-0.25"]
_PRINTF_VALUES += ["1e100", "3.0", "true", "false", "nil", '(list 1 "a" nil)', "(add 3 4)"]
_PRINTF_VALUES += ['(dict "k" 1.5 "j" "x")', '(atoi "12")', '(float64 "2.75")', "(list)"]
_PRINTF_VALUES += ['(splitList "," "a,b")', '(split "," "a")']


def printf_template(rng: random.Random) -> str:
    """One ``printf`` with random flags, width, precision and verb, over a value of any type."""
    flags = "".join(rng.sample("-+# 0", rng.randint(0, 2)))
    width = rng.choice(["", "1", "5", "12"])
    precision = rng.choice(["", ".0", ".2", ".5", "."])
    verb = rng.choice("vsdqxXtcoOUbeEfgG")
    return f'{{{{ printf "%{flags}{width}{precision}{verb}|" {rng.choice(_PRINTF_VALUES)} }}}}'
