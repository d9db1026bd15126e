"""Every render is under a budget: a hostile template ends over budget, quickly and small.

The hostile table covers each way a template can spend time or memory: loops (nested, empty,
recursive), repetition and growth operators, width and count arguments of filters and methods,
format strings, macro recursion (deep and wide), captured output, and the globals that are not
offered. Each case must end as a ``TemplateError`` naming the field and the bound, within
``SECONDS`` of wall-clock time and ``PEAK`` bytes of Python allocations (tracemalloc's peak),
against the seconds and gigabytes they take without a budget (see docs/security.md).

The ordinary table renders exactly as Jinja's sandbox renders it without the budget.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest

from sealer.errors import TemplateError
from sealer.templating import BOUNDS, Bounds, render_template_data
from tests.unit.test_template_errors import ENGINE

VALUES = {"password": b"hunter2-budget", "user": b"admin", "cert": b"-----BEGIN X-----\nAAA\n"}
WHERE = "SealedSecret shop/db"
SECONDS = 5.0  # the deadline is 1 s; the rest is slack for a loaded machine
PEAK = 48 * 1024 * 1024

STEPS = "over budget: more than 100000 steps"
STRING = "over budget: a string longer than 1048576 characters"
LIST = "over budget: a list longer than 100000 items"
CONTENTS = "over budget: a list whose contents pass 1048576 characters and items"
BUILT = "over budget: built more than 8388608 characters and items in all"
WIDTH = "over budget: a width or count above 1024"
INT = "over budget: an integer above 4096 bits"
DEPTH = "over budget: macros nested deeper than 32"
WROTE = "over budget: wrote more than 4194304 characters"
OUTPUT = "over budget: output larger than 1048576 bytes"
# Steps and the deadline race on a loaded machine (and under tracemalloc): either may end it.
TIME_OR_STEPS = ("over budget: took longer than 1 s", STEPS)

# (id, template, the bound it passes (or the category it ends with), why it is hostile)
HOSTILE = [
    ("nested-range", "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}"
     "{% endfor %}{% endfor %}", TIME_OR_STEPS, "the issue's worker-starving loops"),
    ("nested-range-empty", "{% for i in range(100000) %}{% for j in range(100000) %}"
     "{% endfor %}{% endfor %}", TIME_OR_STEPS, "empty bodies: range itself counts"),
    ("nested-string-loops", "{% set s = 'x' * 100000 %}{% for a in s %}{% for b in s %}"
     "{% endfor %}{% endfor %}", TIME_OR_STEPS, "loops over a long string, not a range"),
    ("range-to-list", "{{ range(100000)|list|list|length }}{{ range(100000)|list|length }}",
     TIME_OR_STEPS, "items drawn from range() by a filter count too"),
    ("range-huge", "{{ range(10 ** 9)|length }}", LIST, "a range longer than a list may be"),
    ("recursive-loop", "{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}", DEPTH,
     "a recursive loop is nested calls"),
    ("string-multiply", "{{ 'a' * 400000000 }}", STRING, "the issue's 2.3 GB bomb"),
    ("string-multiply-reversed", "{{ 400000000 * password }}", STRING, "int * str"),
    ("list-multiply", "{{ [password] * 100000000 }}", LIST, "list repetition"),
    ("list-multiply-twice", "{{ ([1] * 100000) * 100000 }}", LIST, "repeating a long list"),
    ("string-plus-doubling", "{% macro f(s) %}{{ f(s + s) }}{% endmacro %}{{ f(password) }}",
     STRING, "doubling by + through recursion"),
    ("concat-doubling", "{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f(password) }}",
     STRING, "doubling by ~ through recursion"),
    ("power", "{{ 2 ** 100000000 }}", INT, "a huge integer power"),
    ("power-of-value", "{{ (password|length) ** 10000000 }}", INT, "a power of a value"),
    ("int-multiply-chain", "{% macro f(n) %}{{ f(n * n) }}{% endmacro %}{{ f(12345678901) }}",
     INT, "repeated squaring"),
    ("center", "{{ 'a'|center(10**9) }}", WIDTH, "center's width"),
    ("center-literal", "{{ 'a'|center(1000000000) }}", WIDTH, "constant-folded at compile time"),
    ("indent", "{{ cert|indent(width=1000000000) }}", WIDTH, "indent's width"),
    ("indent-string", "{{ cert|indent(width='x' * 100000) }}", WIDTH, "indent by a long string"),
    ("format-percent-width", "{{ '%0999999999d'|format(1) }}", WIDTH, "a %-format width"),
    ("format-percent-star", "{{ '%*d'|format(999999999, 1) }}", WIDTH, "a '*' width"),
    ("percent-operator", "{{ '%999999999s' % password }}", WIDTH, "the % operator"),
    ("percent-repeat", "{{ ('%(a)s' * 100000) % {'a': 'x' * 100000} }}", STRING,
     "a short field repeated over a long argument"),
    ("brace-width", "{{ '{:>999999999}'.format(1) }}", WIDTH, "a str.format width"),
    ("brace-nested", "{{ '{:{w}}'.format(1, w=999999999) }}", WIDTH, "a nested width field"),
    ("brace-repeat", "{{ ('{0}' * 100000).format('x' * 1000) }}", STRING,
     "one field repeated over a long argument"),
    ("replace-growth", "{{ ('a' * 100000)|replace('a', password * 100) }}", STRING,
     "replace multiplies"),
    ("replace-empty", "{{ ('a' * 100000)|replace('', 'xxxxxxxxxxxxxxxxxxxx') }}", STRING,
     "replacing the empty string inserts everywhere"),
    ("replace-method", "{{ ('a' * 100000).replace('a', password * 100) }}", STRING,
     "str.replace likewise"),
    ("wordwrap", "{{ ('a' * 100000)|wordwrap(1, wrapstring='x' * 1000) }}", STRING,
     "wordwrap adds wrapstring per line"),
    ("round-precision", "{{ 10|round(-10000000) }}", WIDTH, "int rounding computes 10**precision"),
    ("tojson-indent", "{{ [[[1]]]|tojson(indent=100000000) }}", WIDTH, "an indent per level"),
    ("tojson-indent-string", "{{ [[[1]]]|tojson(indent='x' * 100000) }}", WIDTH,
     "an indent string per level"),
    ("batch", "{{ [1]|batch(1000000000, 'x')|list }}", WIDTH, "batch pads to its count"),
    ("slice", "{{ [1]|slice(1000000000, 'x')|list }}", WIDTH, "slice makes its count of lists"),
    ("join-filter", "{{ (['a' * 100] * 10000)|join('b' * 1000) }}", STRING,
     "join of many parts with a long separator"),
    ("list-of-long-strings", "{{ (['a' * 1000] * 100000)|join }}", CONTENTS,
     "a list repeating a long string: its contents count"),
    ("nested-list-repeat", "{{ ([[1] * 100000] * 100000)|length }}", CONTENTS,
     "a list repeating a long list"),
    ("literal-references", "{% set a = ('x' * 100000)|list %}{{ [" + "a, " * 30 + "a]|length }}",
     CONTENTS, "a literal list naming a long list many times: str(), == and in walk it all"),
    ("repr-bomb", "{% set s = 'x' * 1000000 %}{{ [s, s, s, s, s, s, s, s, s, s] }}", CONTENTS,
     "printing a list of long strings"),
    ("many-sets", "".join(f"{{% set v{i} = 'x' * 1000000 %}}" for i in range(20)), BUILT,
     "many long strings, each under the bound, kept alive at once"),
    ("slice-copies", "{% set s = 'x' * 1000000 %}{{ [" + "s[::-1], " * 20 + "s]|length }}",
     BUILT, "fresh copies by slicing, before the list holding them is checked"),
    ("compare-chain", "{% set a = ('abc ' * 99999).split() %}{% set b = ('abc ' * 99999).split() %}"
     "{{ [" + "a == b, " * 2000 + "] }}", TIME_OR_STEPS,
     "thousands of comparisons of long lists in one expression: each is a step"),
    ("join-method", "{{ ('x' * 100000).join(['a'] * 10000) }}", STRING, "str.join"),
    ("sum-lists", "{{ [[1] * 100000] * 100000|sum(start=[]) }}",
     "sum: adds numbers only", "summing lists is quadratic"),
    ("select-huge", "{{ ('a' * 1000000)|select('eq', 'b')|list|length }}", TIME_OR_STEPS,
     "a test per item: tests count as steps"),
    ("map-huge", "{{ ('a' * 1000000)|map('upper')|join|length }}", TIME_OR_STEPS,
     "a filter per item: filters count as steps"),
    ("sort-huge", "{{ ('x' * 1000000)|list|sort|length }}", LIST, "a list of a million items"),
    ("macro-recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", DEPTH,
     "unbounded recursion"),
    ("macro-wide", "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
     "{% endmacro %}{{ f(30) }}", TIME_OR_STEPS, "2**30 calls"),
    ("caller-recursion", "{% macro m() %}{{ caller() }}{% endmacro %}{% macro f(n) %}"
     "{% call m() %}{{ f(n + 1) }}{% endcall %}{% endmacro %}{{ f(0) }}", DEPTH,
     "recursion through call blocks"),
    ("set-block-capture", "{% set x %}{% for i in range(1000) %}{{ 'x' * 100000 }}{% endfor %}"
     "{% endset %}{{ x|length }}", WROTE, "output captured in a block, never emitted"),
    ("literal-in-loop", "{% set x %}{% for i in range(10000) %}" + "L" * 1000 + "{% endfor %}"
     "{% endset %}", WROTE, "template text repeated by a loop"),
    ("output", "{% for i in range(20) %}{{ password * 70000 }}{% endfor %}", OUTPUT,
     "the rendered Secret's size"),
    ("to-bytes", "{{ (1).to_bytes(1000000000, 'big') }}", "not allowed by the sandbox",
     "methods of numbers are not offered"),
    ("ljust", "{{ password.ljust(1000000000) }}", "not allowed by the sandbox",
     "padding methods are not offered"),
    ("expandtabs", "{{ ('\t' * 1000).expandtabs(1000000) }}", "not allowed by the sandbox",
     "expandtabs is not offered"),
    ("lipsum", "{{ lipsum(100000, min=1000, max=1000) }}", "undefined name", "not a global"),
    ("cycler", "{{ cycler(1, 2).next() }}", "undefined name", "not a global"),
    ("joiner", "{{ joiner(',')() }}", "undefined name", "not a global"),
    ("namespace", "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
     "{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "undefined name", "not a global"),
    ("deep-parens", "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply",
     "the parser's recursion"),
    ("huge-source", "{{ password }}" + " " * 17000, "over budget: a template longer than 16384",
     "the template's own size"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("template", "bound"), [pytest.param(t, b, id=i) for i, t, b, _ in HOSTILE]
)
def test_hostile_template_ends_over_budget_quickly(template: str, bound: str | tuple[str]) -> None:
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(TemplateError) as info:
            render_template_data({"conf": template}, VALUES, where=WHERE)
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(f"{WHERE}: template.data.conf: "), message
    assert any(b in message for b in ((bound,) if isinstance(bound, str) else bound)), message
    assert took < SECONDS, f"{took:.1f} s"
    assert peak < PEAK, f"{peak / 1e6:.0f} MB"
    assert "hunter2" not in message


def test_budget_is_per_object_across_keys() -> None:
    """Two keys each under the output bound, together over it: one budget per object."""
    half = "{{ password * 45000 }}"  # 630,000 bytes each
    assert len(render_template_data({"a": half}, VALUES)["a"]) == 630_000
    with pytest.raises(TemplateError, match=r"template\.data\.b: .*output larger than"):
        render_template_data({"a": half, "b": half}, VALUES)


def test_bounds_can_be_tightened() -> None:
    tight = Bounds(steps=10)
    with pytest.raises(TemplateError, match="more than 10 steps"):
        render_template_data({"a": "{% for i in range(20) %}{% endfor %}"}, VALUES, bounds=tight)
    assert BOUNDS.steps == 100_000


def test_deadline_is_checked_from_the_hooks() -> None:
    """A loop under every size and step bound still stops at the deadline."""
    slow = Bounds(seconds=0.05, steps=10**9)
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"over budget: took longer than 0\.05 s"):
        render_template_data(
            {"a": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
                  "{% endfor %}"},
            VALUES,
            bounds=slow,
        )  # fmt: skip
    assert time.monotonic() - started < SECONDS


# (id, template, why it must keep working)
ORDINARY = [
    ("dsn", "postgres://{{ user }}:{{ password }}@db:5432/shop", "the README's example"),
    ("b64enc", "{{ password|b64enc }}", "our filter"),
    ("b64-round-trip", "{{ password|b64enc|b64dec }}", "our filters, both ways"),
    ("b64dec-literal", "{{ 'aGk='|b64dec }}:{{ ('aGk' ~ '=')|b64dec }}", "decoding a literal"),
    ("loop-over-keys", "{% for k in ['user', 'password'] %}{{ k }}={{ loop.index }};"
     "{% endfor %}", "a loop over a few keys"),
    ("loop-over-dict", "{% for k, v in {'u': user, 'p': password}|dictsort %}{{ k }}:{{ v }}"
     "{% if not loop.last %},{% endif %}{% endfor %}", "dictsort and loop.last"),
    ("conditional", "{% if user == 'admin' %}root{% else %}{{ user }}{% endif %}", "if/else"),
    ("inline-if", "{{ user if password|length > 8 else 'short' }}", "inline if and length"),
    ("filters", "{{ user|upper }} {{ '  x '|trim }} {{ user|replace('ad', 'AD') }} "
     "{{ [user, password]|join(',') }} {{ missing|default('d') }}", "common filters"),
    ("tojson", "{{ {'user': user, 'password': password}|tojson }}", "a JSON config"),
    ("indent-pem", "key: |\n  {{ cert|indent(2) }}", "a PEM block in YAML"),
    ("format", "{{ '%s@%s:%05d'|format(user, 'db', 42) }} {{ '{}:{}'.format(user, 1) }}",
     "both format styles"),
    ("arithmetic", "{{ 2 ** 10 }} {{ 3 * 4 }} {{ 'ab' * 3 }} {{ [1, 2] + [3] }} {{ 7 % 3 }}",
     "the intercepted operators, small"),
    ("range", "{% for i in range(3) %}{{ i }}{% endfor %}{{ range(5)|list|length }}", "range"),
    ("macro", "{% macro q(s) %}'{{ s }}'{% endmacro %}{{ q(user) }} {{ q(password) }}", "macro"),
    ("set-block", "{% set x %}{{ user }}-{{ password }}{% endset %}{{ x|upper }}", "set block"),
    ("methods", "{{ user.startswith('ad') }} {{ 'a,b'.split(',')|last }} {{ user.title() }}",
     "allowed methods"),
    ("literal", "no placeholders at all\n", "plain text, trailing newline kept"),
    ("reference-mode", "{{ (sealops_ref_0 | b64dec) }}{{ 'x:' ~ user }}",
     "what seal render --mode reference writes"),
]  # fmt: skip


@pytest.mark.parametrize("template", [pytest.param(t, id=i) for i, t, _ in ORDINARY])
def test_ordinary_template_renders_as_before(template: str) -> None:
    values = {**VALUES, "sealops_ref_0": b"aGk="}
    expected = ENGINE.from_string(template).render({k: v.decode() for k, v in values.items()})
    assert render_template_data({"k": template}, values) == {"k": expected.encode()}
