"""kstatus (tests/kstatus.py, written from its documentation) over every state of all four kinds.

The states are made by the real reconcilers (tests/unit/controller/states.py). What each must
read as is written here, from what the states mean, not from the code: ``Current`` only when the
Secret is right (a connection: it logs in) for the spec as it is now; ``Failed`` when only a
change ends the failure (someone must act); ``InProgress`` while the controller has not seen
the object or its latest spec, or is retrying a failure that may pass by itself.
"""

from __future__ import annotations

import pytest

from tests import kstatus
from tests.unit.controller.states import BUILDERS, KINDS, State, all_states

STATES = all_states()

#: state name -> what kstatus must say, for every kind that has it.
WANT = {
    "fresh": "InProgress",
    "working": "Current",
    "kubernetes-auth": "Current",
    "recovered": "Current",
    "generation-ahead": "InProgress",
    "deleting": "Terminating",
    # Someone must act: a change of the object, its Secret, its key, Vault's policy...
    "InvalidSpec": "Failed",
    "InvalidSpec-no-tenant": "Failed",
    "DecryptFailed": "Failed",
    "Forbidden": "Failed",
    "NotFound": "Failed",
    "SecretNotOwned": "Failed",
    "UpdateFailed": "Failed",
    # It may pass by itself; the controller is retrying.
    "conflict": "InProgress",
    "VaultUnavailable": "InProgress",
    "KubernetesUnavailable": "InProgress",
}


@pytest.mark.parametrize("state", STATES, ids=[s.id for s in STATES])
def test_kstatus_reads_each_state_as_it_means(state: State) -> None:
    assert kstatus.compute(state.body) == WANT[state.name]


@pytest.mark.parametrize("state", STATES, ids=[s.id for s in STATES])
def test_current_means_the_secret_is_right(state: State) -> None:
    if kstatus.compute(state.body) == "Current":
        assert state.right, "Current, but the Secret is not what the spec says"
    if not state.right:
        assert kstatus.compute(state.body) != "Current"


def test_every_kind_reaches_every_reason_it_can_show() -> None:
    from sealer.api import Reason

    for kind in KINDS:
        reached = {s.name for s in STATES if s.kind == kind}
        failures = {str(r) for r in Reason.for_kind(kind) if not r.ready}
        assert failures <= reached, f"{kind}: no state for {sorted(failures - reached)}"
        assert {"fresh", "working", "recovered", "generation-ahead"} <= reached
    assert set(BUILDERS) == {*KINDS, "SealedSecret.bitnami.com"}


def test_each_condition_names_the_generation_it_describes() -> None:
    for state in STATES:
        if state.name in ("fresh", "generation-ahead") or "bitnami" in state.kind:
            continue
        status = state.body["status"]
        assert status["observedGeneration"] == state.body["metadata"]["generation"], state.id
        types = [c["type"] for c in status["conditions"]]
        assert types == ["Ready", "Reconciling", "Stalled"], state.id
        for condition in status["conditions"]:
            assert condition["observedGeneration"] == status["observedGeneration"], state.id


def test_no_verdict_rests_on_the_ready_rule_alone() -> None:
    # kstatus versions differ on whether Ready=False alone means InProgress; none of our states
    # depends on it: a failure always has Reconciling or Stalled True.
    for state in STATES:
        conditions = {
            c["type"]: c["status"] for c in (state.body.get("status") or {}).get("conditions") or []
        }
        if conditions.get("Ready") == "False":
            assert "True" in (conditions.get("Reconciling"), conditions.get("Stalled")), state.id
