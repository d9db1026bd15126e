"""The swap from Bitnami's controller, live: no Secret deleted, none re-created, none emptied.

50 Secrets as Bitnami's controller leaves them (a controller ownerReference to their
``bitnami.com/v1alpha1`` SealedSecret, no sealops marks), Bitnami's CRD (tests/data) and its key
Secret in ``kube-system``. A watch on the namespace's Secrets records every event while:

1. the controller starts with ``--bitnami-compat`` and takes the Secrets over in place
   (every Bitnami object ``Synced=True``, none ``SecretNotOwned``); every fifth object has a Go
   template (Sprig's ``b64enc``, ``index``), which renders as Bitnami rendered it;
2. sealops SealedSecrets of the same names, made as ``seal migrate`` makes them (Go templates
   marked), are applied: each takes its Secret over (the controller reference swapped to it);
3. the Bitnami objects are deleted: garbage collection, which follows ownerReferences in the
   emulator as in Kubernetes, leaves the Secrets in place.

4. a new ``seal`` with the certificate the controller serves (its own key, not Bitnami's) opens
   there;
5. the controller renews its key (restarted with a cutoff time, as a flag change restarts the
   pod): it serves a new certificate, a value sealed for it opens, and nothing sealed before is
   touched.

Then: 0 DELETED events, every event's uid the Secret's first, its data always there and the
same bytes (rendered keys included).

Last, the swap back as docs/migrate-from-bitnami.md tells it, with the sealops controller
stopped: its key Secrets handed to Bitnami's namespace with Bitnami's label, ``seal migrate --to
bitnami`` (the real CLI) over the manifests, each Secret annotated ``managed``, the Bitnami
objects applied and the sealops ones deleted with ``--cascade=orphan``. What is left is checked
with Bitnami's own rules, written from its source (:mod:`tests.unit.bitnami_unseal`): its key
registry opens every object, its ownership rule lets it write every Secret, and what it would
write is the bytes each Secret holds.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from controller.keyring import key_secret
from sandbox.controller import Controller
from sealer.api import (
    ANN_SOURCE_HASH,
    API_VERSION,
    BITNAMI_API_VERSION,
    BITNAMI_KEY_LABEL,
    BITNAMI_MANAGED,
    BITNAMI_SEALED_SECRETS,
    CUSTOM_RESOURCE_DEFINITIONS,
    LABEL_SEALING_KEY,
    SEALED_SECRETS,
    SECRETS,
    SYNCED,
)
from sealer.keys import KeyPair, Recipient, generate_keypair, load_recipient
from sealer.manifests import PlainSecret, parse_sealed_secret
from sealer.sealing import migrate_bitnami, seal_secret
from tests.integration.controller.conftest import Cluster, StartController, wait_for
from tests.unit import bitnami_unseal

pytestmark = pytest.mark.integration

COUNT = 50
WAKE = "zz-watch-end"
CRD = Path(__file__).parents[2] / "data" / "bitnami-sealedsecrets-crd.yaml"


def install_bitnami(cluster: Cluster) -> KeyPair:
    """Bitnami's CRD and its sealing key Secret, as its controller left them in kube-system."""
    cluster.kube.create(CUSTOM_RESOURCE_DEFINITIONS, None, yaml.safe_load(CRD.read_text()))
    pair = generate_keypair(now=dt.datetime.now(dt.UTC), key_size=2048)
    body: dict[str, Any] = key_secret(pair, name="sealed-secrets-keyabcde", namespace="kube-system")
    body["metadata"]["labels"] = {BITNAMI_KEY_LABEL: "active"}
    body["metadata"]["annotations"] = {}
    assert LABEL_SEALING_KEY not in body["metadata"]["labels"]
    cluster.namespace("kube-system")
    cluster.kube.create(SECRETS, "kube-system", body)
    return pair


def value(i: int) -> bytes:
    return f"swap-plaintext-{i:03d}-{'x' * 8}".encode()


#: Every fifth object carries a Bitnami template (Go text/template with Sprig).
GO_TEMPLATE = {"encoded": "{{ .password | b64enc }}", "dsn": 'db://{{ index . "password" }}@h'}


def templated(i: int) -> bool:
    return i % 5 == 0


def rendered(i: int) -> dict[str, bytes]:
    """What Bitnami's controller renders for object ``i``'s template (empty: no template)."""
    if not templated(i):
        return {}
    return {"encoded": base64.b64encode(value(i)), "dsn": b"db://" + value(i) + b"@h"}


