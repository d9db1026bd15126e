"""Findings of the adversarial review of the issue-10 fixes, each as a test of its class.

Templates: one step that costs seconds (an ``int`` filter over a long base-16 or base-32 string
builds a multi-million-bit integer without ``*`` or ``**``, and one ``//`` or ``%`` of two such
integers is quadratic; textwrap over a long string), so the deadline, checked between steps, is
passed many times over by a single object.

Vault: the controller talks to an address a tenant's VaultConnection chooses, and the renderer to
one an Application with its own token chooses. A hostile server there must not cost the process
more than a bounded body, bounded time and a clean ``VaultError``. The server here is a small
socket server on 127.0.0.1; nothing is patched.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from controller.http import HTTP_LIMITS, HttpServer
from controller.keyring import Keyring
from controller.metrics import Metrics
from sealer.api import SEALED_SECRETS
from sealer.check import scan
from sealer.errors import ManifestError, TemplateError
from sealer.manifests import load_documents
from sealer.render.errors import ModifierError
from sealer.render.modifiers import apply_modifiers
from sealer.render.placeholders import Modifier
from sealer.templating import render_template_data
from sealer.vault import SecretLocation, TokenAuth, VaultConfig
from sealer.vault.errors import InvalidReference, VaultError
from sealer.vault.hvac_backend import HvacResolver
from sealer.vault.refs import RefSyntax, parse_ref
from sealer.yamlloader import MAX_BASE60_PARTS
from tests.unit.fakekube import FakeKube

# --- templates: no single step may pass the deadline --------------------------------------------

#: The deadline is 1 s; a render over budget must end well before the slowest of these did
#: (9 to 11 s on the reviewer's machine before the fix), with slack for a loaded machine.
_QUICK = 3.0


@dataclass(frozen=True)
class SlowStep:
    template: str
    reason: str


SLOW_STEPS = [
    SlowStep(
        "{% set x = ('f' * 1000000)|int(0, 16) %}{% set y = ('f' * 500000)|int(0, 16) %}"
        "{{ (x // y) > 0 }}",
        "int of 1M hex digits is a 4M-bit integer; // of two such is quadratic (9 s)",
    ),
    SlowStep(
        "{% set x = ('v' * 1000000)|int(0, 32) %}{% set y = ('u' * 500000)|int(0, 32) %}"
        "{{ (x % y) > 0 }}",
        "base 32 packs 5 bits a character: % of the two took 11 s",
    ),
    SlowStep(
        "{% set x = ('1' * 1000000)|int(0, 2) %}{{ (x // (('1' * 400000)|int(0, 2))) > 0 }}",
        "base 2, no str-to-int digit limit for power-of-two bases",
    ),
    SlowStep(
        "{{ ('ab' * 400000)|wordwrap(5, true)|length }}",
        "textwrap over 800k characters is one filter call of about 2 s",
    ),
]


@pytest.mark.parametrize("case", SLOW_STEPS, ids=lambda c: c.reason[:40])
def test_one_template_step_cannot_outlast_the_deadline(case: SlowStep) -> None:
    start = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render_template_data({"k": case.template}, {"password": b"PLANTVALUE123"}, where="t")
    elapsed = time.monotonic() - start
    assert "over budget" in str(caught.value), case.reason
    assert "PLANTVALUE123" not in str(caught.value)
    assert elapsed < _QUICK, f"{case.reason}: took {elapsed:.1f} s"


def test_small_integers_still_work() -> None:
    out = render_template_data(
        {"k": "{{ ('ff'|int(0, 16)) // 5 }}-{{ (2 ** 100) % 7 }}"}, {}, where="t"
    )
    assert out == {"k": f"{255 // 5}-{(2**100) % 7}".encode()}


# --- a hostile Vault server ------------------------------------------------------------------


class Hostile:
    """Answers every request with ``answer(conn)``; counts the bytes it managed to send."""

    def __init__(self, answer: Callable[[socket.socket, Hostile], None]) -> None:
        self.answer = answer
        self.sent = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.address = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request (small: a GET or a login)
                self.answer(conn, self)
            except OSError:
                pass  # the client hung up: what a bounded client does

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def stopped(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"


def _huge(conn: socket.socket, server: Hostile) -> None:
    server.send(conn, _HEAD)
    chunk = b" " * (1024 * 1024)
    for _ in range(64):  # 64 MiB of JSON whitespace, then an empty object
        server.send(conn, chunk)
    server.send(conn, b"{}")


def _huge_sized(conn: socket.socket, server: Hostile) -> None:
    size = 64 * 1024 * 1024 + 2
    server.send(conn, _HEAD.replace(b"\r\n\r\n", f"\r\nContent-Length: {size}\r\n\r\n".encode()))
    chunk = b" " * (1024 * 1024)
    for _ in range(64):
        server.send(conn, chunk)
    server.send(conn, b"{}")


def _huge_chunked(conn: socket.socket, server: Hostile) -> None:
    server.send(conn, _HEAD.replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n"))
    chunk = b" " * (1024 * 1024)
    for _ in range(64):
        server.send(conn, b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    server.send(conn, b"2\r\n{}\r\n0\r\n\r\n")


def _drip(conn: socket.socket, server: Hostile) -> None:
    server.send(conn, _HEAD)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not server.stopped():
        server.send(conn, b" ")  # one byte, always inside the client's read timeout
        time.sleep(0.25)
    server.send(conn, b"{}")


def _drip_headers(conn: socket.socket, server: Hostile) -> None:
    server.send(conn, b"HTTP/1.1 200 OK\r\n")
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not server.stopped():
        server.send(conn, b"X: y\r\n")  # one header line, always inside the read timeout
        time.sleep(0.25)
    server.send(conn, b"Content-Length: 2\r\n\r\n{}")


def _deep(conn: socket.socket, server: Hostile) -> None:
    server.send(conn, _HEAD + b"[" * 200_000)


@pytest.fixture
def hostile() -> Iterator[Callable[[Callable[[socket.socket, Hostile], None]], Hostile]]:
    made: list[Hostile] = []

    def make(answer: Callable[[socket.socket, Hostile], None]) -> Hostile:
        server = Hostile(answer)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def _read(address: str) -> None:
    config = VaultConfig(address=address, auth=TokenAuth("t-HOSTILE"), kv_version=1, timeout=1)
    resolver = HvacResolver(config)
    try:
        resolver.read(SecretLocation(path="kv/app"))
    finally:
        resolver.close()


@pytest.mark.parametrize(
    "answer",
    [_huge, _huge_sized, _huge_chunked],
    ids=["no length, read to close", "a Content-Length", "chunked"],
)
def test_a_huge_vault_answer_is_refused_before_it_is_read(
    hostile: Callable[..., Hostile], answer: Callable[[socket.socket, Hostile], None]
) -> None:
    """Before the fix requests read it whole (128 MiB for the lookup and the read), then hvac
    parsed it: a server at a tenant's VaultConnection.address chose the controller's memory."""
    server = hostile(answer)
    with pytest.raises(VaultError):
        _read(server.address)
    assert server.sent < 16 * 1024 * 1024, f"the client read {server.sent:,} bytes"


@pytest.mark.parametrize(
    "answer",
    [
        _drip,
        _drip_headers,
    ],
    ids=["a byte of body at a time", "a header line at a time"],
)
def test_a_dripping_vault_answer_ends_within_a_deadline(
    hostile: Callable[..., Hostile], answer: Callable[[socket.socket, Hostile], None]
) -> None:
    """VaultConfig.timeout is requests' per-read timeout: before the fix one byte every 0.25 s
    held a handler thread 16 s for one read (4 such VaultSecrets take all of kopf's workers)."""
    server = hostile(answer)
    start = time.monotonic()
    with pytest.raises(VaultError):
        _read(server.address)
    elapsed = time.monotonic() - start
    assert elapsed < 4.0, f"one read took {elapsed:.1f} s with a 1 s timeout"


def test_deeply_nested_vault_json_is_a_vault_error(hostile: Callable[..., Hostile]) -> None:
    """RecursionError from hvac's ``.json()`` was not caught (``ValueError`` only): it escaped
    as a non-SealopsError, a traceback in the log and a kopf retry."""
    server = hostile(_deep)
    with pytest.raises(VaultError):
        _read(server.address)


# --- Vault's own paths are never a reference -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "syntax"),
    [
        ("auth/token/lookup-self#id", "logical"),
        ("auth/token/lookup-self#id", "api"),
        ("sys/internal/ui/resultant-acl", "logical"),
        ("cubbyhole/data/x#k", "api"),
        ("identity/entity/name/admin#id", "logical"),
        ("audit/x#y", "logical"),
    ],
    ids=[
        "the token's own lookup (its id is the token)",
        "the same as an argocd-vault-plugin path",
        "sys: the token's whole ACL",
        "cubbyhole: the connection token's private store",
        "identity: entities and groups",
        "audit: reserved too",
    ],
)
def test_vaults_own_first_segments_are_refused(text: str, syntax: RefSyntax) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_ref(text, syntax=syntax)
    assert "Vault's own paths" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    ["system/app#k", "authn/x#y", "secret/sys/x#k", "team/auth/db#p"],
    ids=["a prefix of sys", "a prefix of auth", "sys further down", "auth further down"],
)
def test_ordinary_mounts_near_the_reserved_names_still_parse(text: str) -> None:
    assert parse_ref(text).field is not None


