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

- ``pkg/controller/main.go`` and ``keyregistry.go``: the key registry is every Secret of the
  controller's namespace labelled ``sealedsecrets.bitnami.com/sealed-secrets-key=active``, each
  one's ``tls.key`` a PEM private key and its ``tls.crt`` a PEM certificate (:func:`key_registry`);
- ``pkg/controller/controller.go``: ``updateSecret`` writes over an existing Secret only if the
  SealedSecret controls it (``metav1.IsControlledBy``: the controller ownerReference's uid) or the
  Secret is annotated ``sealedsecrets.bitnami.com/managed: "true"`` (:func:`accepts`).

Go ``text/template`` is rendered for the actions ``seal migrate --to bitnami`` writes (text,
``{{ .name }}``, ``{{ index . "key" }}``) and Sprig's ``{{ .name | b64enc }}``, with its semantics for a ``map[string]string``: a missing
field prints ``<no value>``, a missing ``index`` the empty string. Any other action raises
:class:`NotImplementedError`, so a test never passes on a template this reader does not know.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
SKIP_OWNER = "sealedsecrets.bitnami.com/skip-set-owner-references"
KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
MANAGED = "sealedsecrets.bitnami.com/managed"

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
_B64ENC = re.compile(r" *\.([A-Za-z_][A-Za-z0-9_]*) *\| *b64enc *")


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
        elif (encode := _B64ENC.fullmatch(inner)) and encode.group(1) in data:
            out += base64.b64encode(data[encode.group(1)])
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


def key_registry(secrets: Iterable[Mapping[str, Any]]) -> dict[str, rsa.RSAPrivateKey]:
    """``initKeyRegistry``: the private keys of the namespace's Secrets labelled ``active``."""
    keys: dict[str, rsa.RSAPrivateKey] = {}
    for secret in secrets:
        meta = secret.get("metadata") or {}
        if (meta.get("labels") or {}).get(KEY_LABEL) != "active":
            continue
        data = secret.get("data") or {}
        x509.load_pem_x509_certificate(base64.b64decode(data["tls.crt"]))  # readKey parses both
        key = serialization.load_pem_private_key(base64.b64decode(data["tls.key"]), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UnsealError(f"Secret {meta.get('name')}: tls.key is not an RSA key")
        keys[meta.get("name", "")] = key
    return keys


def accepts(
    sealed: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    keys: Mapping[str, rsa.RSAPrivateKey],
) -> dict[str, Any]:
    """``unseal`` then ``updateSecret``'s ownership rule for the Secret already there (if any):
    the Secret Bitnami's controller would write, or :class:`UnsealError` as it refuses."""
    secret = unseal(sealed, keys)
    if existing is None:
        return secret
    meta = existing.get("metadata") or {}
    owner_uid = (sealed.get("metadata") or {}).get("uid")
    controlled = any(
        ref.get("controller") and ref.get("uid") == owner_uid
        for ref in meta.get("ownerReferences") or []
    )
    if not controlled and (meta.get("annotations") or {}).get(MANAGED) != "true":
        raise UnsealError(
            f"Resource {meta.get('name')!r} already exists and is not managed by SealedSecret"
        )
    return secret
