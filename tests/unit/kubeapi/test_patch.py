"""The emulator's patch formats, table-driven: RFC 7386 merge patch, RFC 6902 JSON patch and
Kubernetes strategic merge patch
(https://github.com/kubernetes/community/blob/master/contributors/devel/sig-api-machinery/strategic-merge-patch.md)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.kubeapi.patch import PatchError, json_patch, merge_patch, strategic_merge_patch

DOC = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}


@pytest.mark.parametrize(
    ("patch", "want"),
    [
        ({"a": {"b": None}}, {"a": {"c": [1, 2]}, "d": "x"}),  # null deletes
        ({"a": {"c": [3]}}, {"a": {"b": 1, "c": [3]}, "d": "x"}),  # lists replace
        ({"e": {"f": 1}}, {**DOC, "e": {"f": 1}}),  # new objects are made
        ({"a": "flat"}, {"a": "flat", "d": "x"}),  # scalars replace objects
    ],
    ids=["null-deletes", "list-replaces", "adds", "scalar-replaces"],
)
def test_merge_patch(patch: Any, want: Any) -> None:
    assert merge_patch(DOC, patch) == want
    assert DOC == {"a": {"b": 1, "c": [1, 2]}, "d": "x"}  # the input is untouched


@pytest.mark.parametrize(
    ("ops", "want"),
    [
        ([{"op": "add", "path": "/a/c/1", "value": 9}], {"a": {"b": 1, "c": [1, 9, 2]}, "d": "x"}),
        ([{"op": "add", "path": "/a/c/-", "value": 9}], {"a": {"b": 1, "c": [1, 2, 9]}, "d": "x"}),
        ([{"op": "remove", "path": "/a/b"}], {"a": {"c": [1, 2]}, "d": "x"}),
        ([{"op": "replace", "path": "/d", "value": "y"}], {"a": {"b": 1, "c": [1, 2]}, "d": "y"}),
        ([{"op": "move", "from": "/d", "path": "/e"}], {"a": {"b": 1, "c": [1, 2]}, "e": "x"}),
        ([{"op": "copy", "from": "/a/b", "path": "/f"}], {**DOC, "f": 1}),
        ([{"op": "test", "path": "/a/c", "value": [1, 2]}], DOC),
        ([{"op": "add", "path": "/k~1v", "value": 1}], {**DOC, "k/v": 1}),  # ~1 escapes "/"
    ],
    ids=["add-index", "add-end", "remove", "replace", "move", "copy", "test-passes", "escaped"],
)
def test_json_patch(ops: Any, want: Any) -> None:
    assert json_patch(DOC, ops) == want


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "test", "path": "/d", "value": "nope"}],
        [{"op": "remove", "path": "/missing"}],
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "add", "path": "/a/c/7", "value": 1}],
        [{"op": "frobnicate", "path": "/d"}],
        {"op": "add"},
    ],
    ids=[
        "failed-test",
        "remove-missing",
        "replace-missing",
        "index-out-of-range",
        "unknown-op",
        "not-a-list",
    ],
)
def test_json_patch_errors(ops: Any) -> None:
    with pytest.raises(PatchError):
        json_patch(DOC, ops)


POD_SPEC: dict[str, Any] = {
    "containers": [
        {"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
        {"name": "b", "image": "b:1"},
    ],
    "volumes": [{"name": "v", "emptyDir": {}}],
    "tolerations": [{"key": "t"}],
}


@pytest.mark.parametrize(
    ("patch", "want"),
    [
        (
            {"containers": [{"name": "a", "image": "a:2"}]},
            {
                **POD_SPEC,
                "containers": [
                    {**POD_SPEC["containers"][0], "image": "a:2"},
                    POD_SPEC["containers"][1],
                ],
            },
        ),
        (
            {"containers": [{"name": "b", "$patch": "delete"}]},
            {**POD_SPEC, "containers": [POD_SPEC["containers"][0]]},
        ),
        (
            {"volumes": [{"name": "w", "secret": {}}]},
            {**POD_SPEC, "volumes": [*POD_SPEC["volumes"], {"name": "w", "secret": {}}]},
        ),
        (
            {"tolerations": [{"key": "u"}]},
            {**POD_SPEC, "tolerations": [{"key": "u"}]},
        ),  # no merge key: replace
        (
            {"volumes": [{"$patch": "replace"}, {"name": "z"}]},
            {**POD_SPEC, "volumes": [{"name": "z"}]},
        ),
        ({"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}, POD_SPEC),  # order only
        ({"tolerations": None}, {k: v for k, v in POD_SPEC.items() if k != "tolerations"}),
    ],
    ids=[
        "merge-by-name",
        "delete-directive",
        "append-new",
        "replace-unkeyed",
        "replace-directive",
        "element-order",
        "null-deletes",
    ],
)
def test_strategic_merge_patch(patch: Any, want: Any) -> None:
    assert strategic_merge_patch(POD_SPEC, patch) == want


def test_strategic_merge_unions_finalizers_and_deletes_from_primitive_lists() -> None:
    meta = {"metadata": {"finalizers": ["a", "b"]}}
    assert strategic_merge_patch(meta, {"metadata": {"finalizers": ["c", "a"]}}) == {
        "metadata": {"finalizers": ["a", "b", "c"]}
    }
    assert strategic_merge_patch(
        meta, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}
    ) == {"metadata": {"finalizers": ["b"]}}


_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
_docs = st.recursive(
    _leaf, lambda inner: st.dictionaries(st.sampled_from("abcde"), inner, max_size=4), max_leaves=12
)


@settings(max_examples=50, deadline=None)
@given(
    target=st.dictionaries(st.sampled_from("abcde"), _docs, max_size=4),
    patch=st.dictionaries(st.sampled_from("abcde"), _docs, max_size=4),
)
def test_strategic_merge_equals_merge_without_lists(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    # Without lists or directives, a strategic merge patch is a JSON merge patch.
    assert strategic_merge_patch(target, patch) == merge_patch(target, patch)


@settings(max_examples=50, deadline=None)
@given(
    target=st.dictionaries(st.sampled_from("abcde"), _docs, max_size=4),
    patch=st.dictionaries(st.sampled_from("abcde"), _docs, max_size=4),
)
def test_merge_patch_is_idempotent(target: dict[str, Any], patch: dict[str, Any]) -> None:
    # RFC 7386: applying the same merge patch twice changes nothing more.
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once