def sealed(pair: KeyPair, i: int, *, api_version: str) -> dict[str, Any]:
    secret = PlainSecret(name=f"app-{i}", namespace="prod", data={"password": value(i)})
    doc = seal_secret(secret, [pair.recipient])
    doc["apiVersion"] = BITNAMI_API_VERSION
    doc["metadata"].pop("annotations", None)  # as kubeseal writes it: no sealops annotations
    if templated(i):
        doc["spec"]["template"]["data"] = dict(GO_TEMPLATE)
    if api_version == BITNAMI_API_VERSION:
        return doc
    return migrate_bitnami(parse_sealed_secret(doc, allow_bitnami=True))  # as `seal migrate` does


def bitnami_made_secret(owner: dict[str, Any], i: int) -> dict[str, Any]:
    """The Secret as Bitnami's controller creates it (``SealedSecret.Unseal``)."""
    meta = owner["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": meta["name"],
            "namespace": "prod",
            "ownerReferences": [
                {
                    "apiVersion": BITNAMI_API_VERSION,
                    "kind": "SealedSecret",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                }
            ],
        },
        "data": {
            k: base64.b64encode(v).decode()
            for k, v in {"password": value(i), **rendered(i)}.items()
        },
    }


class SecretWatch:
    """Every watch event of the Secrets in ``prod``, from a resourceVersion on, in a thread."""

    def __init__(self, cluster: Cluster, resource_version: str):
        self.events: list[tuple[str, str, str, dict[str, str] | None]] = []
        self.woke = False  # the stream reached the Secret made after everything else
        self.ends: list[str] = []  # how each cut stream ended (resumed from where it stopped)
        self._watch: Any = kubernetes.watch.Watch()  # type: ignore[no-untyped-call]
        self._cluster = cluster
        self._thread = threading.Thread(target=self._run, args=(resource_version,), daemon=True)
        self._thread.start()

    def _run(self, resource_version: str) -> None:
        """Watch from ``resource_version``; a stream that ends is resumed from the last event
        seen, as an informer does (a 410 Gone there would mean missed events: the test fails)."""
        while not self.woke:
            try:
                resource_version = self._stream(resource_version)
            except Exception as exc:  # the stream was cut: resume where it stopped
                self.ends.append(type(exc).__name__)
                if "Gone" in str(exc) or "410" in str(exc):
                    return

    def _stream(self, resource_version: str) -> str:
        stream = self._watch.stream(
            self._cluster.core.list_namespaced_secret, "prod",
            resource_version=resource_version, timeout_seconds=600,
        )  # fmt: skip
        for event in stream:
            obj = event["object"]
            if event["type"] == "ERROR":
                raise RuntimeError(f"watch error: {obj}")
            resource_version = obj.metadata.resource_version
            if obj.metadata.name == WAKE:
                self.woke = True
                break
            self.events.append((event["type"], obj.metadata.name, obj.metadata.uid, obj.data))
        return resource_version

    def stop(self) -> None:
        # One more Secret, after everything: seeing it proves the stream missed nothing before.
        self._cluster.kube.create(SECRETS, "prod", {"apiVersion": "v1", "kind": "Secret",
                                                   "metadata": {"name": WAKE}})  # fmt: skip
        self._thread.join(timeout=30)
        assert self.woke, f"the watch ended before the last event ({self.ends}): events missed"


def synced(cluster: Cluster, name: str) -> str | None:
    body = cluster.kube.get(BITNAMI_SEALED_SECRETS, "prod", name)
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c.get("status") for c in conditions if c.get("type") == SYNCED), None)


def controller_ref(cluster: Cluster, name: str) -> tuple[str, str]:
    secret = cluster.secret("prod", name) or {}
    (ref,) = [r for r in secret["metadata"].get("ownerReferences") or [] if r.get("controller")]
    return ref["apiVersion"], ref["uid"]


def seal_and_open(
    cluster: Cluster, plaintexts: list[bytes], recipient: Recipient, name: str, i: int
) -> dict[str, Any]:
    """A new ``seal`` of value ``i`` for ``recipient``, applied; it opens. Its manifest."""
    plaintexts.append(value(i))
    doc = seal_secret(PlainSecret(name=name, namespace="prod", data={"password": value(i)}),
                      [recipient])  # fmt: skip
    cluster.apply_sealed(copy.deepcopy(doc))
    wait_for(lambda: (cluster.ready("prod", name) or {}).get("status") == "True", timeout=60,
             what=f"{name}, sealed for {recipient.fingerprint}, Ready")  # fmt: skip
    opened = cluster.secret("prod", name)
    assert opened is not None and base64.b64decode(opened["data"]["password"]) == value(i)
    return doc


