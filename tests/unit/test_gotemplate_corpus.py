"""sealer.gotemplate renders the Go-template corpus as Go does, byte for byte.

The corpus (tests/data/gotemplate/corpus.yaml) covers every text/template action and builtin,
the Sprig functions Bitnami users use, keys with ``.`` and ``-`` through ``index``, trimming,
printf verbs, how maps and lists print, missing keys. Go's output was recorded through Helm's Go
engine (go-output.yaml, by ``python -m tests.gotemplate_record``); where helm-python-sdk is
installed the cases are also rendered live through it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from sealer.errors import TemplateError
from sealer.gotemplate import render_go_template_data
from tests import gotemplate_random
from tests.gotemplate_oracle import CORPUS, comparable, helm_oracle, unavailable
from tests.gotemplate_record import OUTPUT, load_corpus

CASES = load_corpus()
RECORDED: dict[str, dict[str, Any]] = yaml.safe_load(OUTPUT.read_text())


def attempt(template: str, data: Mapping[str, str]) -> tuple[bytes | None, str]:
    """Our output, or None and the message when we refuse to render the template."""
    values = {key: value.encode() for key, value in data.items()}
    try:
        return render_go_template_data({"k": template}, values)["k"], ""
    except TemplateError as exc:
        return None, str(exc)


def ours(template: str, data: Mapping[str, str]) -> bytes | None:
    return attempt(template, data)[0]


# Where we refuse on purpose what Go renders: Sprig's b64dec returns the decoder's error text.
DELIBERATE = ("b64dec of text that is not base64", "is not supported")


def test_corpus_is_large_and_fully_recorded() -> None:
    assert len(CASES) >= 40
    assert len({case["name"] for case in CASES}) == len(CASES), "case names are unique"
    assert {case["name"] for case in CASES} == set(RECORDED), (
        f"re-run tests.gotemplate_record for {CORPUS}"
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_matches_recorded_go_output(case: dict[str, Any]) -> None:
    recorded = RECORDED[case["name"]]
    out = ours(case["template"], case["data"])
    if recorded.get("error"):
        assert out is None, "Go fails on this template; so must we"
    else:
        assert out is not None, "Go renders this template"
        assert comparable(out) == recorded["output"].encode()


@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
def test_matches_helm_live() -> None:
    with helm_oracle() as oracle:
        for case in CASES:
            go = oracle.render(case["template"], case["data"])
            out = ours(case["template"], case["data"])
            assert (out is None) == (go is None), case["name"]
            if out is not None:
                assert comparable(out) == go, case["name"]


@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
@pytest.mark.parametrize("seed", range(4))
def test_random_templates_match_helm(seed: int) -> None:
    """500 random templates per seed: ours and Go's outputs (or failures) are the same, but for
    a few deliberate refusals."""
    rng = random.Random(seed)
    mismatches, refused, rendered = [], 0, 0
    with helm_oracle() as oracle:
        for _ in range(500):
            template = gotemplate_random.template(rng)
            go = oracle.render(template, gotemplate_random.DATA)
            out, message = attempt(template, gotemplate_random.DATA)
            if out is None and go is not None and any(d in message for d in DELIBERATE):
                refused += 1
            elif (out is None) != (go is None) or (out is not None and comparable(out) != go):
                mismatches.append(template)
            rendered += go is not None
    assert mismatches == []
    assert refused < 25 and rendered > 150, "the templates exercise rendering, not refusals"


@pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))
def test_random_printf_matches_helm() -> None:
    """3,000 printf verbs with random flags, widths and precisions over values of every type."""
    rng = random.Random(7)
    mismatches, refused = [], 0
    with helm_oracle() as oracle:
        for _ in range(3000):
            template = gotemplate_random.printf_template(rng)
            go = oracle.render(template, gotemplate_random.DATA)
            out, message = attempt(template, gotemplate_random.DATA)
            if out is None and go is not None and "is not supported" in message:
                refused += 1  # %T, %p, %#v, %b of a float, # with a float
            elif (out is None) != (go is None) or (out is not None and comparable(out) != go):
                mismatches.append(template)
    assert mismatches == []
    assert refused < 300
