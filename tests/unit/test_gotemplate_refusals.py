"""What sealer.gotemplate cannot or may not render is refused in one line naming the object,
the field, the line and the construct, and never a value; and the dot is Bitnami's.
"""

from __future__ import annotations

import pytest

from sealer.errors import TemplateError
from sealer.gotemplate import render_go_template_data
from sealer.templating.budget import Bounds

SECRET = "hunter2-Sekr1t"
VALUES = {"password": SECRET.encode(), "tls.crt": b"CERT", "n": b"7"}
WHERE = "SealedSecret ns/app"

# (template, the message after "line N: ", why)
REFUSED = [
    ('{{ env "HOME" }}', 'function "env" is not allowed', "Bitnami removes env"),
    ('{{ expandenv "$HOME" }}', 'function "expandenv" is not allowed', "Bitnami removes it"),
    ('{{ getHostByName "x" }}', 'function "getHostByName" is not allowed', "Bitnami removes it"),
    ("{{ now }}", 'function "now" is not supported: its result changes at every render', "time"),
    (
        "{{ uuidv4 }}",
        'function "uuidv4" is not supported: its result changes at every render',
        "random",
    ),
    (
        "{{ randAlphaNum 8 }}",
        'function "randAlphaNum" is not supported: its result changes at every render',
        "random",
    ),
    ("{{ frobnicate .password }}", 'function "frobnicate" is not supported', "unknown name"),
    ('{{ template "x" . }}', "no such template", "a template never defined"),
    (
        '{{ if true }}{{ define "x" }}{{ end }}{{ end }}',
        "unexpected define in command",
        "define only at the top, as Go",
    ),
    ('{{ define "x" }}a{{ end }}{{ define "x" }}b{{ end }}', "template defined twice", "as Go"),
    (
        '{{ define "x" }}{{ template "x" . }}{{ end }}{{ template "x" }}',
        "over budget: templates nested deeper than 32",
        "recursion is bounded",
    ),
    ("{{ .password ", "unclosed action", "syntax"),
    ("{{ end }}", "unexpected {{end}}", "syntax"),
    ("{{ if .password }}x", "unexpected end of template in if", "syntax"),
    ("{{ break }}", "{{break}} outside {{range}}", "syntax"),
    ("{{ .password | 3 }}", "non executable command in pipeline stage 2", "syntax"),
    (
        "{{ index (list 1 2) (atoi .n) }}",
        "error calling index: index out of range",
        "runtime, index from a value",
    ),
    (
        "{{ upper (len .password) }}",
        "error calling upper: wrong type for value; expected string; got int",
        "type",
    ),
    ("{{ .password.field }}", "can't evaluate field field in type string", "field on a string"),
    (
        "{{ b64dec .password }}",
        "error calling b64dec: b64dec of text that is not base64",
        "Sprig would return an error text",
    ),
    (
        '{{ regexMatch "(a+)+$" .password }}',
        "error calling regexMatch: nested repetition in a regex is not supported",
        "backtracking",
    ),
    ("{{ div (atoi .n) 0 }}", "error calling div: integer divide by zero", "runtime"),
    (
        '{{ printf "%T" .password }}',
        "error calling printf: printf verb %T is not supported",
        "Go type names",
    ),
    (
        '{{ hasKey . "password" }}',
        "error calling hasKey: wrong type for value; expected map[string]interface {}; got map[string]string",
        "Bitnami's dot is a map[string]string",
    ),
    ("{{ range .password }}{{ end }}", "range can't iterate over string", "runtime"),
    ("{{ nil }}", "unexpected nil", "nil is not a command"),
    ("{{ $x = 1 }}", "undefined variable: $x", "assignment before declaration"),
    ("{{ if false }}{{ $y }}{{ end }}", 'undefined variable "$y"', "checked while parsing, as Go"),
    ("{{ if true }}{{ $z := 1 }}{{ end }}{{ $z }}", 'undefined variable "$z"', "out of its scope"),
]


