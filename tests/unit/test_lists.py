"""One ``List`` flattener (sealer.lists), for manifests and key backups."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from sealer.errors import KeyMaterialError, ManifestError
from sealer.keys import load_private_keys
from sealer.lists import flatten, is_list
from sealer.manifests import load_documents
from sealer.reader import DEFAULT_LIMITS, InputBoundError

DATA = Path(__file__).parents[1] / "data"


def obj(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def lst(*items: Any, kind: str = "List") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": kind, "items": list(items)}


def names(docs: list[dict[str, Any]]) -> list[str]:
    return [d["metadata"]["name"] for d in docs]


# (id, document, names in order, reason)
FLATTENS = [
    ("not-a-list", obj("a"), ["a"], "an object is itself"),
    ("v1-list", lst(obj("a"), obj("b")), ["a", "b"], "kubectl's v1 List"),
    ("typed-list", lst(obj("a"), kind="SecretList"), ["a"], "kubectl get secret -o yaml"),
    ("nested", lst(obj("a"), lst(obj("b"), lst(obj("c"))), obj("d")), ["a", "b", "c", "d"], "in"),
    ("empty-list", lst(), [], "a List of nothing gives nothing"),
]


@pytest.mark.parametrize(
    ("doc", "expected", "reason"), [f[1:] for f in FLATTENS], ids=[f[0] for f in FLATTENS]
)
def test_flatten(doc: dict[str, Any], expected: list[str], reason: str) -> None:
    assert names(flatten(doc, source="f.yaml")) == expected, reason


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"kind": "List", "items": None, "metadata": {"name": "x"}}, "items is not a list"),
        ({"kind": "List", "items": {"a": 1}, "metadata": {"name": "x"}}, "items is a mapping"),
        ({"kind": 7, "items": [], "metadata": {"name": "x"}}, "kind is not text"),
        ({"kind": "Listing", "items": [], "metadata": {"name": "x"}}, "kind does not end in List"),
    ],
    ids=["items-null", "items-mapping", "kind-number", "kind-listing"],
)
def test_what_is_not_a_list_is_an_object(doc: dict[str, Any], reason: str) -> None:
    assert not is_list(doc), reason
    assert flatten(doc, source="f.yaml") == [doc], reason


def test_an_item_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ManifestError, match=r"^f\.yaml: List item 2 is a str, not a Kubernetes"):
        flatten(lst(obj("a"), "hunter2"), source="f.yaml")


def test_bounds() -> None:
    deep: dict[str, Any] = obj("a")
    for _ in range(DEFAULT_LIMITS.max_list_depth + 1):
        deep = lst(deep)
    with pytest.raises(InputBoundError, match="nests Lists deeper than 4 levels"):
        flatten(deep, source="f.yaml")
    many = lst(*[obj(str(i)) for i in range(11)])
    with pytest.raises(InputBoundError, match="more than 10 objects"):
        flatten(many, source="f.yaml", limits=DEFAULT_LIMITS.with_(max_objects=10))
    into = [obj("first")]
    assert names(flatten(lst(obj("b")), source="f.yaml", into=into)) == ["first", "b"]


def test_load_documents_flattens_every_document() -> None:
    text = "kind: List\nitems:\n- {kind: List, items: [{kind: A, metadata: {name: a}}]}\n"
    text += "---\nkind: B\nmetadata: {name: b}\n"
    assert names(load_documents(text, source="f.yaml")) == ["a", "b"]


def _tls(pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "k", "namespace": "sealops-system"},
        "data": {"tls.key": base64.b64encode(pem).decode()},
    }


def test_a_key_backup_of_nested_lists() -> None:
    pem = (DATA / "key-2048.pem").read_bytes()
    backup = lst(_tls(pem), lst(_tls((DATA / "key-4096.pem").read_bytes())), kind="SecretList")
    pairs = load_private_keys(repr(backup).replace("'", '"').encode(), source="backup.json")
    assert [p.private_key.key_size for p in pairs] == [2048, 4096]


def test_a_key_backup_list_with_a_bad_item() -> None:
    """Too lax before: a List item that is not a mapping was passed on as a Secret."""
    backup = lst(_tls((DATA / "key-2048.pem").read_bytes()), 3)
    with pytest.raises(KeyMaterialError, match=r"^backup\.json: List item 2 is a int"):
        load_private_keys(repr(backup).replace("'", '"').encode(), source="backup.json")
