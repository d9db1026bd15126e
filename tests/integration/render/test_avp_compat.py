"""argocd-vault-plugin's documented examples against real OpenBao (KV v1 and v2), field by field.

The manifests are those of avp's "How it works" page (summary, generic and inline-path
placeholders, versions, base64 placeholders, ignoring, remove-missing, every modifier), plus a
Deployment and a CRD. Each case names the fields it checks and what they must hold.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from sealer.render import RenderOptions, load_stream, render
from sealer.render.engine import RenderFailed
from sealer.vault import RequestCounter, SecretLocation, TokenAuth, VaultConfig
from sealer.vault.hvac_backend import HvacResolver
from sealer.vault.resolver import Resolver, SecretData
from tests.integration.render.conftest import MARK, Bao

pytestmark = pytest.mark.integration


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass(frozen=True)
class Case:
    id: str
    reason: str
    manifest: str
    want: dict[str, Any] = field(default_factory=dict)
    absent: tuple[str, ...] = ()


def get(obj: Any, path: str) -> Any:
    for raw in path.split("/"):
        part = raw.replace("~1", "/")  # JSON Pointer's escape for '/' inside a key
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


PATH_ANN = "avp.kubernetes.io/path"
CASES = [
    Case(
        "summary-data",
        "howitworks summary: a generic placeholder in Secret.data takes the Vault value as is",
        f"""kind: Secret
apiVersion: v1
metadata:
  name: example-secret
  annotations: {{{PATH_ANN}: "secret/data/path/to/secret"}}
type: Opaque
data:
  password: <password-vault-key>
""",
        {
            "data/password": "cGFzc3dvcmQK",
            "metadata/annotations/avp.kubernetes.io~1path": "secret/data/path/to/secret",
        },
    ),
    Case(
        "summary-json",
        "the same Secret written as JSON",
        '{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "example-secret", '
        f'"annotations": {{"{PATH_ANN}": "secret/data/path/to/secret"}}}}, '
        '"type": "Opaque", "data": {"password": "<password-vault-key>"}}',
        {"data/password": "cGFzc3dvcmQK"},
    ),
    Case(
        "base64-placeholders",
        "howitworks base64 placeholders: the documented POSTGRES_URL input gives the documented output",
        f"""kind: Secret
apiVersion: v1
metadata:
  name: example-secret
  annotations: {{{PATH_ANN}: "secret/data/db"}}
type: Opaque
data:
  POSTGRES_URL: cG9zdGdyZXM6Ly88dXNlcm5hbWU+OjxwYXNzd29yZD5APGhvc3Q+Ojxwb3J0Pi88ZGF0YWJhc2U+P3NzbG1vZGU9cmVxdWlyZQ==
""",
        {
            "data/POSTGRES_URL": "cG9zdGdyZXM6Ly91c2VyOnBhc3NAaG9zdDo5NDQzL215LWRiP3NzbG1vZGU9cmVxdWlyZQ=="
        },
    ),
    Case(
        "stringdata-generic",
        "generic placeholders in stringData, several keys of one secret",
        f"""kind: Secret
metadata: {{name: s, annotations: {{{PATH_ANN}: secret/data/db}}}}
stringData: {{user: <username>, url: "postgres://<username>:<password>@<host>:<port>/<database>"}}
""",
        {"stringData/user": "user", "stringData/url": "postgres://user:pass@host:9443/my-db"},
    ),
    Case(
        "secret-version",
        "avp.kubernetes.io/secret-version pins generic placeholders",
        f"""kind: Secret
metadata:
  name: s
  annotations: {{{PATH_ANN}: secret/data/testsecret, avp.kubernetes.io/secret-version: "1"}}
stringData: {{password: <password>}}
""",
        {"stringData/password": f"{MARK}-v1"},
    ),
    Case(
        "inline-latest-and-version",
        "inline-path placeholders: latest by default, #2 and #1 pinned",
        """kind: ConfigMap