@pytest.mark.parametrize(
    ("template", "message", "why"), REFUSED, ids=[r[2] + ": " + r[0] for r in REFUSED]
)
def test_refused_in_one_line_without_the_value(template: str, message: str, why: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_go_template_data({"conf": template}, VALUES, where=WHERE)
    text = str(caught.value)
    assert text == f"{WHERE}: template.data.conf: line 1: {message}", why
    assert SECRET not in text and "\n" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_the_line_is_the_template_line() -> None:
    template = "a\n{{ .password }}\n\n{{ upper 3 }}"
    with pytest.raises(TemplateError, match=r"template.data.conf: line 4: error calling upper"):
        render_go_template_data({"conf": template}, VALUES)


BOUNDED = [
    ("{{ range 1000000 }}x{{ end }}", "a list longer than", "a range over a huge integer"),
    ("{{ range 300 }}{{ range 300 }}x{{ end }}{{ end }}", "steps", "nested loops"),
    ("{{ repeat 10000000 .password }}", "a string longer than", "a huge repeat"),
    ('{{ range 600 }}{{ printf "%1000s" "x" }}{{ end }}', "output larger than", "the output"),
    ('{{ printf "%999999999s" "x" }}', "a width or count above", "a printf width"),
    ('{{ printf "%.999999999f" 1.5 }}', "a width or count above", "a printf precision"),
    (
        '{{ replace "" (repeat 1000 "x") (repeat 2000 .password) }}',
        "a string longer than",
        "replace, before it builds",
    ),
    (
        "{{ $d := dict }}{{ range 30 }}{{ $_ := set $d (print .) (list $d $d) }}{{ end }}{{ $d }}",
        "steps|a string longer than|nested too deeply",
        "a map holding itself",
    ),
    (
        "{{ $l := list .password }}{{ range 40 }}{{ $l = list $l $l }}{{ end }}{{ $l }}",
        "a list whose contents pass",
        "doubling a list",
    ),
]


@pytest.mark.parametrize(("template", "bound", "why"), BOUNDED, ids=[b[2] for b in BOUNDED])
def test_work_is_bounded(template: str, bound: str, why: str) -> None:
    bounds = Bounds(output_bytes=512 * 1024)
    with pytest.raises(TemplateError, match=f"(over budget: .*({bound}))|{bound}") as caught:
        render_go_template_data({"conf": template}, VALUES, bounds=bounds)
    assert SECRET not in str(caught.value), why


def test_all_keys_share_one_budget() -> None:
    bounds = Bounds(steps=1000)
    loop = "{{ range 300 }}x{{ end }}"  # three steps an iteration
    assert render_go_template_data({"a": loop}, VALUES, bounds=bounds)["a"] == b"x" * 300
    with pytest.raises(TemplateError, match=r"template\.data\.b: line 1: over budget"):
        render_go_template_data({"a": loop, "b": loop}, VALUES, bounds=bounds)


def test_source_size_is_bounded() -> None:
    with pytest.raises(TemplateError, match=r"a template longer than 10 characters"):
        render_go_template_data({"a": "x" * 11}, VALUES, bounds=Bounds(source_chars=10))


# Bitnami passes the decrypted values as a map[string]string: a missing field is Go's invalid
# value (printed "<no value>"), while `index` returns the map's zero value (""). Helm's `tpl`
# erases "<no value>", so these two are checked here, from text/template's exec.go and funcs.go.
DOT = [
    ("[{{ .missing }}]", b"[<no value>]", "a missing field is the invalid value"),
    ('[{{ index . "missing" }}]', b"[]", "index gives the map's zero value"),
    ('[{{ index . "tls.crt" }}]', b"[CERT]", "a key with a dot through index"),
    ("[{{ print .missing }}]", b"[<nil>]", "passed to a function, the invalid value is nil"),
    ("{{ .missing.deeper }}", b"<no value>", "a field of the invalid value is invalid"),
    ('{{ hasKey .missing "a" }}', b"false", "the invalid value passed as a map is a nil map"),
    ("{{ .missing | default 3 }}", b"3", "the invalid value is empty"),
]


@pytest.mark.parametrize(("template", "out", "why"), DOT, ids=[d[2] for d in DOT])
def test_dot_is_bitnamis_string_map(template: str, out: bytes, why: str) -> None:
    assert render_go_template_data({"a": template}, VALUES)["a"] == out, why


def test_bytes_survive() -> None:
    """Values are Go strings (bytes): what is not UTF-8 is written back unchanged."""
    values = {"bin": b"\xff\x00\xfe-\xc3\xa9"}
    out = render_go_template_data(
        {"a": "{{ .bin }}|{{ len .bin }}|{{ .bin | b64enc | b64dec }}"}, values
    )
    assert out["a"] == b"\xff\x00\xfe-\xc3\xa9|6|\xff\x00\xfe-\xc3\xa9"
