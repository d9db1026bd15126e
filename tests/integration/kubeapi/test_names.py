"""Names, as the real API server validates them
(https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).

- On create, ``metadata.name`` must satisfy the kind's rule (ValidateObjectMeta with the kind's
  name function): a DNS-1123 subdomain for most kinds and every custom resource, a DNS-1123
  label for a Namespace, a DNS-1035 label for a Service, only a valid path segment for RBAC
  objects and PersistentVolumeClaims. ``metadata.namespace`` must be a DNS-1123 label. Either
  failure is 422 Invalid with the field as the cause.
- A name in the request path is the storage key (``NamespaceKeyFunc`` in
  k8s.io/apiserver/pkg/registry/generic/registry/store.go): ``.``, ``..`` and a name holding
  ``%`` are 400 BadRequest ``Name parameter invalid: "..": may not be '..'``
  (IsValidPathSegmentName). The server routes on the decoded path, so ``%2F`` is a segment
  boundary and ``%2e%2e`` is ``..``. Other names the kind would refuse on create are only not
  found (404): reads do not validate names.

Paths are sent with ``http.client`` exactly as written: ``urllib3`` (and so the ``kubernetes``
client) would remove ``.`` and ``..`` segments before sending.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

import pytest

from sandbox.kubeapi.harness import RunningKubeApi
from tests.integration.kubeapi.widget_crd import WIDGET_CRD

pytestmark = pytest.mark.integration

WIDGETS = "/apis/kubeapi.test/v1/namespaces/default/widgets"


def send(kubeapi: RunningKubeApi, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, decoded body) of one request with ``path`` sent byte for byte."""
    connection = http.client.HTTPConnection(kubeapi.host, kubeapi.port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else None
        content_type = "application/merge-patch+json" if method == "PATCH" else "application/json"
        connection.request(method, path, body=data, headers={"Content-Type": content_type})
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode("utf-8", "replace")


def _widget_crd(kubeapi: RunningKubeApi) -> None:
    status, _ = send(
        kubeapi, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGET_CRD
    )
    assert status == 201


# (collection path, kind, name, accepted?, why): the kind's rule decides.
CREATES: list[tuple[str, str, str, bool, str]] = [
    ("/api/v1/namespaces/default/secrets", "Secret", "db.credentials", True, "a subdomain"),
    ("/api/v1/namespaces/default/secrets", "Secret", "Web", False, "upper case"),
    ("/api/v1/namespaces/default/secrets", "Secret", "../x", False, "'/' and '..'"),
    ("/api/v1/namespaces/default/secrets", "Secret", "web\n", False, "Go's $ ends the text"),
    ("/api/v1/namespaces/default/secrets", "Secret", "a" * 254, False, "over 253"),
    ("/api/v1/namespaces/default/secrets", "Secret", "\u0430pp", False, "Cyrillic a"),
    ("/api/v1/namespaces", "Namespace", "team-b", True, "a label"),
    ("/api/v1/namespaces", "Namespace", "a.b", False, "a namespace is a label: no '.'"),
    ("/api/v1/namespaces", "Namespace", "a" * 64, False, "a label has at most 63"),
    ("/api/v1/namespaces/default/services", "Service", "web", True, "a DNS-1035 label"),
    ("/api/v1/namespaces/default/services", "Service", "1web", False, "must start with a letter"),
    ("/api/v1/namespaces/default/services", "Service", "web.x", False, "no '.' in a Service"),
    ("/api/v1/namespaces/default/configmaps", "ConfigMap", "1web.x", True, "subdomain: fine"),
    (
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        "Role",
        "Team:Admin",
        True,
        "RBAC names need only be path segments",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
        "Role",
        "a%b",
        False,
        "not even a path segment: '%'",
    ),
    (WIDGETS, "Widget", "w.1", True, "custom resources take subdomains"),
    (WIDGETS, "Widget", "W", False, "custom resources take subdomains"),
]


@pytest.mark.parametrize(
    ("collection", "kind", "name", "accepted", "why"),
    CREATES,
    ids=[f"{c[1]}-{c[4]}" for c in CREATES],
)
def test_create_checks_the_name_for_the_kind(
    kubeapi: RunningKubeApi, collection: str, kind: str, name: str, accepted: bool, why: str
) -> None:
    if kind == "Widget":
        _widget_crd(kubeapi)
    api_version = {
        "Role": "rbac.authorization.k8s.io/v1",
        "Widget": "kubeapi.test/v1",
    }.get(kind, "v1")
    status, body = send(
        kubeapi,
        "POST",
        collection,
        {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}},
    )
    if accepted:
        assert status == 201, (why, body)
        return
    assert status == 422, (why, body)
    assert body["reason"] == "Invalid"
    assert [c["field"] for c in body["details"]["causes"]] == ["metadata.name"]


@pytest.mark.parametrize(
    ("namespace", "why"),
    [
        ("a.b", "a subdomain, but a namespace is a label"),
        ("Team", "upper case"),
        ("-x", "a leading '-'"),
        ("%2e%2e", "decoded to '..' by the router"),
    ],
    ids=["dot", "upper", "dash", "encoded-dots"],
)
def test_create_in_an_invalid_namespace_is_422(
    kubeapi: RunningKubeApi, namespace: str, why: str
) -> None:
    status, body = send(
        kubeapi, "POST", f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": "c"}}
    )
    assert status == 422, (why, body)
    assert [c["field"] for c in body["details"]["causes"]] == ["metadata.namespace"]


