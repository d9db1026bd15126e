"""``rolloutRestartTargets``: a change in Vault restarts the named Deployment, once.

The first sync restarts nothing (the workload starts with the Secret as it is); a later change
of the value stamps ``sealops.dev/restartedAt`` on the pod template once, and refreshes that find
nothing new leave it alone.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.integration.vaultsecrets.conftest import (
    DEPLOYMENTS,
    Env,
    StartController,
    sample,
    wait_for,
)

pytestmark = pytest.mark.integration

NS = "rollout"
ANNOTATION = "sealops.dev/restartedAt"


def _template_annotations(env: Env) -> dict[str, Any]:
    deployment = env.kube.get(DEPLOYMENTS, NS, "web")
    return dict(deployment["spec"]["template"]["metadata"].get("annotations") or {})


def test_a_change_restarts_the_deployment_once(env: Env, start_controller: StartController) -> None:
    tag = secrets.token_hex(3)
    path = f"secret/rollout-{tag}/app"
    first, second = f"one-{secrets.token_hex(8)}", f"two-{secrets.token_hex(8)}"
    env.put(path, {"v": first})
    env.bao.policy(f"rollout-{tag}", f"secret/data/rollout-{tag}/*")
    env.connection(NS, "vault", env.token_auth(NS, env.bao.new_token(f"rollout-{tag}")))
    labels = {"app": "web"}
    env.kube.create(
        DEPLOYMENTS,
        NS,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NS},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"keep": "me"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
            },
        },
    )
    env.vault_secret(
        NS,
        "app",
        refresh="1s",
        data=[{"key": "v", "ref": f"{path}#v"}],
        rolloutRestartTargets=[{"kind": "Deployment", "name": "web"}],
    )
    controller = start_controller()
    env.wait_ready(NS, "app")
    assert env.data(NS, "app") == {"v": first}

    def syncs() -> float:
        return sample(controller, "sealops_vault_sync_total", result="success")

    # A few refreshes with nothing new: no restart.
    start = syncs()
    wait_for(lambda: syncs() >= start + 2, what="two unchanged refreshes")
    assert _template_annotations(env) == {"keep": "me"}, "the first sync restarted the workload"

    env.put(path, {"v": second})
    wait_for(lambda: env.data(NS, "app") == {"v": second}, what="the new value in the Secret")
    stamped = wait_for(lambda: _template_annotations(env).get(ANNOTATION), what="the restart")
    start = syncs()
    wait_for(lambda: syncs() >= start + 2, what="two more unchanged refreshes")
    assert _template_annotations(env) == {"keep": "me", ANNOTATION: stamped}
    restarts = [e for e in env.events(NS, "app") if e.get("reason") == "RolloutRestarted"]
    assert len(restarts) == 1, restarts
