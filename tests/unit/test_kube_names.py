"""Names from users reach a URL only through the request builder, checked for their kind.

``ResourceRef.path`` (and :class:`sealer.kubeclient.KubeApi` on top of it) must refuse every
name the API server would refuse for that position, in every spelling of a traversal, before a
request is sent: urllib3 collapses ``..`` segments, so ``secrets/../../team-b/secrets/db`` would
otherwise reach another namespace. The rules are the API server's
(k8s.io/apimachinery/pkg/util/validation): namespaces are DNS-1123 labels, Services DNS-1035
labels, most other kinds (Secrets, ServiceAccounts, Deployments, custom resources, ...) DNS-1123
subdomains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.vaultsecrets import rollout_ref
from sealer.api import (
    CLUSTER_PEERINGS,
    CLUSTER_VAULT_CONNECTIONS,
    EVENTS,
    PEERINGS,
    SEALED_SECRETS,
    SECRETS,
    SERVICE_ACCOUNTS,
    SERVICES,
    VAULT_CONNECTIONS,
    VAULT_SECRETS,
)
from sealer.kube import InvalidName, ResourceRef, check_label_selector, check_name, check_namespace
from sealer.kubeclient import KubeApi, _proxy_target

NAMESPACES = ResourceRef("", "v1", "namespaces", namespaced=False, name_rule="label")

# (value, why it must be refused) for every rule: traversal in each spelling, characters the
# rules exclude, look-alikes, control characters (header and request-line injection), lengths.
REFUSED_EVERYWHERE: list[tuple[object, str]] = [
    ("../../x", "walks up two segments: the original attack"),
    ("..", "the parent segment; urllib3 removes it with the segment before"),
    (".", "the current segment; removed by dot-segment normalisation"),
    ("a/b", "a slash adds a segment"),
    ("%2e%2e", "percent-encoded '..': decoded by the server's router"),
    ("%2F", "percent-encoded '/': the API server decodes it into a segment boundary"),
    ("..%2f", "mixed: '..' then an encoded slash"),
    ("%2e%2e%2f%2e%2e%2fkube-system", "fully encoded traversal"),
    ("Web", "upper case: names are lower case"),
    ("-web", "a leading '-'"),
    ("web-", "a trailing '-'"),
    (".web", "a leading '.'"),
    ("web.", "a trailing '.'"),
    ("web\uff0ex", "FULLWIDTH FULL STOP, a look-alike of '.'"),
    ("\u0430pp", "CYRILLIC SMALL LETTER A, a look-alike of 'a'"),
    ("web\u200b", "a zero-width space"),
    ("web\x00", "NUL"),
    ("we b", "a space"),
    ("web\t", "a tab"),
    ("web\n", "a trailing newline: Python's '$' would match before it"),
    ("web\r\nX-Injected: 1", "CR LF: header injection"),
    ("web?watch=true", "'?' starts a query"),
    ("web#x", "'#' starts a fragment"),
    ("web&x=1", "'&' in a query"),
    ("a" * 254, "over 253 characters, the longest name of any rule"),
    ("", "empty: never the whole collection"),
    (None, "None, not a string"),
    (5, "an int, not a string"),
    (b"web", "bytes, not a string"),
]

# (rule, value, why): names valid under some other rule but not under this one.
REFUSED_HERE: list[tuple[str, str, str]] = [
    ("label", "a.b", "a subdomain, but a namespace is a label (no '.')"),
    ("label", "a" * 64, "64 characters: a label has at most 63"),
    ("dns1035", "1web", "a Service name must start with a letter (DNS-1035)"),
    ("dns1035", "web.x", "a Service name has no '.' (DNS-1035 label)"),
    ("dns1035", "a" * 64, "64 characters: a DNS-1035 label has at most 63"),
    ("subdomain", "a..b", "an empty label between two dots"),
]

ACCEPTED: list[tuple[str, str, str]] = [
    ("subdomain", "web", "a plain name"),
    ("subdomain", "db-credentials", "with '-'"),
    ("subdomain", "a.b.c", "dots between labels"),
    ("subdomain", "1web", "a leading digit is fine for subdomains"),
    ("subdomain", "a" * 253, "exactly 253 characters"),
    ("label", "team-b", "a namespace"),
    ("label", "0", "one digit"),
    ("label", "a" * 63, "exactly 63 characters"),
    ("dns1035", "sealops-controller", "the controller's Service"),
    ("dns1035", "a" * 63, "exactly 63 characters"),
]

REFS: dict[str, ResourceRef] = {"subdomain": SECRETS, "label": NAMESPACES, "dns1035": SERVICES}
RULES = {
    "subdomain": (re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"), 253),
    "label": (re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"), 63),
    "dns1035": (re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?"), 63),
}  # fmt: skip


def _ids(cases: list[Any]) -> list[str]:
    return [c[-1] for c in cases]


# -- every position, every refused value ---------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """One place a name enters a URL, and how to call the builder with a value there."""

    id: str
    field: str

    def build(self, value: Any) -> str:
        if self.id == "namespace":
            return SECRETS.path(value, "web")
        if self.id == "namespace-of-list":
            return SECRETS.path(value)
        if self.id == "secret-name":
            return SECRETS.item_path("shop", value)
        if self.id == "serviceaccount-token":
            return SERVICE_ACCOUNTS.item_path("shop", value, "token")
        if self.id == "service-name":
            return SERVICES.item_path("shop", value)
        if self.id == "namespace-name":
            return NAMESPACES.item_path(None, value)
        if self.id == "custom-resource-name":
            return VAULT_CONNECTIONS.item_path("shop", value)
        if self.id == "cluster-custom-resource-name":
            return CLUSTER_VAULT_CONNECTIONS.item_path(None, value)
        if self.id == "proxy-target":
            return _proxy_target(value)
        if self.id == "proxy-target-with-port":
            return _proxy_target(f"https:{value}:8080" if isinstance(value, str) else value)
        raise AssertionError(self.id)


POSITIONS = [
    Position("namespace", "metadata.namespace"),
    Position("namespace-of-list", "metadata.namespace"),
    Position("secret-name", "metadata.name"),
    Position("serviceaccount-token", "metadata.name"),
    Position("service-name", "metadata.name"),
    Position("namespace-name", "metadata.name"),
    Position("custom-resource-name", "metadata.name"),
    Position("cluster-custom-resource-name", "metadata.name"),
    Position("proxy-target", "service"),
    Position("proxy-target-with-port", "service"),
]


@pytest.mark.parametrize("position", POSITIONS, ids=[p.id for p in POSITIONS])
@pytest.mark.parametrize(("value", "why"), REFUSED_EVERYWHERE, ids=_ids(REFUSED_EVERYWHERE))
def test_every_position_refuses(position: Position, value: object, why: str) -> None:
    if position.id == "namespace-of-list" and value is None:
        # The one exception, asked for explicitly: a LIST with namespace None is across all
        # namespaces. '' is refused (above), so an empty field never widens a list.
        assert position.build(value) == "/api/v1/secrets"
        return
    with pytest.raises(InvalidName) as info:
        position.build(value)
    assert info.value.field == position.field, why
    assert info.value.reason == "InvalidSpec"
    text = str(info.value)
    assert text.startswith(f"{position.field}: "), text
    assert "\n" not in text and "\r" not in text and "\x00" not in text, "quoted escaped"
    assert len(text) < 300, "a bounded message, whatever the value's length"


@pytest.mark.parametrize(("rule", "value", "why"), REFUSED_HERE, ids=_ids(REFUSED_HERE))
def test_valid_elsewhere_but_not_here(rule: str, value: str, why: str) -> None:
    with pytest.raises(InvalidName):
        REFS[rule].path(None if rule == "label" else "shop", value)
    # ... and it is a name the looser rule takes, so the refusal is the rule's own.
    looser = "subdomain" if rule != "subdomain" else None
    if looser and len(value) <= 253:
        assert SECRETS.path("shop", value).endswith(f"/{value}"), why


@pytest.mark.parametrize(("rule", "value", "why"), ACCEPTED, ids=_ids(ACCEPTED))
def test_valid_names_are_accepted_unchanged(rule: str, value: str, why: str) -> None:
    ref = REFS[rule]
    namespace = None if not ref.namespaced else "shop"
    assert ref.item_path(namespace, value).rsplit("/", 1)[1] == value, why
    if rule == "label":
        assert SECRETS.path(value, "web") == f"/api/v1/namespaces/{value}/secrets/web"


def test_the_message_names_the_field_and_quotes_a_bounded_prefix() -> None:
    long = "../" * 2000 + "kube-system"
    with pytest.raises(InvalidName) as info:
        check_name(SECRETS, long, field="spec.target.name", where="VaultSecret shop/app")
    text = str(info.value)
    assert text.startswith("VaultSecret shop/app: spec.target.name: ")
    assert "kube-system" not in text, "only the first 64 characters are quoted"
    assert ascii(long[:64]) in text and "..." in text
    with pytest.raises(InvalidName) as info:
        check_namespace("a.b", field="spec.namespace")
    assert str(info.value).startswith("spec.namespace: 'a.b' is not a valid name: ")
    assert "DNS-1123 label" in str(info.value)


# -- the shape of a request: no silent list, no silent cluster-wide call ------------------------

NOT_A_STR: Any = None  # what an untyped caller could pass despite the annotation

MISSHAPEN: list[tuple[str, Any, str]] = [
    ("get-without-namespace", lambda: SECRETS.item_path(None, "web"), "never cluster-wide"),
    ("get-with-empty-namespace", lambda: SECRETS.item_path("", "web"), "'' is not 'all'"),
    ("list-with-empty-namespace", lambda: SECRETS.path(""), "'' is not 'all namespaces'"),
    ("token-without-namespace", lambda: SERVICE_ACCOUNTS.path(None, "app", "token"), "never"),
    ("empty-name", lambda: SECRETS.item_path("shop", ""), "'' is not the collection"),
    ("none-name", lambda: SECRETS.item_path("shop", NOT_A_STR), "None is not the collection"),
    ("namespace-on-cluster-kind", lambda: CLUSTER_PEERINGS.path("shop", "p"), "no namespace"),
]


@pytest.mark.parametrize(("case", "build", "why"), MISSHAPEN, ids=[c[0] for c in MISSHAPEN])
def test_misshapen_requests_are_refused(case: str, build: Any, why: str) -> None:
    with pytest.raises(InvalidName):
        build()


def test_a_subresource_needs_an_object_and_is_chosen_by_code() -> None:
    with pytest.raises(ValueError, match="not a subresource"):
        SECRETS.path("shop", None, "status")
    for sub in ("../x", "Status", "status/x", "a" * 33):
        with pytest.raises(ValueError, match="not a subresource"):
            SECRETS.path("shop", "web", sub)
    assert SECRETS.path("shop", "web", "status") == "/api/v1/namespaces/shop/secrets/web/status"


def test_the_collections_that_are_allowed() -> None:
    assert SECRETS.path(None) == "/api/v1/secrets"  # a LIST across namespaces, asked for with None
    assert SECRETS.path("shop") == "/api/v1/namespaces/shop/secrets"
    assert CLUSTER_VAULT_CONNECTIONS.path() == "/apis/sealops.dev/v1alpha1/clustervaultconnections"


# -- every ResourceRef the project defines has its kind's rule ----------------------------------

DEFINED: list[tuple[ResourceRef, str, bool, str]] = [
    (SECRETS, "subdomain", True, "Secret"),
    (EVENTS, "subdomain", True, "Event"),
    (SERVICES, "dns1035", True, "Service (IsDNS1035Label)"),
    (SERVICE_ACCOUNTS, "subdomain", True, "ServiceAccount"),
    (VAULT_SECRETS, "subdomain", True, "custom resource"),
    (SEALED_SECRETS, "subdomain", True, "custom resource"),
    (VAULT_CONNECTIONS, "subdomain", True, "custom resource"),
    (CLUSTER_VAULT_CONNECTIONS, "subdomain", False, "cluster-scoped custom resource"),
    (PEERINGS, "subdomain", True, "kopf's peering"),
    (CLUSTER_PEERINGS, "subdomain", False, "kopf's cluster peering"),
    *[
        (ref, "subdomain", True, kind)
        for kind in ("Deployment", "StatefulSet", "DaemonSet")
        if (ref := rollout_ref(kind)) is not None
    ],
]


@pytest.mark.parametrize(
    ("ref", "rule", "namespaced", "kind"), DEFINED, ids=[f"{d[0].plural}" for d in DEFINED]
)
def test_each_defined_ref_has_its_kinds_rule(
    ref: ResourceRef, rule: str, namespaced: bool, kind: str
) -> None:
    assert (ref.name_rule, ref.namespaced) == (rule, namespaced), kind


# -- query parameters built from input ----------------------------------------------------------

SELECTORS: list[tuple[object, bool, str]] = [
    ("sealops.dev/sealing-key", True, "a key"),
    ("app.kubernetes.io/managed-by=sealops", True, "key=value"),
    ("a!=b,c in (x, y),!d", True, "set syntax and negation"),
    ("a=b&watch=true", False, "'&' would add a query parameter"),
    ("a=b\r\nX-Injected: 1", False, "CR LF"),
    ("a=b#x", False, "'#' would end the query"),
    ("a=\u0430", False, "not ASCII"),
    ("a" * 4097, False, "too long"),
    (5, False, "not a string"),
]


@pytest.mark.parametrize(("selector", "ok", "why"), SELECTORS, ids=_ids(SELECTORS))
def test_label_selectors(selector: object, ok: bool, why: str) -> None:
    if ok:
        assert check_label_selector(selector) == selector, why
    else:
        with pytest.raises(InvalidName):
            check_label_selector(selector)


# -- the real client refuses before sending anything --------------------------------------------


class RecordingClient:
    """A stand-in for ``kubernetes.client.ApiClient``: records each request, answers 200 {}."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.configuration = type("Configuration", (), {"host": "http://fake"})()

    def param_serialize(self, method: str, path: str, **_: Any) -> tuple[str, str]:
        return method, path

    def call_api(self, method: str, path: str, **_: Any) -> Any:
        self.sent.append((method, path))
        return _Response()


