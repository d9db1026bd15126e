"""A template error names the field, the line and the kind of error, and never a value.

Each case plants values (``password``, ``token``) and makes Jinja (or Python, for an operand)
raise one exception class; ``engine`` is the class Jinja's own sandbox raises for that template
and ``quoted`` says whether the engine's message quotes a planted value (it does for the
undefined-attribute family and ``list.index``: the old code passed that message through). The
message we report must hold no planted value, raw or base64, and must read
``<object>: template.data.<KEY>: [line N: ]<category>``. Every message is also given to the
whole-run leak ledger (``tests/leaks.py``), with the planted values.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import jinja2
import pytest
from jinja2.exceptions import FilterArgumentError, SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sealer.errors import TemplateError
from sealer.templating import KINDS, render_template_data
from tests.leaks import Ledger

PLANTED = {"password": b"PLANTVALUE123", "token": b"s3cr3t-TOKEN-987"}
WHERE = "SealedSecret shop/db"


def _engine() -> ImmutableSandboxedEnvironment:
    """Jinja's sandbox as sealops configured it before render budgets: the engine's own view."""
    env = ImmutableSandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["b64enc"] = lambda v: base64.b64encode(v.encode()).decode()
    env.filters["b64dec"] = lambda v: base64.b64decode(v).decode()
    return env


ENGINE = _engine()
DEEP = "(" * 3000 + "password" + ")" * 3000

# (id, template, class the engine raises (None: our sandbox only), engine quotes a value?,
#  our category, our line, why)
CASES = [
    ("syntax", "{{ password }", jinja2.TemplateSyntaxError, False, "syntax error", 1,
     "an unclosed expression"),
    ("syntax-line-3", "a\n{{ token }}\n{% if password %}", jinja2.TemplateSyntaxError, False,
     "syntax error", 3, "the line of a syntax error is the template's"),
    ("undefined-subscript", "{{ {}[password] }}", jinja2.UndefinedError, True,
     "undefined name", 1, "the issue's example: the missing key is the value"),
    ("undefined-selectattr", "{{ [{}]|selectattr(password)|list }}", jinja2.UndefinedError, True,
     "undefined name", 1, "selectattr names the attribute, which is the value"),
    ("undefined-map-attribute", "{{ [{}]|map(attribute=password)|join }}",
     jinja2.UndefinedError, True, "undefined name", 1, "map(attribute=) likewise"),
    ("undefined-attr-filter", "{{ {}|attr(token) }}", jinja2.UndefinedError, True,
     "undefined name", 1, "attr() likewise"),
    ("undefined-on-line-2", "ok\n{{ {'a': 1}[password] }}", jinja2.UndefinedError, True,
     "undefined name", 2, "the line comes from the template frame"),
    ("undefined-name", "{{ missing }}", jinja2.UndefinedError, False,
     "undefined name (not among the values: 'missing')", 1,
     "a name from the source, which is no secret, is shown"),
    ("security-dunder", "{{ password.__class__ }}", SecurityError, False,
     "not allowed by the sandbox", 1, "attribute escapes"),
    ("security-method", "{{ password.ljust(3) }}", None, False, "not allowed by the sandbox", 1,
     "methods outside the allow-list"),
    ("runtime-unknown-test", "{% if password is bogus %}{% endif %}",
     jinja2.TemplateRuntimeError, False, "runtime error (unknown test 'bogus')", 1,
     "a test that does not exist, found at run time"),
    ("assertion-unknown-filter", "{{ password|nope }}", jinja2.TemplateAssertionError, False,
     "invalid template (unknown filter 'nope')", 1, "a filter that does not exist"),
    ("assertion-excluded-filter", "{{ token|urlize }}", None, False,
     "invalid template (unknown filter 'urlize')", 1, "a builtin filter not on the allow-list"),
    ("assertion-loop-var", "{% for loop in [password] %}{% endfor %}",
     jinja2.TemplateAssertionError, False, "invalid template", 1, "assigning to 'loop'"),
    ("filter-argument", "{{ {password: 1}|dictsort(by=token) }}", FilterArgumentError, False,
     "bad filter argument", 1, "dictsort(by=) takes key or value"),
    ("not-found", "{% include password %}", TypeError, False,
     "include, import and extends are not available", 1, "there is no loader"),
    ("type-error", "{{ password + 1 }}", TypeError, False, "type error", 1, "str + int"),
    ("value-error-quotes", "{{ ['a'].index(password) }}", ValueError, True, "value error", 1,
     "list.index quotes the value it did not find"),
    ("value-error-split", "{{ token.split('') }}", ValueError, False, "value error", 1,
     "empty separator"),
    ("key-error", "{{ ('{' ~ password ~ '}').format() }}", KeyError, True, "missing key", 1,
     "a format field named by the value"),
    ("index-error", "{{ '{1}'.format(password) }}", IndexError, False, "index out of range", 1,
     "a format field past the arguments"),
    ("zero-division", "{{ (password|length) // 0 }}", ZeroDivisionError, False,
     "division by zero", 1, "integer division by zero"),
    ("overflow", "{{ (password|length) * 10.0 ** 400 }}", OverflowError, False,
     "number too large", 1, "a float power that overflows"),
    ("recursion", "{{ " + DEEP + " }}", RecursionError, False, "nested too deeply", None,
     "an expression nested past Python's recursion limit"),
    ("b64dec-garbage", "{{ password|b64dec }}", ValueError, False,
     "b64dec: the input is not base64", 1, "b64dec of text that is not base64"),
    ("over-budget", "{{ password * 10000000 }}", None, False,
     "over budget: a string longer than 1048576 characters", 1, "string repetition"),
]  # fmt: skip


def _message(template: str) -> str:
    with pytest.raises(TemplateError) as info:
        render_template_data({"x": template}, PLANTED, where=WHERE)
    assert info.value.__cause__ is None and info.value.__context__ is None
    return str(info.value)


def _engine_error(template: str) -> BaseException:
    try:
        ENGINE.from_string(template).render({k: v.decode() for k, v in PLANTED.items()})
    except Exception as exc:
        return exc
    raise AssertionError("the engine rendered it")


def _holds_a_value(text: str) -> bool:
    return any(v in text.encode() or base64.b64encode(v) in text.encode() for v in PLANTED.values())


@pytest.mark.parametrize(
    ("template", "engine", "quoted", "category", "line"),
    [pytest.param(*case[1:6], id=case[0]) for case in CASES],
)
def test_error_names_field_line_and_kind_never_a_value(
    request: pytest.FixtureRequest,
    leak_ledger: Ledger,
    template: str,
    engine: type[BaseException] | None,
    quoted: bool,
    category: str,
    line: int | None,
) -> None:
    message = _message(template)
    if engine is not None:  # the case raises what it says, and the engine's text is as stated
        raw = _engine_error(template)
        assert isinstance(raw, engine), type(raw)
        assert _holds_a_value(str(raw)) is quoted
    prefix = f"{WHERE}: template.data.x: " + (f"line {line}: " if line else "")
    assert message == prefix + category
    hits = leak_ledger.planted(request.node.nodeid, PLANTED.values(), {"message": message})
    assert hits == []


@pytest.mark.parametrize(("cls", "kind"), KINDS, ids=[cls.__name__ for cls, _ in KINDS])
def test_every_class_reports_its_category_only(cls: type[BaseException], kind: str) -> None:
    """Every class the renderer may meet (MemoryError included, which no template here can
    reach under the budget) is reported as its category: the exception's text is never read."""
    from sealer.templating.errors import describe

    planted = PLANTED["password"].decode()
    try:
        exc = cls(planted)
    except TypeError:  # classes with other constructors (TemplateSyntaxError: message, line)
        exc = cls(planted, 1)
    text = describe(exc, "{{ x }}", {"password": planted})
    assert planted not in text
    assert text.startswith((kind, "line 1: " + kind)), text


