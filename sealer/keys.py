"""Key material: generate, load, fingerprint and export sealing keys.

Pure code (the clock is passed in). Used by the CLI (``seal keygen``, ``--cert``, ``--private-key``)
and by the controller's keyring. Formats accepted, so that Bitnami users bring their keys as-is:

- public side: an X.509 certificate (what ``kubeseal --fetch-cert`` prints) or a PKIX public key;
- private side: PKCS#1 or PKCS#8 PEM, a ``kubernetes.io/tls`` Secret (YAML or JSON), or a ``List``
  of such Secrets (``kubectl get secret -l … -o yaml``, Bitnami's backup format).

Keys are named by their OpenSSH-style fingerprint, ``SHA256:`` + unpadded base64 of SHA-256 over
the SSH wire encoding of the RSA public key: the form Bitnami's code uses.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sealer.api import metadata
from sealer.errors import CertificateExpired, KeyMaterialError, ManifestError
from sealer.lists import flatten
from sealer.reader import InputBoundError, read_yaml
from sealer.rfc3339 import parse_rfc3339
from sealer.secretdata import SecretDataError, decode_value

__all__ = [
    "DEFAULT_KEY_SIZE",
    "DEFAULT_VALIDITY",
    "MIN_KEY_SIZE",
    "KeyPair",
    "Recipient",
    "fingerprint",
    "generate_keypair",
    "keys_from_secret",
    "load_private_keys",
    "load_recipient",
    "private_key_pem",
]

DEFAULT_KEY_SIZE = 4096
#: Keys and certificates under this size are refused, for sealing and for opening.
MIN_KEY_SIZE = 2048
DEFAULT_VALIDITY = dt.timedelta(days=3650)  # ten years, as Bitnami's controller
DEFAULT_CN = "sealed-secret"

_PRIVATE_PEM_MARKERS = (b"-----BEGIN RSA PRIVATE KEY-----", b"-----BEGIN PRIVATE KEY-----")


def fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """``SHA256:<unpadded base64>`` of the SSH wire encoding (``ssh-rsa``, e, n)."""
    openssh = public_key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    wire = base64.b64decode(openssh.split()[1])
    digest = hashlib.sha256(wire).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Recipient:
    """A public key to seal for, with its certificate when one was given."""

    public_key: rsa.RSAPublicKey
    fingerprint: str
    certificate: x509.Certificate | None = None
    source: str = "certificate"

    def check_valid(self, now: dt.datetime) -> None:
        """Refuse a certificate outside its validity window (a plain public key has none)."""
        cert = self.certificate
        if cert is None:
            return
        if now > cert.not_valid_after_utc:
            raise CertificateExpired(
                f"certificate {self.fingerprint} expired on "
                f"{cert.not_valid_after_utc:%Y-%m-%d}; fetch the current one (seal cert)",
                where=self.source,
            )
        if now < cert.not_valid_before_utc:
            raise KeyMaterialError(
                f"certificate {self.fingerprint} is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d}",
                where=self.source,
            )


@dataclass(frozen=True)
class KeyPair:
    """A private key and, when known, its certificate. ``created`` orders keys (newest seals)."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate | None = None
    created: dt.datetime | None = None
    name: str = ""
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint(self.private_key.public_key()))

    @property
    def recipient(self) -> Recipient:
        return Recipient(
            public_key=self.private_key.public_key(),
            fingerprint=self.fingerprint,
            certificate=self.certificate,
            source=self.name or "key",
        )

    def certificate_pem(self) -> bytes:
        if self.certificate is None:
            raise KeyMaterialError("this key has no certificate", where=self.name or None)
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def generate_keypair(
    *,
    now: dt.datetime,
    common_name: str = DEFAULT_CN,
    key_size: int = DEFAULT_KEY_SIZE,
    validity: dt.timedelta = DEFAULT_VALIDITY,
    name: str = "",
) -> KeyPair:
    """A new RSA key with a self-signed certificate, as Bitnami's controller makes them."""
    if key_size < MIN_KEY_SIZE:
        raise KeyMaterialError(f"key size {key_size} is too small (at least {MIN_KEY_SIZE} bits)")
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + validity)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return KeyPair(private_key=private_key, certificate=certificate, created=now, name=name)