# --- seal check: YAML merge keys ------------------------------------------------------------

#: kubectl's YAML parser (go-yaml, through sigs.k8s.io/yaml) applies ``<<`` merge keys, so each
#: of these applies as a Secret (or SealedSecret, VaultSecret, kustomization) holding the literal.
MERGED: list[tuple[str, str]] = [
    (
        "stringData from a merged flow mapping",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n"
        "<<: {stringData: {password: hunter2xyzzy}}\n",
    ),
    (
        "stringData through an alias of an earlier item",
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: base}\n"
        "  data: &creds {password: hunter2xyzzy}\n"
        "- apiVersion: v1\n  kind: Secret\n  metadata: {name: a}\n  <<: {stringData: *creds}\n",
    ),
    (
        "the kind comes from the merge",
        "<<: {apiVersion: v1, kind: Secret}\nmetadata: {name: a}\n"
        "stringData: {password: hunter2xyzzy}\n",
    ),
    (
        "a list of merged mappings",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n"
        "<<: [{type: Opaque}, {stringData: {password: hunter2xyzzy}}]\n",
    ),
    (
        "SealedSecret template data from a merge",
        "apiVersion: sealops.dev/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\n"
        "spec:\n  encryptedData: {}\n  <<: {template: {data: {password: hunter2xyzzy}}}\n",
    ),
    (
        "secretGenerator literals from a merge",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "<<: {secretGenerator: [{name: a, literals: [password=hunter2xyzzy]}]}\n",
    ),
]


