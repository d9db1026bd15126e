"""A stand-in for the one Kubernetes API call OpenBao's Kubernetes auth makes: TokenReview.

Only for this package's tests, until the shared Kubernetes API emulator exists: OpenBao's
``auth/kubernetes`` POSTs ``/apis/authentication.k8s.io/v1/tokenreviews`` to ``kubernetes_host``
and trusts the answer. :class:`TokenReviewStub` issues ServiceAccount-shaped JWTs (unsigned:
OpenBao checks them only through TokenReview when it has no ``pem_keys``), answers reviews for
the ones it issued, and can revoke them.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["TokenReviewStub"]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class TokenReviewStub:
    def __init__(self) -> None:
        self._issued: dict[str, tuple[str, str, str]] = {}
        self.reviews = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                review = json.loads(self.rfile.read(length) or b"{}")
                stub.reviews += 1
                token = review.get("spec", {}).get("token", "")
                body = json.dumps(stub._answer(token, review)).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep request lines (and nothing else) out of the test output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def issue(self, namespace: str, service_account: str) -> str:
        uid = str(uuid.uuid4())
        claims = {
            "iss": "kubernetes/serviceaccount",
            "sub": f"system:serviceaccount:{namespace}:{service_account}",
            "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/service-account.name": service_account,
            "kubernetes.io/serviceaccount/service-account.uid": uid,
            "kubernetes.io/serviceaccount/secret.name": f"{service_account}-token",
        }
        header = {"alg": "RS256", "kid": "stub", "typ": "JWT"}
        jwt = f"{_b64(header)}.{_b64(claims)}.{secrets.token_urlsafe(32)}"
        self._issued[jwt] = (namespace, service_account, uid)
        return jwt

    def revoke(self, jwt: str) -> None:
        self._issued.pop(jwt, None)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, token: str, review: dict[str, Any]) -> dict[str, Any]:
        found = self._issued.get(token)
        status: dict[str, Any] = {"authenticated": False, "error": "token not recognised"}
        if found is not None:
            namespace, name, uid = found
            status = {
                "authenticated": True,
                "user": {
                    "username": f"system:serviceaccount:{namespace}:{name}",
                    "uid": uid,
                    "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
                },
                "audiences": review.get("spec", {}).get("audiences") or [],
            }
        return {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "metadata": {"creationTimestamp": None},
            "spec": review.get("spec", {}),
            "status": status,
        }
