"""Bitnami's controller opening a SealedSecret, written from its source, for tests only.

An independent reader: it shares no code with sealops (not ``sealer.envelope``, not
``sealer.manifests``) and follows upstream sealed-secrets line by line:

- ``pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go``: ``SecretScope`` (the object's
  annotations, compared with ``== "true"``, cluster-wide first), ``EncryptionLabel``
  (``namespace/name``, ``namespace`` or empty) and ``(*SealedSecret).Unseal`` (label from the
  SealedSecret's own metadata; the Secret's metadata, type and immutability from the template;
  every ``encryptedData`` value base64-decoded with ``StdEncoding`` and opened; then each
  ``template.data`` entry rendered over the map of decrypted strings; name and namespace set from
  the object; the controller ownerReference unless the template says
  ``sealedsecrets.bitnami.com/skip-set-owner-references: "true"``);
- ``pkg/crypto/crypto.go``: ``HybridDecrypt`` (try every private key) and ``singleDecrypt``
  (uint16 big-endian RSA length, RSA-OAEP with SHA-256 and the label, AES-GCM with the session key
  and a zero nonce, no additional data).

Go ``text/template`` is rendered for the actions ``seal migrate --to bitnami`` writes (text,
``{{ .name }}``, ``{{ index . "key" }}``) with its semantics for a ``map[string]string``: a missing
field prints ``<no value>``, a missing ``index`` the empty string. Any other action raises
:class:`NotImplementedError`, so a test never passes on a template this reader does not know.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
SKIP_OWNER = "sealedsecrets.bitnami.com/skip-set-owner-references"

STRICT, NAMESPACE_WIDE_SCOPE, CLUSTER_WIDE_SCOPE = "strict", "namespace-wide", "cluster-wide"


class UnsealError(Exception):
    """What upstream returns as an error from ``Unseal``."""


def secret_scope(annotations: Mapping[str, str] | None) -> str:
    """``SecretScope``: exactly ``"true"``, cluster-wide checked first."""
    annotations = annotations or {}
    if annotations.get(CLUSTER_WIDE) == "true":
        return CLUSTER_WIDE_SCOPE
    if annotations.get(NAMESPACE_WIDE) == "true":
        return NAMESPACE_WIDE_SCOPE
    return STRICT


def encryption_label(namespace: str, name: str, scope: str) -> bytes:
    """``EncryptionLabel``: Go's ``fmt.Sprintf("%s/%s")`` even with an empty namespace."""
    if scope == CLUSTER_WIDE_SCOPE:
        return b""
    if scope == NAMESPACE_WIDE_SCOPE:
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def single_decrypt(key: rsa.RSAPrivateKey, ciphertext: bytes, label: bytes) -> bytes:
    if len(ciphertext) < 2:
        raise UnsealError("SealedSecret data is too short")
    rsa_len = int.from_bytes(ciphertext[:2], "big")
    if len(ciphertext) < rsa_len + 2:
        raise UnsealError("SealedSecret data is too short")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label)
    session_key = key.decrypt(ciphertext[2 : rsa_len + 2], oaep)  # raises ValueError
    return AESGCM(session_key).decrypt(bytes(12), ciphertext[rsa_len + 2 :], None)


def hybrid_decrypt(keys: Mapping[str, rsa.RSAPrivateKey], ciphertext: bytes, label: bytes) -> bytes:
    for key in keys.values():
        try:
            return single_decrypt(key, ciphertext, label)
        except Exception:  # noqa: S112 - upstream ignores each key's error and goes on
            continue
    raise UnsealError("no key could decrypt secret")


def go_std_base64(text: str) -> bytes:
    """``base64.StdEncoding.DecodeString``: padded standard alphabet; CR and LF are skipped."""
    text = text.replace("\r", "").replace("\n", "")
    if len(text) % 4:
        raise UnsealError("illegal base64 data")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise UnsealError("illegal base64 data") from None


_ACTION = re.compile(r"\{\{(.*?)\}\}", re.S)
_FIELD = re.compile(r" *\.([A-Za-z_][A-Za-z0-9_]*) *")
_INDEX = re.compile(r' *index +\. +("(?:[^"\\]|\\.)*") *')


def go_render(source: str, data: Mapping[str, bytes]) -> bytes:
    """``template.New(key).Parse(source).Execute(&buf, data)`` for the actions listed above."""
    out = bytearray()
    pos = 0
    for action in _ACTION.finditer(source):
        out += source[pos : action.start()].encode()
        inner = action.group(1)
        if inner.startswith("-") or inner.endswith("-"):
            raise NotImplementedError("trim markers")
        if field := _FIELD.fullmatch(inner):
            out += data.get(field.group(1), b"<no value>")
        elif index := _INDEX.fullmatch(inner):
            out += data.get(json.loads(index.group(1)), b"")
        else:
            raise NotImplementedError(f"action {inner!r}")
        pos = action.end()
    if "{{" in source[pos:]:
        raise UnsealError("unclosed action")
    out += source[pos:].encode()
    return bytes(out)


def unseal(sealed: Mapping[str, Any], keys: Mapping[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    """``(*SealedSecret).Unseal``: the Secret Bitnami's controller writes, data as raw bytes."""
    meta = sealed.get("metadata") or {}
    spec = sealed.get("spec") or {}
    namespace, name = meta.get("namespace", ""), meta.get("name", "")
    label = encryption_label(namespace, name, secret_scope(meta.get("annotations")))
    template = spec.get("template") or {}
    secret: dict[str, Any] = {"metadata": dict(template.get("metadata") or {})}
    secret["type"] = template.get("type", "")
    secret["immutable"] = template.get("immutable")
    data: dict[str, bytes] = {}
    errors: list[str] = []
    for key, value in (spec.get("encryptedData") or {}).items():
        try:
            data[key] = hybrid_decrypt(keys, go_std_base64(value), label)
        except UnsealError as exc:
            errors.append(f"{key}: {exc}")
    strings = dict(data)
    for key, source in (template.get("data") or {}).items():
        if source is None:
            data.pop(key, None)
            continue
        data[key] = go_render(source, strings)
    if errors:
        raise UnsealError(", ".join(sorted(errors)))
    secret["data"] = data
    secret["metadata"]["namespace"], secret["metadata"]["name"] = namespace, name
    template_annotations = (template.get("metadata") or {}).get("annotations") or {}
    if template_annotations.get(SKIP_OWNER) != "true":
        kind, api = sealed.get("kind"), sealed.get("apiVersion")
        secret["metadata"]["ownerReferences"] = [
            {"apiVersion": api, "kind": kind, "name": name, "controller": True}
        ]
    return secret
