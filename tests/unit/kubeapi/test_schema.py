"""openAPIV3Schema handling as the real server does it
(https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
pruning of unknown fields, defaulting, and validation of the structural subset through
jsonschema (``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``,
``x-kubernetes-embedded-resource``); metadata is never checked against the schema."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.kubeapi.schema import CompiledSchema

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "metadata": {"type": "object", "properties": {"name": {"type": "integer"}}},
        "spec": {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"n": {"type": "integer", "default": 7}},
                    },
                },
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "map": {"type": "object", "additionalProperties": {"type": "string"}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "x-kubernetes-preserve-unknown-fields": True},
                "maybe": {"type": "string", "nullable": True, "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "x-kubernetes-list-type": "set",
                },
                "when": {"type": "string", "format": "date-time"},
                "blob": {"type": "string", "format": "byte"},
                "count": {"type": "integer", "format": "int64"},
                "conditions": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            },
        },
    },
}  # fmt: skip
schema = CompiledSchema(SCHEMA)


def test_prune_and_default() -> None:
    obj = {
        "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n", "labels": {"a": "b"}},
        "top": 1,
        "spec": {"gone": 1, "items": [{"extra": 1}, {"n": 2}], "free": {"any": {"thing": 1}},
                 "map": {"k": "v"}, "template": {"apiVersion": "v1", "kind": "Pod", "whatever": 1}},
    }  # fmt: skip
    assert schema.apply(obj) == {
        "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n", "labels": {"a": "b"}},
        "spec": {"items": [{"n": 7}, {"n": 2}], "free": {"any": {"thing": 1}}, "map": {"k": "v"},
                 "template": {"apiVersion": "v1", "kind": "Pod", "whatever": 1}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({"maybe": None, "port": 80}, []),
        ({"maybe": "a", "port": "http"}, []),
        ({"maybe": "c"}, ["spec.maybe"]),
        ({"port": [1]}, ["spec.port"]),
        ({"items": [{"n": "one"}]}, ["spec.items[0].n"]),
        ({"map": {"k": 1}}, ["spec.map.k"]),
        ({"tags": ["a", "b", "a"]}, ["spec.tags"]),
        ({"when": "2026-01-01T00:00:00Z", "blob": "aGk=", "count": 2**40}, []),
        ({"when": "yesterday"}, ["spec.when"]),
        ({"blob": "not base64!"}, ["spec.blob"]),
        ({"conditions": [{"type": "A"}, {"type": "B"}]}, []),
        ({"conditions": [{"type": "A", "s": 1}, {"type": "A", "s": 2}]}, ["spec.conditions"]),
    ],
    ids=[
        "nullable-null",
        "int-or-string",
        "enum",
        "int-or-string-list",
        "array-item",
        "map-value",
        "set-duplicate",
        "formats-ok",
        "date-time",
        "byte",
        "map-list",
        "map-list-duplicate-key",
    ],
)
def test_validation(spec: dict[str, Any], fields: list[str]) -> None:
    obj = {"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n"}, "spec": spec}
    assert [field for field, _ in schema.errors(obj)] == fields


def test_required_and_metadata_not_checked() -> None:
    # metadata.name is a string, whatever the schema says: the server validates metadata itself.
    causes = schema.errors({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n"}})
    assert causes == [("spec", "Required value")]
