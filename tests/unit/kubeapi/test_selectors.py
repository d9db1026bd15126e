"""Label and field selector parsing
(https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors),
including the malformed ones a real server answers with 400."""

from __future__ import annotations

import pytest

from sandbox.kubeapi.errors import ApiError
from sandbox.kubeapi.selectors import FieldSelector, LabelSelector


def _obj(**labels: str) -> dict[str, object]:
    return {"metadata": {"name": "n", "namespace": "ns", "labels": labels}, "type": "Opaque"}


@pytest.mark.parametrize(
    ("selector", "labels", "want"),
    [
        ("", {}, True),
        ("a=1", {"a": "1"}, True),
        ("a = 1", {"a": "1"}, True),  # spaces around operators are allowed
        ("a!=1", {}, True),
        ("a in (1, 2)", {"a": "2"}, True),
        ("a notin (1,2),b", {"b": "x"}, True),
        ("app.kubernetes.io/name=x", {"app.kubernetes.io/name": "x"}, True),
        ("!a", {"a": "1"}, False),
        ("a,b", {"a": "1"}, False),
    ],
    ids=[
        "empty",
        "equals",
        "spaces",
        "not-equals-absent",
        "in",
        "notin-and-exists",
        "prefixed-key",
        "not-exists",
        "and",
    ],
)
def test_label_selector(selector: str, labels: dict[str, str], want: bool) -> None:
    assert LabelSelector.parse(selector).matches(_obj(**labels)) is want


@pytest.mark.parametrize(
    "selector", ["a=(b", "=x", "a in x"], ids=["bad-value", "no-key", "set-without-parens"]
)
def test_bad_label_selectors_are_400(selector: str) -> None:
    with pytest.raises(ApiError) as info:
        LabelSelector.parse(selector)
    assert info.value.code == 400


def test_field_selector() -> None:
    selector = FieldSelector.parse(
        "metadata.name=n,metadata.namespace!=other,type==Opaque", "Secret"
    )
    assert selector.matches(_obj()) and selector.name == "n"
    assert not FieldSelector.parse("metadata.name=m", "Secret").matches(_obj())
    with pytest.raises(ApiError) as info:
        FieldSelector.parse("type=Opaque", "ConfigMap")  # type is a Secret field only
    assert info.value.code == 400