# (method, path, why): the name segment is a storage key the server refuses to build.
BAD_KEYS: list[tuple[str, str, str]] = [
    ("GET", "/api/v1/namespaces/default/secrets/..", "'..'"),
    ("GET", "/api/v1/namespaces/default/secrets/.", "'.'"),
    ("GET", "/api/v1/namespaces/default/secrets/%2e%2e", "'..', percent-encoded"),
    ("GET", "/api/v1/namespaces/default/secrets/a%25b", "'%' in the name"),
    ("PUT", "/api/v1/namespaces/default/secrets/..", "update"),
    ("PATCH", "/api/v1/namespaces/default/secrets/..", "patch"),
    ("DELETE", "/api/v1/namespaces/default/secrets/..", "delete"),
    ("GET", "/api/v1/namespaces/..", "a cluster-scoped object (NoNamespaceKeyFunc)"),
    ("POST", "/api/v1/namespaces/default/serviceaccounts/../token", "a TokenRequest"),
    ("GET", "/api/v1/namespaces/default/services/../proxy/v1/keys", "the service proxy"),
]


@pytest.mark.parametrize(("method", "path", "why"), BAD_KEYS, ids=[b[2] for b in BAD_KEYS])
def test_a_name_that_is_not_a_path_segment_is_400(
    kubeapi: RunningKubeApi, method: str, path: str, why: str
) -> None:
    status, body = send(kubeapi, method, path, {} if method in ("PUT", "PATCH", "POST") else None)
    assert status == 400, (why, body)
    assert body["reason"] == "BadRequest"
    assert body["message"].startswith("Name parameter invalid: ")
    assert "may not " in body["message"]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/api/v1/namespaces/default/secrets/Web", "a read does not validate the name"),
        ("/api/v1/namespaces/default/secrets/a%2Fb", "%2F splits: name 'a', subresource 'b'"),
        ("/api/v1/namespaces/../secrets/x", "a namespace segment is not a key of its own"),
    ],
    ids=["upper", "encoded-slash", "dotdot-namespace"],
)
def test_other_unusable_names_are_just_not_found(
    kubeapi: RunningKubeApi, path: str, why: str
) -> None:
    status, body = send(kubeapi, "GET", path)
    assert status == 404, (why, body)


def test_a_traversal_never_reaches_another_namespace(kubeapi: RunningKubeApi) -> None:
    """The attack from the other side: a Secret in kube-system is not reachable from a path
    under default, however the traversal is spelled."""
    made, _ = send(
        kubeapi,
        "POST",
        "/api/v1/namespaces/kube-system/secrets",
        {"metadata": {"name": "admin"}, "stringData": {"k": "v"}},
    )
    assert made == 201
    for name in (
        "..%2F..%2Fkube-system%2Fsecrets%2Fadmin",
        "%2e%2e/%2e%2e/kube-system/secrets/admin",
    ):
        status, body = send(kubeapi, "GET", f"/api/v1/namespaces/default/secrets/{name}")
        assert status in (400, 404), body
        assert "data" not in body


def test_a_huge_name_costs_no_more_than_a_short_one(kubeapi: RunningKubeApi) -> None:
    """The length is checked before any pattern runs: a 1 MiB name is refused at once."""
    started = time.monotonic()
    status, body = send(
        kubeapi,
        "POST",
        "/api/v1/namespaces/default/secrets",
        {"metadata": {"name": "a-" * (512 * 1024) + "-"}},
    )
    assert status == 422
    assert "no more than 253 characters" in body["message"]
    assert time.monotonic() - started < 5  # slack: the machine is shared


@pytest.mark.parametrize(
    ("color", "accepted", "why"),
    [
        ("red", True, "matches"),
        ("red\n", False, "Go's $ is the end of the text: a final newline does not match"),
        ("Red", False, "no match"),
        ("xred", True, "a pattern is a search, not a full match: '^' anchors it, not the server"),
    ],
    ids=["match", "final-newline", "no-match", "unanchored-search"],
)
def test_crd_patterns_read_as_go_regexps(
    kubeapi: RunningKubeApi, color: str, accepted: bool, why: str
) -> None:
    """A CRD ``pattern`` is an ECMA/Go regular expression searched in the value (kube-openapi's
    validator uses Go's regexp.MatchString), so ``'^[a-z]+$'`` refuses ``"red\\n"`` although
    Python's ``re.search`` would take it. The real server's cause reads ``should match '...'``."""
    crd = json.loads(json.dumps(WIDGET_CRD))
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["properties"]["color"]["pattern"] = (
        "^[a-z]+$" if color != "xred" else "red$"
    )
    status, _ = send(
        kubeapi, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd
    )
    assert status == 201
    status, body = send(
        kubeapi,
        "POST",
        WIDGETS,
        {
            "apiVersion": "kubeapi.test/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"color": color},
        },
    )
    if accepted:
        assert status == 201, (why, body)
        return
    assert status == 422, (why, body)
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.color"]
    assert "should match '^[a-z]+$'" in body["message"]