def test_other_keys_and_sealed_secret_path_share_the_rule() -> None:
    """A second key's error names that key; the first key's output is not reported."""
    with pytest.raises(TemplateError) as info:
        render_template_data(
            {"ok": "{{ password }}", "bad": "x\n\n{{ {}[token] }}"}, PLANTED, where=WHERE
        )
    assert str(info.value) == f"{WHERE}: template.data.bad: line 3: undefined name"
    assert not re.search(r"PLANT|s3cr3t", str(info.value))


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        pytest.param(["{{ password }}"], "template.data: must be a mapping", id="list"),
        pytest.param("{{ password }}", "template.data: must be a mapping", id="string"),
        pytest.param({"x": 5}, "template.data.x: must be a string", id="not-a-string"),
    ],
)
def test_malformed_template_data_is_one_line(templates: object, message: str) -> None:
    with pytest.raises(TemplateError) as info:
        render_template_data(templates, PLANTED, where=WHERE)  # type: ignore[arg-type]
    assert str(info.value).startswith(f"{WHERE}: {message}")


def test_planted_values_are_caught_in_any_output(tmp_path: Path) -> None:
    """The ledger's ``planted`` has teeth: a value, raw or base64, in an output is a hit."""
    ledger = Ledger(tmp_path)
    leaked = base64.b64encode(PLANTED["token"]).decode()
    outputs = {"clean": "template.data.x: line 1: undefined name", "b64": f"data {leaked}",
               "raw": "no attribute 'PLANTVALUE123'"}  # fmt: skip
    assert ledger.planted("t", PLANTED.values(), outputs) == ["b64", "raw"]
    assert len(ledger.scan()) == 2