metadata: {name: c}
data:
  latest: <path:secret/data/testsecret#password>
  two: <path:secret/data/testsecret#password#2>
  one: <path:secret/data/testsecret#password#1>
""",
        {"data/latest": f"{MARK}-v2", "data/two": f"{MARK}-v2", "data/one": f"{MARK}-v1"},
    ),
    Case(
        "inline-ignores-annotation",
        "the path and secret-version annotations have no effect on inline-path placeholders",
        f"""kind: ConfigMap
metadata:
  name: c
  annotations: {{{PATH_ANN}: secret/data/db, avp.kubernetes.io/secret-version: "1"}}
data: {{p: <path:secret/data/testsecret#password>, u: <username>}}
""",
        {"data/p": f"{MARK}-v2", "data/u": "user"},
    ),
    Case(
        "crd-auto-ignore",
        "without a path annotation <KEY> stays; inline placeholders are still filled",
        """kind: CustomResourceDefinition
apiVersion: apiextensions.k8s.io/v1
metadata: {name: some-crd, annotations: {}}
fieldRef:
  description: 'Selects a field of the pod: supports metadata.name, `metadata.labels[''<KEY>'']`'
  some-credential: <path:secret/data/db#username>
""",
        {
            "fieldRef/description": "Selects a field of the pod: supports metadata.name, "
            "`metadata.labels['<KEY>']`",
            "fieldRef/some-credential": "user",
        },
    ),
    Case(
        "ignore",
        "avp.kubernetes.io/ignore: the object is left exactly as it is",
        """kind: CustomResourceDefinition
metadata: {name: some-crd, annotations: {avp.kubernetes.io/ignore: "true"}}
fieldRef: {some-credential: "<path:somewhere/in/my/vault#credential>"}
""",
        {"fieldRef/some-credential": "<path:somewhere/in/my/vault#credential>"},
    ),
    Case(
        "remove-missing",
        "howitworks remove-missing: the key whose value is missing goes, the others stay",
        f"""kind: Secret
metadata:
  name: example-secret
  annotations: {{avp.kubernetes.io/remove-missing: "true", {PATH_ANN}: secret/data/db}}
stringData: {{username: <username>, password: <pass>}}
""",
        {"stringData/username": "user"},
        absent=("stringData/password",),
    ),
    Case(
        "kv1-inline",
        "KV v1: the API path has no data/",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {t: '<path:kv1/app#token>'}\n",
        {"data/t": f"{MARK}-v1-token"},
    ),
    Case(
        "kv1-annotation",
        "avp.kubernetes.io/kv-version: 1 with a generic placeholder",
        """kind: Secret
metadata: {name: s, annotations: {avp.kubernetes.io/path: kv1/app, avp.kubernetes.io/kv-version: "1"}}
stringData: {u: <user>}
""",
        {"stringData/u": "v1-user"},
    ),
    Case(
        "kv2-annotation",
        "avp.kubernetes.io/kv-version: 2 with the data/ path",
        """kind: Secret
metadata: {name: s, annotations: {avp.kubernetes.io/path: secret/data/db, avp.kubernetes.io/kv-version: "2"}}
stringData: {u: <username>}
""",
        {"stringData/u": "user"},
    ),
    Case(
        "vault-form",
        "our <vault:…> form with the logical path, v1 and v2",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '<vault:secret/testsecret#password#1>', "
        "b: '<vault:kv1/app#user>'}\n",
        {"data/a": f"{MARK}-v1", "data/b": "v1-user"},
    ),
    Case(
        "deployment",
        "placeholders in a Deployment: env values, args, a typed replicas field",
        """apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: <path:secrets/data/my-db#config | jsonPath {.replicas} | jsonParse>
  template:
    spec:
      containers:
      - name: app
        args: ["--db-user=<path:secret/data/db#username>"]
        env:
        - {name: DB_HOST, value: "<path:secret/data/db#host>:<path:secret/data/db#port>"}
""",
        {
            "spec/replicas": 3,
            "spec/template/spec/containers/0/args/0": "--db-user=user",
            "spec/template/spec/containers/0/env/0/value": "host:9443",
        },
    ),
    Case(
        "modifiers-base64encode",
        "howitworks base64encode examples: generic, inline, inline with version",
        f"""kind: Secret
metadata: {{name: s, annotations: {{{PATH_ANN}: secrets/data/my-db}}}}
data:
  generic: <username | base64encode>
  inline: <path:secrets/data/my-db#username | base64encode>
  versioned: <path:secrets/data/my-db#username#1 | base64encode>
""",
        {
            "data/generic": b64(f"{MARK}-user-v2"),
            "data/inline": b64(f"{MARK}-user-v2"),
            "data/versioned": b64(f"{MARK}-user"),
        },
    ),
    Case(
        "modifiers-base64decode",
        "howitworks base64decode examples",
        f"""kind: Secret
metadata: {{name: s, annotations: {{{PATH_ANN}: secrets/data/my-db}}}}
stringData:
  generic: <b64_username | base64decode>
  inline: <path:secrets/data/my-db#b64_username | base64decode>
  versioned: <path:secrets/data/my-db#b64_username#1 | base64decode>
""",
        {
            "stringData/generic": f"{MARK}-b64",
            "stringData/inline": f"{MARK}-b64",
            "stringData/versioned": f"{MARK}-b64",
        },
    ),
    Case(
        "modifiers-jsonpath",
        "howitworks jsonPath examples over a nested KV value",
        f"""kind: Secret
metadata: {{name: s, annotations: {{{PATH_ANN}: secrets/data/my-db}}}}
stringData:
  generic: <credentials | jsonPath {{.username}}>
  pair: <path:secrets/data/my-db#credentials | jsonPath {{.username}}{{':'}}{{.password}}>
  encoded: <path:secrets/data/my-db#credentials#1 | jsonPath {{.username}} | base64encode>
""",
        {
            "stringData/generic": f"{MARK}-u",
            "stringData/pair": f"{MARK}-u:{MARK}-p",
            "stringData/encoded": b64(f"{MARK}-u"),
        },
    ),
    Case(
        "modifiers-jsonparse",
        "howitworks jsonParse examples: JSON text becomes data in a non-data field",
        f"""kind: Example
metadata: {{name: x, annotations: {{{PATH_ANN}: secrets/data/my-db}}}}
spec:
  generic: <credentialsJson | jsonParse>
  inline: <path:secrets/data/my-db#credentialsJson | jsonParse>
  versioned: <path:secrets/data/my-db#credentialsJson#1 | jsonParse>
""",
        {
            "spec/generic": {"username": f"{MARK}-j", "port": 5432},
            "spec/inline/port": 5432,
            "spec/versioned/username": f"{MARK}-j",
        },
    ),
    Case(
        "modifiers-yamlparse",
        "howitworks yamlParse examples",
        f"""kind: Secret
metadata: {{name: s, annotations: {{{PATH_ANN}: secrets/data/db_yaml}}}}
stringData:
  generic: <yaml | yamlParse | jsonPath {{.username}}>
  pair: <path:secrets/data/db_yaml#yaml | yamlParse | jsonPath {{.username}}{{':'}}{{.password}}>
  encoded: <path:secrets/data/db_yaml#yaml#1 | yamlParse | jsonPath {{.username}} | base64encode>
""",
        {
            "stringData/generic": f"{MARK}-y",
            "stringData/pair": f"{MARK}-y:{MARK}-yp",
            "stringData/encoded": b64(f"{MARK}-y"),
        },
    ),
    Case(
        "modifiers-indent",
        "indent: a multi-line value placed inside a YAML block",
        """kind: ConfigMap
metadata: {name: c}
data:
  config.yaml: "tls:\\n  cert: |\\n    <path:secrets/data/my-db#cert | indent 4>"
""",
        {
            "data/config.yaml": f"tls:\n  cert: |\n    -----BEGIN-----\n    {MARK}1\n    {MARK}2\n"
            "    -----END-----\n"
        },
    ),
    Case(
        "modifiers-sha256sum",
        "sha256sum, e.g. for a checksum annotation that restarts pods on change",
        """kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata:
      annotations: {checksum/db: "<path:secrets/data/my-db#username | sha256sum>"}
""",
        {
            "spec/template/metadata/annotations/checksum~1db": hashlib.sha256(
                f"{MARK}-user-v2".encode()
            ).hexdigest()
        },
    ),
]


@pytest.fixture
def resolver(bao: Bao) -> Any:
    made: list[HvacResolver] = []

    def make() -> Resolver:
        made.append(HvacResolver(VaultConfig(address=bao.address, auth=TokenAuth(bao.token))))
        return made[-1]

    yield make
    for one in made:
        one.close()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_avp_example(case: Case, resolver: Any) -> None:
    (obj,) = render(load_stream(case.manifest.encode(), source="app.yaml"), resolver=resolver)
    for path, want in case.want.items():
        assert get(obj, path) == want, f"{case.reason}: {path}"
    for path in case.absent:
        with pytest.raises(KeyError):
            get(obj, path)


MISSING = [
    (
        "missing-key",
        "kind: ConfigMap\nmetadata: {name: c, namespace: n}\ndata: {a: <path:secret/data/db#nope>}",
        "app.yaml: ConfigMap n/c: data.a: Vault secret 'secret/db' has no field 'nope'",
    ),
    (
        "missing-secret",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: <path:secret/data/none#k>}",
        "app.yaml: ConfigMap c: data.a: no Vault secret at 'secret/none'",
    ),
    (
        "missing-version",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: <path:secret/data/testsecret#password#9>}",
        "data.a: Vault secret 'secret/testsecret' has no version 9",
    ),
    (
        "v2-path-on-v1",
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: <path:kv1/data/app#token>}",
        "data.a: Vault API path for 'kv1/app' is written for KV v2, but mount 'kv1' is KV v1",
    ),
]


@pytest.mark.parametrize(
    ("manifest", "says"), [m[1:] for m in MISSING], ids=[m[0] for m in MISSING]
)
def test_missing_values_fail_with_a_located_line(manifest: str, says: str, resolver: Any) -> None:
    with pytest.raises(RenderFailed) as caught:
        render(load_stream(manifest.encode(), source="app.yaml"), resolver=resolver)
    assert says in str(caught.value)
    assert MARK not in str(caught.value)


class Recording:
    """Passes reads through and notes which secrets were asked for."""

    def __init__(self, inner: HvacResolver) -> None:
        self.inner = inner
        self.asked: list[tuple[str, int | None]] = []

    def read(self, location: SecretLocation) -> SecretData:
        self.asked.append((location.path, location.version))
        return self.inner.read(location)

    def forget(self, location: SecretLocation) -> None:
        self.inner.forget(location)

    def close(self) -> None:
        self.inner.close()


def test_reads_once_per_secret_in_parallel(bao: Bao) -> None:
    counter = RequestCounter()
    config = VaultConfig(address=bao.address, auth=TokenAuth(bao.token))
    stream = "\n---\n".join(case.manifest for case in CASES)
    made: list[Recording] = []

    def make() -> Resolver:
        made.append(Recording(HvacResolver(config, counter=counter)))
        return made[-1]

    render(
        load_stream(stream.encode(), source="all.yaml"),
        resolver=make,
        options=RenderOptions(max_workers=8),
    )
    (recording,) = made
    assert len(recording.asked) == len(set(recording.asked)) >= 10
    counts = counter.snapshot()
    assert counts["read"] == len(recording.asked)
    assert counts["mount"] == 3  # secret, secrets, kv1: once each