@pytest.mark.parametrize("content", [c for _, c in MERGED], ids=[i for i, _ in MERGED])
def test_seal_check_sees_through_yaml_merge_keys(content: str) -> None:
    """Before the fix, sealer/check.py read a mapping's own keys only: every case passed."""
    findings = scan("s.yaml", content.encode())
    assert findings, "a plaintext Secret passed seal check"
    assert all("hunter2xyzzy" not in str(f) for f in findings)


def test_a_mapping_merged_into_itself_ends() -> None:
    content = b"&a {apiVersion: v1, kind: Secret, metadata: {name: x}, <<: *a, stringData: {p: q1w2e3r4t5}}\n"
    (finding,) = scan("s.yaml", content)
    assert "stringData.p" in str(finding)


# --- YAML 1.1 base-60 numbers: the reader's constructors ------------------------------------

#: ``!!int 1:30:00`` is a base-60 integer in YAML 1.1, and PyYAML builds it by multiplying
#: ``base *= 60`` per part: quadratic in the parts. A float of that shape converts the growing
#: integer base to float, which raises OverflowError past ~170 parts. (A plain ``1:30:00`` is a
#: string, as Go's yaml.v2 reads it: only an explicit tag builds a number.)
BASE60: list[tuple[str, bytes, str]] = [
    ("a base-60 integer of 150,000 parts (300 KB)", b"a: !!int " + b"1:" * 150_000 + b"1\n",
     "about 8 s of CPU in one constructor call; 4 MiB would be hours"),
    ("a base-60 float of 200 parts", b"a: !!float " + b"1:" * 200 + b"1.5\n",
     "OverflowError, which the reader does not catch"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "why"), [(d, w) for _, d, w in BASE60], ids=[i for i, _, _ in BASE60]
)
def test_base60_numbers_are_bounded_in_the_one_reader(data: bytes, why: str) -> None:
    """Before the fix: 7.2 s and a result, and an OverflowError out of the reader."""
    start = time.monotonic()
    with pytest.raises(ManifestError):
        load_documents(data, source="t", limits=HTTP_LIMITS)
    assert time.monotonic() - start < _QUICK, why


