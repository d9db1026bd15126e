"""TokenRequest and TokenReview
(https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/,
https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/),
as far as OpenBao's Kubernetes auth method needs them: RS256 compact JWS with
``exp``/``iat``/``aud``/``sub`` and the ``kubernetes.io`` claim; a review posted without
apiVersion/kind, answered with authenticated, audiences, user.username and user.uid."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from kubernetes.client.exceptions import ApiException

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration


def _part(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _token(core: Any, audiences: list[str]) -> tuple[str, str]:
    sa = core.create_namespaced_service_account("apps", {"metadata": {"name": "worker"}})
    answer = core.create_namespaced_service_account_token(
        "worker", "apps", {"spec": {"audiences": audiences, "expirationSeconds": 600}}
    )
    return answer.status.token, sa.metadata.uid


def test_token_request_issues_a_signed_jwt(kubeapi: RunningKubeApi, core: Any) -> None:
    token, uid = _token(core, ["vault"])
    head, body, signature = token.split(".")
    assert _part(head)["alg"] == "RS256"
    claims = _part(body)
    assert claims["sub"] == "system:serviceaccount:apps:worker"
    assert claims["aud"] == ["vault"]
    assert claims["kubernetes.io"] == {
        "namespace": "apps",
        "serviceaccount": {"name": "worker", "uid": uid},
    }
    assert claims["iat"] <= time.time() < claims["exp"] <= claims["iat"] + 600
    key = serialization.load_pem_public_key(kubeapi.signing_public_key_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    key.verify(raw, f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())  # raises if bad
    _, keys, _ = call(f"{kubeapi.url}/_emulator/keys")
    assert keys["publicKeyPEM"] == kubeapi.signing_public_key_pem


def test_token_request_needs_the_service_account(core: Any) -> None:
    with pytest.raises(ApiException) as info:
        core.create_namespaced_service_account_token(
            "ghost", "apps", {"spec": {"audiences": ["vault"]}}
        )
    assert info.value.status == 404


def test_token_review_as_openbao_sends_it(kubeapi: RunningKubeApi, core: Any) -> None:
    token, uid = _token(core, ["vault"])
    # OpenBao's exact request: no apiVersion/kind, the workload's JWT also as the bearer token.
    body = {
        "metadata": {},
        "spec": {"token": token, "audiences": ["vault"]},
        "status": {"user": {}},
    }
    status, review, _ = call(
        f"{kubeapi.url}/apis/authentication.k8s.io/v1/tokenreviews",
        "POST",
        body,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 201
    assert review["status"]["authenticated"] is True
    assert review["status"]["audiences"] == ["vault"]
    assert review["status"]["user"]["username"] == "system:serviceaccount:apps:worker"
    assert review["status"]["user"]["uid"] == uid


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda t: t[:-4] + "AAAA", "bad signature"),
        (lambda t: "not-a-token", "garbage"),
    ],
    ids=["tampered", "garbage"],
)
def test_token_review_rejects_bad_tokens(
    kubeapi: RunningKubeApi, core: Any, mutate: Any, why: str
) -> None:
    token, _ = _token(core, ["vault"])
    body = {"spec": {"token": mutate(token), "audiences": ["vault"]}}
    _, review, _ = call(f"{kubeapi.url}/apis/authentication.k8s.io/v1/tokenreviews", "POST", body)
    assert review["status"]["authenticated"] is False, why
    assert review["status"]["error"]


def test_token_review_checks_audience_and_account(kubeapi: RunningKubeApi, core: Any) -> None:
    token, _ = _token(core, ["vault"])
    url = f"{kubeapi.url}/apis/authentication.k8s.io/v1/tokenreviews"
    _, review, _ = call(url, "POST", {"spec": {"token": token, "audiences": ["other"]}})
    assert review["status"]["authenticated"] is False
    core.delete_namespaced_service_account("worker", "apps")
    _, review, _ = call(url, "POST", {"spec": {"token": token, "audiences": ["vault"]}})
    assert review["status"]["authenticated"] is False


def test_token_subresource_is_create_only(kubeapi: RunningKubeApi, core: Any) -> None:
    core.create_namespaced_service_account("apps", {"metadata": {"name": "worker"}})
    status, body, _ = call(f"{kubeapi.url}/api/v1/namespaces/apps/serviceaccounts/worker/token")
    assert status == 405 and body["reason"] == "MethodNotAllowed"
    status, _, _ = call(f"{kubeapi.url}/api/v1/namespaces/apps/secrets/worker/token", "POST", {})
    assert status == 404