class _Response:
    status = 200

    def read(self) -> bytes:
        return b'{"status": {"token": "t"}}'


CLIENT_CALLS: list[tuple[str, Any, str]] = [
    ("get-traversal", lambda k: k.get(SECRETS, "shop", "../../team-b/secrets/db"), "name"),
    ("get-empty", lambda k: k.get(SECRETS, "shop", ""), "never a LIST"),
    ("get-no-namespace", lambda k: k.get(SECRETS, None, "db"), "never cluster-wide"),
    ("replace-traversal", lambda k: k.replace(SECRETS, "shop", "..", {}), "name"),
    ("replace-no-namespace", lambda k: k.replace(SECRETS, None, "db", {}), "namespace"),
    ("patch-encoded", lambda k: k.patch(SECRETS, "shop", "%2e%2e", {}), "name"),
    ("patch-status-none", lambda k: k.patch(SECRETS, "shop", None, {}, subresource="status"), "x"),
    ("create-no-namespace", lambda k: k.create(SECRETS, None, {"metadata": {"name": "a"}}), "ns"),
    ("create-bad-name", lambda k: k.create(SECRETS, "shop", {"metadata": {"name": "../a"}}), "x"),
    ("create-no-name", lambda k: k.create(SECRETS, "shop", {"metadata": {}}), "no name"),
    ("list-empty-namespace", lambda k: k.list(SECRETS, ""), "'' is not all namespaces"),
    ("list-injected-selector", lambda k: k.list(SECRETS, "shop", label_selector="a&b"), "query"),
    (
        "token-traversal",
        lambda k: k.request_token(
            "shop", "../../kube-system/serviceaccounts/admin", audiences=["vault"], seconds=600
        ),
        "the issue's ServiceAccount attack",
    ),
    (
        "token-namespace",
        lambda k: k.request_token("kube-system/x", "a", audiences=["v"], seconds=600),
        "namespace with a slash",
    ),
    ("proxy-namespace", lambda k: k.proxy(namespace="..", service="web", path="/v1/keys"), "ns"),
    ("proxy-service", lambda k: k.proxy(namespace="a", service="../x", path="/v1/keys"), "svc"),
]


