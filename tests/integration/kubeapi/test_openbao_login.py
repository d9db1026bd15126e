"""A real OpenBao with the Kubernetes auth method logs a workload in against the emulator: the
TokenRequest JWT passes OpenBao's own checks (expiry, audience, bound name/namespace) and the
TokenReview it sends (no apiVersion/kind, the JWT as bearer) is answered as a real API server
would (https://openbao.org/docs/auth/kubernetes/,
https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.kubeapi.harness import RunningKubeApi
from tests.harness import start_openbao
from tests.integration.kubeapi.rawhttp import call

pytestmark = pytest.mark.integration
ROOT_TOKEN = "kubeapi-test-root"
# Any PEM-shaped text: OpenBao insists on a CA but never uses it over plain http.
FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----\n"


@pytest.fixture
def bao() -> Iterator[str]:
    server = start_openbao(root_token=ROOT_TOKEN)
    try:
        yield server.address
    finally:
        server.close()


def _bao(url: str, path: str, body: Any) -> tuple[int, Any]:
    status, answer, _ = call(
        f"{url}/v1/{path}", "POST", body, headers={"X-Vault-Token": ROOT_TOKEN}
    )
    return status, answer


def test_workload_logs_in(bao: str, kubeapi: RunningKubeApi, core: Any) -> None:
    assert _bao(bao, "sys/auth/kubernetes", {"type": "kubernetes"})[0] == 204
    config = {
        "kubernetes_host": kubeapi.url,
        "kubernetes_ca_cert": FAKE_CA,
        "disable_local_ca_jwt": True,
    }
    assert _bao(bao, "auth/kubernetes/config", config)[0] == 204
    role = {"bound_service_account_names": ["worker"], "bound_service_account_namespaces": ["apps"],
            "audience": "vault", "token_policies": ["default"]}  # fmt: skip
    assert _bao(bao, "auth/kubernetes/role/app", role)[0] == 204
    for name in ("worker", "intruder"):
        core.create_namespaced_service_account("apps", {"metadata": {"name": name}})

    def token(name: str) -> str:
        answer = core.create_namespaced_service_account_token(
            name, "apps", {"spec": {"audiences": ["vault"]}}
        )
        return str(answer.status.token)

    status, login = _bao(bao, "auth/kubernetes/login", {"role": "app", "jwt": token("worker")})
    assert status == 200, login
    assert login["auth"]["client_token"]
    assert login["auth"]["metadata"]["service_account_name"] == "worker"
    assert login["auth"]["metadata"]["service_account_namespace"] == "apps"
    status, _ = _bao(bao, "auth/kubernetes/login", {"role": "app", "jwt": token("intruder")})
    assert status == 403
