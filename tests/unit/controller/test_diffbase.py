"""kopf's diff base is a digest: kopf still tells a change from none, and status stays small.

kopf's own processing compares ``fetch`` (what it stored) with ``build`` (the essence now), as
``kopf._core.engines`` does with ``diffs.diff(old, new)``: an empty diff is a resume, any
difference an update. These tests drive :class:`controller.operator.DigestDiffBase` the same
way, through kopf's public ``Body`` and ``Patch``.
"""

from __future__ import annotations

import copy
import json
from typing import Any, cast

import kopf
import pytest

from controller.operator import DigestDiffBase

FIELD = "status.kopf.diffbase"


def _body(raw: dict[str, Any]) -> kopf.Body:
    return kopf.Body(cast(kopf.RawBody, raw))


def sealed(values: int = 1, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "sealops.example/v1",
        "kind": "SealedSecret",
        "metadata": {"name": "db", "namespace": "prod", "uid": "u-1", "resourceVersion": "7",
                     "labels": {"app": "shop"}, "annotations": {"team": "a"}},
        "spec": {"encryptedData": {f"k{i}": "AgB" + "x" * 700 for i in range(values)}},
        "status": {"observedGeneration": 1},
    }  # fmt: skip
    body.update(extra)
    return body


def handled(storage: DigestDiffBase, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` after kopf stored its diff base (the patch applied as a merge)."""
    patch = kopf.Patch()
    storage.store(body=_body(raw), patch=patch, essence=storage.build(body=_body(raw)))
    out = copy.deepcopy(raw)
    out["status"]["kopf"] = dict(patch["status"]["kopf"])
    return out


def changed(storage: DigestDiffBase, raw: dict[str, Any]) -> bool:
    body = _body(raw)
    return storage.fetch(body=body) != storage.build(body=body)


def test_an_unchanged_object_is_a_resume_and_status_changes_are_not_changes() -> None:
    storage = DigestDiffBase(field=FIELD)
    raw = handled(storage, sealed())
    assert not changed(storage, raw)
    raw["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    raw["metadata"]["resourceVersion"] = "8"
    assert not changed(storage, raw)


@pytest.mark.parametrize(
    "edit",
    [
        lambda b: b["spec"]["encryptedData"].update(k0="AgBchanged"),
        lambda b: b["spec"].update(template={"type": "Opaque"}),
        lambda b: b["metadata"]["labels"].update(app="other"),
        lambda b: b["metadata"]["annotations"].update(team="b"),
    ],
    ids=["ciphertext", "template", "label", "annotation"],
)
def test_every_edit_kopf_tracks_is_a_change(edit: Any) -> None:
    storage = DigestDiffBase(field=FIELD)
    raw = handled(storage, sealed())
    edit(raw)
    assert changed(storage, raw)
    assert not changed(storage, handled(storage, raw)), "handled again: current once more"


def test_a_new_object_has_no_diff_base_and_an_earlier_whole_essence_still_reads() -> None:
    storage = DigestDiffBase(field=FIELD)
    assert storage.fetch(body=_body(sealed())) is None
    legacy = sealed()
    essence = storage.build(body=_body(legacy))
    legacy["status"]["kopf"] = {"diffbase": json.dumps(essence, separators=(",", ":"))}
    assert storage.fetch(body=_body(legacy)) == essence
    assert not changed(storage, legacy)


@pytest.mark.parametrize("values", [1, 10, 200])
def test_the_status_holds_no_spec_and_does_not_grow_with_it(values: int) -> None:
    storage = DigestDiffBase(field=FIELD)
    stored = handled(storage, sealed(values))["status"]["kopf"]["diffbase"]
    assert "AgB" not in stored and "encryptedData" not in stored
    assert len(stored) == len(json.dumps("sha256:" + "0" * 64))