@pytest.mark.parametrize(
    ("data", "why"), [(d, w) for _, d, w in BASE60], ids=[i for i, _, _ in BASE60]
)
def test_base60_numbers_through_the_http_endpoint(data: bytes, why: str) -> None:
    """POST /v1/verify, which anyone reaching the port may call: before the fix one 300 KB
    request held an executor thread 7 s (a 4 MiB one, hours), and the float answered 500."""
    server = HttpServer(keyring=Keyring(), kube=FakeKube(), metrics=Metrics())

    async def post() -> tuple[int, float]:
        async with TestClient(TestServer(server.app())) as client:
            start = time.monotonic()
            response = await client.post("/v1/verify", data=data)
            await response.read()
            return response.status, time.monotonic() - start

    status, elapsed = asyncio.run(post())
    assert status in (409, 413), f"answered {status}"
    assert elapsed < _QUICK, f"{why}: took {elapsed:.1f} s"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: !!int 1:30:00", 5400),
        ("a: !!int -1:30", -90),
        ("a: !!float 1:30.5", 90.5),
        ("a: 1:30:00", "1:30:00"),
        ("a: '1:1:1:1:1:1:1:1:1'", "1:1:1:1:1:1:1:1:1"),
        ("a: 1:1:1:1:1:1:1:1:1:1:1", "1:1:1:1:1:1:1:1:1:1:1"),
    ],
    ids=["a clock time", "signed", "a base-60 float", "plain: a string, as Go reads it",
         "quoted: a string, any length", "plain, long: a string, no bound needed"],
)  # fmt: skip
def test_short_base60_numbers_still_read(text: str, value: object) -> None:
    (doc,) = load_documents(text.encode(), source="t", limits=HTTP_LIMITS)
    assert doc == {"a": value}


def test_the_base60_bound_is_exact() -> None:
    parts, tag = MAX_BASE60_PARTS, b"a: !!int "
    (doc,) = load_documents(tag + b":".join([b"1"] * parts), source="t", limits=HTTP_LIMITS)
    assert isinstance(doc["a"], int)
    with pytest.raises(ManifestError, match=f"more than {parts} parts"):
        load_documents(tag + b":".join([b"1"] * (parts + 1)), source="t", limits=HTTP_LIMITS)


# --- /v1/keys: what a tenant's hint annotation can put in the operators' key list ----------


def test_a_tenants_hint_cannot_invent_missing_keys() -> None:
    """count_key_usage took every string of a tenant's ``sealops.dev/sealed-with`` as a
    fingerprint: GET /v1/keys (and so ``seal keys``) listed any text, 500 times here, as a
    "missing" key for operators to restore. Now only fingerprint-shaped hints are listed (a
    tenant sealing for a key of its own still shows as missing: that one is real)."""
    kube = FakeKube()
    real = "SHA256:" + "A" * 43
    fake = [f"RESTORE-ME-{i}: call +1-555-0100" for i in range(500)] + [real]
    kube.create(
        SEALED_SECRETS,
        "tenant-a",
        {
            "apiVersion": "sealops.dev/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {
                "name": "db",
                "namespace": "tenant-a",
                "annotations": {"sealops.dev/sealed-with": ",".join(fake)},
            },
            "spec": {"encryptedData": {"v": "AgB"}},
        },
    )
    server = HttpServer(keyring=Keyring(), kube=kube, metrics=Metrics())

    async def get() -> Any:
        async with TestClient(TestServer(server.app())) as client:
            response = await client.get("/v1/keys")
            return await response.json()

    listed = [k["fingerprint"] for k in asyncio.run(get())["keys"]]
    assert not [fp for fp in listed if "RESTORE-ME" in fp], f"{len(listed)} invented keys listed"
    assert real in listed


# --- seal render: the indent modifier ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "spaces"),
    [("a\n" * 20_000, 999), ("a\n" * 2_000_000, 9)],
    ids=["999 spaces on 20,000 lines (20 MB)", "9 spaces on 2 million lines (22 MB)"],
)
def test_indent_cannot_blow_a_value_up(value: str, spaces: int) -> None:
    """Before the fix ``indent`` built whatever it was asked: 999 spaces on each line of a 4 MiB
    value from an Application's own Vault is 2 GB in the shared sidecar."""
    with pytest.raises(ModifierError, match="indent: the result would pass"):
        apply_modifiers(value, [Modifier("indent", (str(spaces),))])


def test_indent_still_indents() -> None:
    out = apply_modifiers("a\n  b\n\nc", [Modifier("indent", ("4",))])
    assert out == "a\n    b\n    c"


# --- No ambient credentials go to a tenant's Vault address ------------------------------------


def test_no_netrc_credentials_go_to_a_vault_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests adds a ``.netrc`` entry's credentials (``default`` matches any host) to a request
    that carries no auth of its own; hvac sends the token as a header, so a tenant's
    VaultConnection.address would have received the controller's or the sidecar's netrc login.
    """
    netrc = tmp_path / "netrc"
    netrc.write_text("default login operator password NETRC-PLANTED-9f3\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))  # the environment, not a client library
    seen: list[bytes] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                seen.append(conn.recv(65536))
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(VaultError):
            _read(f"http://127.0.0.1:{server.getsockname()[1]}")
    finally:
        thread.join(timeout=5)
        server.close()
    assert seen, "the client sent nothing"
    request = seen[0].lower()
    assert b"authorization:" not in request, "netrc credentials were sent"
    assert b"netrc-planted" not in request