def private_key_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    """PKCS#1 PEM (``RSA PRIVATE KEY``), the form Bitnami stores in ``tls.key``."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def load_recipient(data: bytes, *, source: str = "certificate") -> Recipient:
    """Load a certificate or a PKIX public key (PEM, or DER for a certificate)."""
    if b"PRIVATE KEY" in data:
        raise KeyMaterialError(
            "this is a private key; give the certificate (seal cert) instead", where=source
        )
    cert: x509.Certificate | None = None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            cert = x509.load_pem_x509_certificate(data)
        elif b"-----BEGIN PUBLIC KEY-----" in data:
            key = serialization.load_pem_public_key(data)
            return _recipient_from_key(key, None, source)
        elif data[:1] == b"\x30":
            cert = x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise KeyMaterialError(
            f"not a valid certificate or public key ({exc})", where=source
        ) from None
    if cert is None:
        raise KeyMaterialError("not a PEM certificate or public key", where=source)
    return _recipient_from_key(cert.public_key(), cert, source)


def _recipient_from_key(key: Any, cert: x509.Certificate | None, source: str) -> Recipient:
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyMaterialError(
            f"unsupported key type {type(key).__name__} (need RSA)", where=source
        )
    _check_size(key.key_size, "certificate" if cert is not None else "public key", source)
    return Recipient(public_key=key, fingerprint=fingerprint(key), certificate=cert, source=source)


def _check_size(bits: int, what: str, source: str) -> None:
    if bits < MIN_KEY_SIZE:
        raise KeyMaterialError(
            f"{what} has a {bits}-bit RSA key; keys under {MIN_KEY_SIZE} bits are refused",
            where=source,
        )


def load_private_keys(data: bytes, *, source: str = "private key") -> list[KeyPair]:
    """Every RSA private key in ``data``: PEM blocks, a tls Secret, or a List of them.

    Raises :class:`KeyMaterialError` if nothing usable is found, naming the source (never the key).
    """
    stripped = data.lstrip()
    if stripped.startswith(b"-----BEGIN"):
        pairs = list(_pem_keys(data, source=source, name=source))
    else:
        pairs = list(_secret_keys(data, source))
    if not pairs:
        raise KeyMaterialError("no RSA private key found", where=source)
    return pairs


def _pem_blocks(data: bytes) -> Iterator[bytes]:
    for marker in _PRIVATE_PEM_MARKERS:
        end = marker.replace(b"BEGIN", b"END")
        start = 0
        while (begin := data.find(marker, start)) >= 0:
            stop = data.find(end, begin)
            if stop < 0:
                yield data[begin:]  # let the loader report the truncation
                break
            start = stop + len(end)
            yield data[begin:start]


def _pem_keys(
    data: bytes,
    *,
    source: str,
    name: str,
    certificate: x509.Certificate | None = None,
    created: dt.datetime | None = None,
) -> Iterator[KeyPair]:
    blocks = list(_pem_blocks(data))
    if not blocks:
        raise KeyMaterialError("no PEM private key found", where=source)
    for block in blocks:
        try:
            key = serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError) as exc:
            reason = "encrypted keys are not supported" if "encrypted" in str(exc) else "malformed"
            raise KeyMaterialError(f"cannot load private key: {reason}", where=source) from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyMaterialError(
                f"unsupported key type {type(key).__name__} (need RSA)", where=source
            )
        _check_size(key.key_size, "private key", source)
        cert = certificate
        if cert is not None and fingerprint(cert.public_key()) != fingerprint(key.public_key()):  # type: ignore[arg-type]
            raise KeyMaterialError("tls.crt does not match tls.key", where=source)
        yield KeyPair(private_key=key, certificate=cert, created=created, name=name)


def _secret_keys(data: bytes, source: str) -> Iterator[KeyPair]:
    try:
        docs = [doc for doc in read_yaml(data, source=source) if doc is not None]
    except InputBoundError:
        raise
    except ManifestError:
        raise KeyMaterialError(
            "neither PEM nor a YAML/JSON Secret with tls.key", where=source
        ) from None
    objects: list[Any] = []
    for doc in docs:
        try:
            objects += flatten(doc, source=source) if isinstance(doc, dict) else [doc]
        except InputBoundError:
            raise
        except ManifestError as exc:
            raise KeyMaterialError(exc.message, where=source) from None
    for doc in objects:
        yield from _keys_from_secret(doc, source)


def keys_from_secret(doc: Any, *, source: str) -> list[KeyPair]:
    """The key(s) in one ``kubernetes.io/tls`` Secret (a dict, as the API returns it)."""
    return list(_keys_from_secret(doc, source))


def _keys_from_secret(doc: Any, source: str) -> Iterator[KeyPair]:
    if not isinstance(doc, dict) or doc.get("kind") != "Secret":
        kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        raise KeyMaterialError(f"expected a Secret holding tls.key, got {kind}", where=source)
    meta = metadata(doc)
    name = f"Secret {meta.get('namespace', '')}/{meta.get('name', '')}".replace(" /", " ")
    data = doc.get("data") or {}
    string_data = doc.get("stringData") or {}
    key_pem = _secret_field(data, string_data, "tls.key", name)
    if key_pem is None:
        raise KeyMaterialError("missing", where=name, field="data.tls.key")
    cert_pem = _secret_field(data, string_data, "tls.crt", name)
    cert = None
    if cert_pem:
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:
            raise KeyMaterialError(
                "not a PEM certificate", where=name, field="data.tls.crt"
            ) from None
    # The certificate's start survives backup and restore; creationTimestamp does not.
    created = cert.not_valid_before_utc if cert is not None else None
    created = created or _parse_time(meta.get("creationTimestamp"))
    yield from _pem_keys(key_pem, source=name, name=name, certificate=cert, created=created)


def _secret_field(
    data: dict[str, Any], string_data: dict[str, Any], key: str, where: str
) -> bytes | None:
    if key in string_data:
        return str(string_data[key]).encode()
    if key not in data:
        return None
    try:
        return decode_value(data[key], key=key)
    except SecretDataError as exc:
        raise KeyMaterialError(exc.message, where=where, field=exc.field) from None


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if not isinstance(value, str):
        return None
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None
