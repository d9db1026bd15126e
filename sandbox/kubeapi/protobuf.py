"""Decode the protobuf bodies that kubectl's generator commands send, for a few kinds.

``kubectl create secret|configmap|namespace|serviceaccount|token`` POST
``application/vnd.kubernetes.protobuf`` (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding):
the 4-byte magic ``k8s\\0``, then a ``runtime.Unknown`` message whose ``raw`` field holds the
object. Everything else kubectl and the Python clients send is JSON, so only these kinds are
decoded, with their field numbers from the Kubernetes ``generated.proto`` files; any other kind
is a 415, as from a server that does not speak protobuf. Answers are always JSON (kubectl
accepts it).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

from sandbox.kubeapi.errors import ApiError

Obj = dict[str, Any]
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
Decoder = Callable[[Any], Any]  # takes an int (varint) or bytes (length-delimited)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, Any]]:
    """(field number, value) per field: ints for varints, bytes for length-delimited."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            yield number, buf[pos : pos + length]
            pos += length
        elif wire in (1, 5):  # fixed64 / fixed32: not used by the kinds decoded here
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _text(value: Any) -> str:
    return bytes(value).decode()


def _b64(value: Any) -> str:
    return base64.b64encode(bytes(value)).decode()


def _bool(value: Any) -> bool:
    return bool(value)


def _int(value: Any) -> int:
    return int(value)


def _message(spec: dict[int, tuple[str, Decoder, str]]) -> Decoder:
    """A decoder for a message: field number -> (json name, value decoder, kind), where kind is
    "one", "list" or "map" (a map entry is a message with key 1 and value 2)."""

    def decode(buf: bytes) -> Obj:
        out: Obj = {}
        for number, raw in _fields(bytes(buf)):
            if number not in spec:
                continue
            name, value_decoder, kind = spec[number]
            if kind == "map":
                entry = dict(_fields(bytes(raw)))
                out.setdefault(name, {})[_text(entry.get(1, b""))] = value_decoder(
                    entry.get(2, b"")
                )
            elif kind == "list":
                out.setdefault(name, []).append(value_decoder(raw))
            else:
                value = value_decoder(raw)
                # Go emits every scalar, empty or not; JSON omits empty ones (``omitempty``).
                if value not in ("", 0, False) or isinstance(value, dict):
                    out[name] = value
        return out

    return decode


_OWNER = _message({
    5: ("apiVersion", _text, "one"), 1: ("kind", _text, "one"), 3: ("name", _text, "one"),
    4: ("uid", _text, "one"), 6: ("controller", _bool, "one"),
    7: ("blockOwnerDeletion", _bool, "one"),
})  # fmt: skip
_META = _message({
    1: ("name", _text, "one"), 2: ("generateName", _text, "one"), 3: ("namespace", _text, "one"),
    5: ("uid", _text, "one"), 6: ("resourceVersion", _text, "one"), 7: ("generation", _int, "one"),
    11: ("labels", _text, "map"), 12: ("annotations", _text, "map"),
    13: ("ownerReferences", _OWNER, "list"), 14: ("finalizers", _text, "list"),
})  # fmt: skip
_NAME_REF = _message({1: ("name", _text, "one")})
_KINDS: dict[str, Decoder] = {
    "Secret": _message({
        1: ("metadata", _META, "one"), 2: ("data", _b64, "map"), 3: ("type", _text, "one"),
        4: ("stringData", _text, "map"), 5: ("immutable", _bool, "one"),
    }),
    "ConfigMap": _message({
        1: ("metadata", _META, "one"), 2: ("data", _text, "map"), 3: ("binaryData", _b64, "map"),
        4: ("immutable", _bool, "one"),
    }),
    "Namespace": _message({
        1: ("metadata", _META, "one"),
        2: ("spec", _message({1: ("finalizers", _text, "list")}), "one"),
    }),
    "ServiceAccount": _message({
        1: ("metadata", _META, "one"), 2: ("secrets", _NAME_REF, "list"),
        3: ("imagePullSecrets", _NAME_REF, "list"),
        4: ("automountServiceAccountToken", _bool, "one"),
    }),
    "TokenRequest": _message({
        1: ("metadata", _META, "one"),
        2: ("spec", _message({
            1: ("audiences", _text, "list"), 4: ("expirationSeconds", _int, "one"),
            3: ("boundObjectRef", _message({
                1: ("kind", _text, "one"), 2: ("apiVersion", _text, "one"),
                3: ("name", _text, "one"), 4: ("uid", _text, "one"),
            }), "one"),
        }), "one"),
    }),
}  # fmt: skip
_TYPE_META = _message({1: ("apiVersion", _text, "one"), 2: ("kind", _text, "one")})


def decode(body: bytes) -> Obj:
    """The JSON form of a protobuf-encoded object of one of the decoded kinds; 415 otherwise."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "protobuf body without the k8s magic prefix")
    try:
        envelope = dict(_fields(body[len(MAGIC) :]))
        type_meta = _TYPE_META(bytes(envelope.get(1, b"")))
        kind = type_meta.get("kind", "")
        if kind not in _KINDS:
            known = ", ".join(sorted(_KINDS))
            raise ApiError(
                415, "UnsupportedMediaType",
                f"the emulator decodes protobuf only for {known}, not {kind!r}; "
                "send application/json",
            )  # fmt: skip
        obj: Obj = _KINDS[kind](bytes(envelope.get(2, b"")))
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"cannot decode the protobuf body: {exc}") from exc
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}
