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

Then: 0 DELETED events, every event's uid the Secret's first, its data always there and the
same bytes (rendered keys included). Last, a new ``seal`` with the certificate the controller
serves (its own key, not Bitnami's) opens there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import kubernetes
import pytest
import yaml

from controller.keyring import key_secret
from sealer.api import (
    API_VERSION,
    BITNAMI_API_VERSION,
    BITNAMI_KEY_LABEL,
    BITNAMI_SEALED_SECRETS,
    CUSTOM_RESOURCE_DEFINITIONS,
    LABEL_SEALING_KEY,
    SECRETS,
    SYNCED,
)
from sealer.keys import KeyPair, generate_keypair, load_recipient
from sealer.manifests import PlainSecret, parse_sealed_secret
from sealer.sealing import migrate_bitnami, seal_secret
from tests.integration.controller.conftest import Cluster, StartController, wait_for

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


def test_swap_and_adoption_keep_every_secret(
    cluster: Cluster, start_controller: StartController, plaintexts: list[bytes]
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

    # 2. Adoption: sealops SealedSecrets of the same names take the Secrets over.
    ours = {n: cluster.apply_sealed(sealed(pair, i, api_version=API_VERSION))
            for i, n in enumerate(names)}  # fmt: skip
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

    # 4. The controller seals with a key of its own (Bitnami's serve only to unseal): a new
    #    `seal` for this cluster, with the certificate it serves, opens here.
    recipient = load_recipient(controller.get("/v1/cert.pem"))
    assert recipient.fingerprint != pair.recipient.fingerprint, "it made its own key"
    fresh = PlainSecret(name="fresh", namespace="prod", data={"password": value(999)})
    plaintexts.append(value(999))
    cluster.apply_sealed(seal_secret(fresh, [recipient]))
    wait_for(lambda: (cluster.ready("prod", "fresh") or {}).get("status") == "True", timeout=60,
             what="a SealedSecret sealed with the controller's own certificate Ready")  # fmt: skip
    opened = cluster.secret("prod", "fresh")
    assert opened is not None and base64.b64decode(opened["data"]["password"]) == value(999)