def renew(start_controller: StartController, previous: Recipient) -> tuple[Controller, Recipient]:
    """Restart with a key cutoff time just passed: the controller makes and serves a new key."""
    cutoff = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)).isoformat()
    time.sleep(1.2)
    controller = start_controller(
        "--bitnami-compat", "--bitnami-namespace", "kube-system", "--key-cutoff-time", cutoff
    )
    recipient = load_recipient(controller.get("/v1/cert.pem"))
    assert recipient.fingerprint != previous.fingerprint, "a new key after the cutoff"
    return controller, recipient


def hand_keys_back(cluster: Cluster) -> None:
    """Every sealops key Secret, copied into Bitnami's namespace with Bitnami's label."""
    for key in cluster.kube.list(SECRETS, "sealops-system", label_selector=LABEL_SEALING_KEY):
        cluster.kube.create(SECRETS, "kube-system", {
            "apiVersion": "v1", "kind": "Secret", "type": key.get("type", "Opaque"),
            "metadata": {"name": key["metadata"]["name"], "labels": {BITNAMI_KEY_LABEL: "active"}},
            "data": key["data"],
        })  # fmt: skip


def swap_back(cluster: Cluster, manifests: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """docs/migrate-from-bitnami.md's swap back, with the sealops controller stopped."""
    hand_keys_back(cluster)
    source, target = tmp_path / "sealops.yaml", tmp_path / "bitnami.yaml"
    source.write_text(yaml.safe_dump_all(list(manifests.values())))
    command = [sys.executable, "-m", "sealer", "migrate", "--to", "bitnami", str(source)]
    subprocess.run([*command, "-w", str(target)], check=True, capture_output=True, timeout=120)
    back = list(yaml.safe_load_all(target.read_text()))
    assert [doc["metadata"]["name"] for doc in back] == list(manifests)
    custom: Any = kubernetes.client.CustomObjectsApi(cluster.core.api_client)
    for doc in back:
        name = doc["metadata"]["name"]
        cluster.kube.patch(SECRETS, "prod", name,
                           {"metadata": {"annotations": {BITNAMI_MANAGED: "true"}}})  # fmt: skip
        cluster.kube.create(BITNAMI_SEALED_SECRETS, "prod", doc)
        custom.delete_namespaced_custom_object(
            SEALED_SECRETS.group, SEALED_SECRETS.version, "prod", SEALED_SECRETS.plural, name,
            propagation_policy="Orphan",
        )  # fmt: skip

    def settled() -> bool:
        refs = [ref.get("apiVersion") for s in cluster.kube.list(SECRETS, "prod")
                for ref in s["metadata"].get("ownerReferences") or []]  # fmt: skip
        return not cluster.kube.list(SEALED_SECRETS, "prod") and API_VERSION not in refs

    wait_for(settled, timeout=60, what="the sealops objects gone, their Secrets orphaned")


def bitnami_would_accept(cluster: Cluster, names: list[str]) -> None:
    """Bitnami's key registry opens every object; its ownership rule lets it write each Secret;
    and what it would write is exactly what the Secret holds."""
    keys = bitnami_unseal.key_registry(cluster.kube.list(SECRETS, "kube-system"))
    objects = {o["metadata"]["name"]: o for o in cluster.kube.list(BITNAMI_SEALED_SECRETS, "prod")}
    assert sorted(objects) == sorted(names)
    for name, obj in objects.items():
        existing = cluster.secret("prod", name)
        assert existing is not None
        written = bitnami_unseal.accepts(obj, existing, keys)
        held = {k: base64.b64decode(v) for k, v in existing["data"].items()}
        assert written["data"] == held, f"Bitnami would change Secret {name}"
        assert (written["type"] or "Opaque") == existing.get("type", "Opaque"), name


def test_swap_and_adoption_keep_every_secret(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes], tmp_path: Path
) -> None:
    pair = install_bitnami(cluster)
    plaintexts.extend(value(i) for i in range(COUNT))
    names = [f"app-{i}" for i in range(COUNT)]
    owners = {}
    uids = {}
    for i, name in enumerate(names):
        owners[name] = cluster.kube.create(
            BITNAMI_SEALED_SECRETS, "prod", sealed(pair, i, api_version=BITNAMI_API_VERSION)
        )
        made = cluster.kube.create(SECRETS, "prod", bitnami_made_secret(owners[name], i))
        uids[name] = made["metadata"]["uid"]
    start = cluster.kube.list(SECRETS, "prod")
    watch = SecretWatch(cluster, str(max(int(s["metadata"]["resourceVersion"]) for s in start)))

    # 1. In place: every Bitnami object Synced, its Secret taken over, not refused.
    controller = start_controller("--bitnami-compat", "--bitnami-namespace", "kube-system")
    wait_for(lambda: all(synced(cluster, n) == "True" for n in names), timeout=180,
             what="every bitnami.com SealedSecret Synced=True")  # fmt: skip
    statuses = json.dumps([b.get("status") for b in cluster.kube.list(BITNAMI_SEALED_SECRETS)])
    assert not [i for i in range(COUNT) if value(i).decode() in statuses], "a value in a status"
    for name in names:
        assert controller_ref(cluster, name) == (
            BITNAMI_API_VERSION,
            owners[name]["metadata"]["uid"],
        )
        annotations = (cluster.secret("prod", name) or {})["metadata"].get("annotations") or {}
        assert ANN_SOURCE_HASH not in annotations, "Bitnami objects record no source"

    # 2. Adoption: sealops SealedSecrets of the same names take the Secrets over.
    manifests = {n: sealed(pair, i, api_version=API_VERSION) for i, n in enumerate(names)}
    ours = {n: cluster.apply_sealed(copy.deepcopy(m)) for n, m in manifests.items()}
    wait_for(
        lambda: all(controller_ref(cluster, n)[1] == ours[n]["metadata"]["uid"] for n in names),
        timeout=180, what="every Secret's controller reference swapped to its sealops object",
    )  # fmt: skip
    for name in names:
        assert cluster.ready("prod", name)["status"] == "True"  # type: ignore[index]

    # 3. The Bitnami objects go; garbage collection leaves the Secrets.
    custom: Any = kubernetes.client.CustomObjectsApi(cluster.core.api_client)
    for name in names:
        custom.delete_namespaced_custom_object(
            BITNAMI_SEALED_SECRETS.group, BITNAMI_SEALED_SECRETS.version, "prod",
            BITNAMI_SEALED_SECRETS.plural, name,
        )  # fmt: skip
    wait_for(lambda: not cluster.kube.list(BITNAMI_SEALED_SECRETS, "prod"), timeout=60,
             what="the Bitnami objects gone")  # fmt: skip

    # 4. The controller seals with a key of its own (Bitnami's serve only to unseal): a new
    #    `seal` for this cluster, with the certificate it serves, opens here.
    own = load_recipient(controller.get("/v1/cert.pem"))
    assert own.fingerprint != pair.recipient.fingerprint, "it made its own key"
    manifests["fresh"] = seal_and_open(cluster, plaintexts, own, "fresh", 998)

    # 5. Key renewal after the swap; what was sealed before (Bitnami's key, the first own key)
    #    is untouched, and a value sealed for the new key opens.
    controller.stop()
    controller, renewed = renew(start_controller, own)
    manifests["renewed"] = seal_and_open(cluster, plaintexts, renewed, "renewed", 999)
    for name in [*names, "fresh"]:
        assert (cluster.ready("prod", name) or {}).get("status") == "True", name
    # A last round trip through the store after the deletions (and any collection) settled.
    wait_for(lambda: all(cluster.secret("prod", n) for n in names), timeout=5, what="Secrets")
    watch.stop()

    events = [e for e in watch.events if e[1] in uids]
    assert events, "the watch saw the takeovers"
    assert [e for e in events if e[0] == "DELETED"] == [], "no Secret was deleted"
    assert {(name, uid) for _, name, uid, _ in events} == set(uids.items()), "never re-created"
    for kind, name, _, data in events:
        index = names.index(name)
        want = {"password": value(index), **rendered(index)}
        assert data is not None and {k: base64.b64decode(v) for k, v in data.items()} == want, (
            f"{kind} of Secret {name}: its data was absent or changed"
        )
    for name in names:
        secret = cluster.secret("prod", name)
        assert secret is not None and secret["metadata"]["uid"] == uids[name]
        assert controller_ref(cluster, name) == (API_VERSION, ours[name]["metadata"]["uid"])

    # 6. The swap back leaves what Bitnami's controller accepts, every Secret's bytes kept.
    controller.stop()
    swap_back(cluster, manifests, tmp_path)
    bitnami_would_accept(cluster, list(manifests))
