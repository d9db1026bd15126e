"""ServiceAccount tokens: TokenRequest issues RS256 JWTs, TokenReview checks them.

Enough of https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/
and .../token-review-v1/ for a real OpenBao with the Kubernetes auth method: tokens are compact JWS signed with an RSA key made at start, with ``iss``,
``aud``, ``sub`` = ``system:serviceaccount:NS:SA``, ``iat``/``nbf``/``exp`` and the
``kubernetes.io`` claim naming the namespace and the ServiceAccount (name and uid). A review is
authenticated when the signature, expiry and audience hold and the ServiceAccount still exists
with the same uid, as for the real server's bound tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.kubeapi.errors import invalid, not_found
from sandbox.kubeapi.store import Store

Obj = dict[str, Any]
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_AUDIENCES = [ISSUER]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # the test thread may ask for the key as the server signs
        self._made: rsa.RSAPrivateKey | None = None

    @property
    def _key(self) -> rsa.RSAPrivateKey:
        # Made on first use: most servers in tests never issue a token, and RSA keygen is slow.
        with self._lock:
            if self._made is None:
                self._made = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._made

    @property
    def key_id(self) -> str:
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return _b64(hashlib.sha256(der).digest())

    @property
    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def jwks(self) -> Obj:
        numbers = self._key.public_key().public_numbers()

        def b64int(n: int) -> str:
            return _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {
            "keys": [
                {
                    "use": "sig",
                    "kty": "RSA",
                    "kid": self.key_id,
                    "alg": "RS256",
                    "n": b64int(numbers.n),
                    "e": b64int(numbers.e),
                }
            ]
        }

    def issue(
        self, *, namespace: str, name: str, uid: str, audiences: list[str], seconds: int
    ) -> tuple[str, int]:
        """A signed token and its expiry (unix seconds)."""
        now = int(self._clock())
        claims = {
            "iss": ISSUER,
            "aud": audiences or DEFAULT_AUDIENCES,
            "sub": f"system:serviceaccount:{namespace}:{name}",
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        }
        header = {"alg": "RS256", "kid": self.key_id, "typ": "JWT"}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}", now + seconds

    def verify(self, token: str) -> Obj:
        """The claims of a token this issuer signed and that has not expired; ValueError if not."""
        try:
            head, body, sig = token.split(".")
            self._key.public_key().verify(
                _unb64(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
            claims: Obj = json.loads(_unb64(body))
        except (ValueError, InvalidSignature) as exc:
            raise ValueError("invalid bearer token") from exc
        if claims.get("exp", 0) < self._clock():
            raise ValueError("token has expired")
        return claims


def review(issuer: TokenIssuer, spec: Obj, sa_uid: Callable[[str, str], str | None]) -> Obj:
    """The ``status`` of a TokenReview for ``spec``; ``sa_uid(ns, name)`` looks up the account."""
    try:
        claims = issuer.verify(str(spec.get("token", "")))
    except ValueError as exc:
        return {"authenticated": False, "user": {}, "error": f"[{exc}]"}
    token_aud = claims.get("aud") or []
    token_aud = [token_aud] if isinstance(token_aud, str) else list(token_aud)
    wanted = list(spec.get("audiences") or DEFAULT_AUDIENCES)
    audiences = [a for a in wanted if a in token_aud]
    if not audiences:
        return {
            "authenticated": False,
            "user": {},
            "error": "[invalid bearer token, token audiences "
            f"{token_aud} is invalid for the target audiences {wanted}]",
        }
    info = claims.get("kubernetes.io", {})
    ns, account = info.get("namespace", ""), info.get("serviceaccount", {})
    name, uid = account.get("name", ""), account.get("uid", "")
    if sa_uid(ns, name) != uid:
        return {
            "authenticated": False,
            "user": {},
            "error": f"[service account {ns}/{name} has been deleted or its uid changed]",
        }
    return {
        "authenticated": True,
        "audiences": audiences,
        "user": {
            "username": f"system:serviceaccount:{ns}:{name}",
            "uid": uid,
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{ns}",
                "system:authenticated",
            ],
            "extra": {"authentication.kubernetes.io/credential-id": [f"JTI={uid}"]},
        },
    }


_SERVICE_ACCOUNTS = ("", "serviceaccounts")


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def token_request(issuer: TokenIssuer, store: Store, namespace: str, name: str, body: Obj) -> Obj:
    """The answer to a TokenRequest on ``serviceaccounts/NAME/token``: the account must exist
    and the token lives at least 10 minutes, as on a real server."""
    sa = store.get(_SERVICE_ACCOUNTS, namespace, name)
    if sa is None:
        raise not_found("serviceaccounts", "", name)
    spec = dict(body.get("spec") or {})
    seconds = int(spec.get("expirationSeconds") or 3600)
    if seconds < 600:
        message = "Invalid value: may not specify a duration less than 10 minutes"
        raise invalid(
            "TokenRequest", "authentication.k8s.io", name, [("spec.expirationSeconds", message)]
        )
    audiences = list(spec.get("audiences") or []) or DEFAULT_AUDIENCES
    token, expiry = issuer.issue(
        namespace=namespace,
        name=name,
        uid=sa["metadata"]["uid"],
        audiences=audiences,
        seconds=seconds,
    )
    spec.update(expirationSeconds=seconds, audiences=audiences)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": _stamp(time.time()),
        },
        "spec": spec,
        "status": {"token": token, "expirationTimestamp": _stamp(expiry)},
    }


def token_review(issuer: TokenIssuer, store: Store, body: Obj) -> Obj:
    """The answer to a TokenReview (not stored): the request's spec and the review's status."""
    spec = body.get("spec") or {}

    def sa_uid(namespace: str, name: str) -> str | None:
        sa = store.get(_SERVICE_ACCOUNTS, namespace, name)
        return sa["metadata"]["uid"] if sa else None

    return {
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": review(issuer, spec, sa_uid),
    }