@pytest.mark.parametrize(("case", "call", "why"), CLIENT_CALLS, ids=[c[0] for c in CLIENT_CALLS])
def test_the_client_sends_nothing_for_a_bad_name(case: str, call: Any, why: str) -> None:
    client = RecordingClient()
    with pytest.raises(InvalidName):
        call(KubeApi(client))
    assert client.sent == [], why


def test_the_client_sends_checked_escaped_paths() -> None:
    client = RecordingClient()
    kube = KubeApi(client)
    kube.get(SECRETS, "shop", "db.credentials")
    kube.request_token("shop", "app", audiences=["vault"], seconds=600)
    kube.create(SECRETS, "shop", {"metadata": {"generateName": "key-"}})
    kube.proxy(namespace="sealops-system", service="http:sealops-controller:http", path="/v1/keys")
    assert client.sent == [
        ("GET", "/api/v1/namespaces/shop/secrets/db.credentials"),
        ("POST", "/api/v1/namespaces/shop/serviceaccounts/app/token"),
        ("POST", "/api/v1/namespaces/shop/secrets"),
        (
            "GET",
            "/api/v1/namespaces/sealops-system/services/http:sealops-controller:http/proxy/v1/keys",
        ),
    ]
    for bad in ("/v1/../keys", "/v1/keys?x=1", "/v1/%2e%2e/keys"):
        with pytest.raises(ValueError, match="not a controller path"):
            kube.proxy(namespace="a", service="web", path=bad)


# -- property: for any text, path() refuses or builds a path of checked segments ----------------


@settings(max_examples=300, deadline=None)
@given(
    namespace=st.one_of(st.none(), st.text(max_size=70)),
    name=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="abc-./%2eEF\n", max_size=20),
        st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?", fullmatch=True),
    ),
    rule=st.sampled_from(sorted(REFS)),
)
def test_path_refuses_or_builds_checked_segments(
    namespace: str | None, name: str, rule: str
) -> None:
    ref = REFS[rule]
    ns = namespace if ref.namespaced else None
    try:
        path = ref.item_path(ns, name)
    except InvalidName:
        return
    segments = path.split("/")
    expected = ["", "api", "v1"] + (["namespaces", str(ns)] if ref.namespaced else [])
    assert segments[:-2] == expected
    assert segments[-2:] == [ref.plural, name]
    pattern, limit = RULES[rule]
    assert pattern.fullmatch(name) and len(name) <= limit
    if ref.namespaced:
        label, longest = RULES["label"]
        assert ns is not None and label.fullmatch(ns) and len(ns) <= longest
