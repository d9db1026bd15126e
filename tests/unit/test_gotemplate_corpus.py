"""sealer.gotemplate renders the Go-template corpus as Go does, byte for byte.

The corpus (tests/data/gotemplate/corpus.yaml) covers every text/template action and builtin,
the Sprig functions Bitnami users use, keys with ``.`` and ``-`` through ``index``, trimming,
printf verbs, how maps and lists print, missing keys. Go's output was recorded through Helm's Go
engine (go-output.yaml, by ``python -m tests.gotemplate_record``); where helm-python-sdk is
installed the cases are also rendered live through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import yaml

from sealer.errors import TemplateError
from sealer.gotemplate import render_go_template_data
from tests.gotemplate_oracle import CORPUS, comparable, helm_oracle, unavailable
from tests.gotemplate_record import OUTPUT, load_corpus

CASES = load_corpus()
RECORDED: dict[str, dict[str, Any]] = yaml.safe_load(OUTPUT.read_text())


def ours(template: str, data: Mapping[str, str]) -> bytes | None:
    """Our output, or None when we refuse to render the template."""
    values = {key: value.encode() for key, value in data.items()}
    try:
        return render_go_template_data({"k": template}, values)["k"]
    except TemplateError:
        return None


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
