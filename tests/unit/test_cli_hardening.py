"""The ``seal`` CLI under hostile or careless input: bounded reads, plain http, file modes, and
wrong types in every field of every manifest it reads.

Each table row is one case with an id and the reason it matters. Bounds, special files, HTTP
and file modes run the real console script in a subprocess (as a shell would); the type fuzz
runs every subcommand in-process through click's runner, because it is hundreds of runs, and a
few of its rows again as subprocesses to see the real stderr.
"""

from __future__ import annotations

import base64
import copy
import http.server
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from click.testing import CliRunner

from sealer.bounded import Limit, human_size
from sealer.cli import cli
from sealer.cli.io import PIPE_WAIT, is_plain_http, read_path
from sealer.errors import InputError
from tests.unit.conftest import DATA, Run, Seal, error_line

CERT = DATA / "cert-4096.pem"
KEY = DATA / "key-4096.pem"
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens, nothing is sent


def secret_doc(**data: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "prod", "labels": {"app": "db"}},
        "type": "Opaque",
        "data": {k: base64.b64encode(v).decode() for k, v in (data or {"a": b"1"}).items()},
    }


def dump(doc: Any) -> bytes:
    return yaml.safe_dump(doc).encode()


@pytest.fixture(scope="module")
def sealed_doc() -> dict[str, Any]:
    """A real SealedSecret for prod/db, with a template, sealed with the upstream test cert."""
    runner = CliRunner()
    result = runner.invoke(cli, ["--cert", str(CERT)], input=dump(secret_doc()))
    assert result.exit_code == 0, result.stderr
    doc = yaml.safe_load(result.stdout)
    doc["spec"]["template"]["metadata"]["annotations"] = {"team": "db"}
    doc["spec"]["template"]["data"] = {"url": "db://{{ a }}"}
    assert isinstance(doc, dict)
    return doc


# ---------------------------------------------------------------------------------------------
# 1. Every input read is bounded


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that costs no disk."""
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


@dataclass(frozen=True)
class BoundCase:
    id: str
    args: Callable[[Path], list[str]]  # given the oversized file
    limit: int
    what: str
    reason: str
    stdin: bool = False


BOUND_CASES = [
    BoundCase(
        "cert",
        lambda big: ["--cert", str(big)],
        Limit.CERTIFICATE,
        "certificate",
        "a certificate is a few KiB; a huge --cert is a mistake or an attack",
    ),
    BoundCase(
        "private-key",
        lambda big: ["unseal", "--private-key", str(big), str(big)],
        Limit.PRIVATE_KEY,
        "private key",
        "a key backup holds a few PEMs",
    ),
    BoundCase(
        "from-file",
        lambda big: ["create", "x", "-n", "y", "--from-file", f"k={big}", "--cert", str(CERT)],
        Limit.VALUE,
        "value",
        "the API server refuses a Secret over 1 MiB, so a bigger value is never useful",
    ),
    BoundCase(
        "from-env-file",
        lambda big: ["create", "x", "-n", "y", "--from-env-file", str(big), "--cert", str(CERT)],
        Limit.ENV_FILE,
        "env file",
        "KEY=VALUE lines for one Secret",
    ),
    BoundCase(
        "raw-from-file",
        lambda big: ["raw", "-n", "y", "--name", "x", "--from-file", str(big), "--cert", str(CERT)],
        Limit.VALUE,
        "value",
        "seal raw seals one value",
    ),
    BoundCase(
        "manifest-file",
        lambda big: ["--cert", str(CERT), str(big)],
        Limit.MANIFEST,
        "Secret manifest",
        "manifest streams are bounded before YAML sees them",
    ),
    BoundCase(
        "sealed-manifest-file",
        lambda big: ["verify", "--controller-url", UNREACHABLE, str(big)],
        Limit.MANIFEST,
        "SealedSecret manifest",
        "unseal, verify, reencrypt and migrate share one reader",
    ),
    BoundCase(
        "merge-into-target",
        lambda big: ["--cert", str(CERT), "--merge-into", str(big)],
        Limit.MANIFEST,
        "SealedSecret",
        "the file --merge-into rewrites is read first",
    ),
    BoundCase(
        "manifest-stdin",
        lambda big: ["--cert", str(CERT)],
        Limit.MANIFEST,
        "Secret manifest",
        "`cat /dev/zero | seal` must end",
        stdin=True,
    ),
    BoundCase(
        "render-stdin",
        lambda big: ["render", "-"],
        Limit.MANIFEST,
        "manifest stream",
        "the renderer's stream input",
        stdin=True,
    ),
    BoundCase(
        "render-krm-stdin",
        lambda big: ["render", "--krm"],
        Limit.MANIFEST,
        "manifest stream",
        "a KRM ResourceList from kustomize",
        stdin=True,
    ),
    BoundCase(
        "raw-stdin",
        lambda big: ["raw", "-n", "y", "--name", "x", "--cert", str(CERT)],
        Limit.VALUE,
        "value",
        "seal raw reads its value from stdin",
        stdin=True,
    ),
]


@pytest.mark.parametrize("case", BOUND_CASES, ids=[c.id for c in BOUND_CASES])
def test_every_input_is_read_only_up_to_its_bound(
    seal: Seal, tmp_path: Path, case: BoundCase
) -> None:
    big = sparse(tmp_path / "big", case.limit + 1)
    stdin = big.read_bytes() if case.stdin else dump(secret_doc())
    line = error_line(seal(*case.args(big), stdin=stdin))
    assert f"{case.what} is larger than the {human_size(case.limit)} limit" in line, case.reason
    assert ("<stdin>" if case.stdin else str(big)) in line, "the error names the input"


def test_an_endless_stdin_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    # `seal < /dev/zero`: the largest bound (manifests, 32 MiB) is read and refused; the peak
    # memory is that bound plus the interpreter, not the stream.
    report = (
        # VmHWM, not getrusage's ru_maxrss: Linux keeps ru_maxrss across fork and exec, so it
        # would report the (large) pytest process that started this one.
        "import atexit, sys\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            sys.stderr.write('RSS-KB %s\\n' % line.split()[1])\n"
        "atexit.register(hwm)\n"
        "from sealer.cli import main\n"
        f"sys.argv = ['seal', '--cert', {str(CERT)!r}]\n"
        "main()\n"
    )
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run(
            [sys.executable, "-c", report],
            stdin=zero,
            capture_output=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 1
    assert lines[0] == "Error: <stdin>: Secret manifest is larger than the 32 MiB limit"
    peak_mb = int(lines[-1].split()[1]) / 1024
    assert peak_mb < 32 + 100, f"peak {peak_mb:.0f} MB"


def test_a_file_exactly_at_the_bound_is_read(seal: Seal, tmp_path: Path) -> None:
    # bound + 1 bytes are read to tell "at the bound" from "over it": the bound itself is allowed.
    value = tmp_path / "value"
    value.write_bytes(b"v" * Limit.VALUE)
    run = seal.ok("create", "x", "-n", "y", "--from-file", f"k={value}", "--cert", str(CERT))
    assert b"kind: SealedSecret" in run.stdout


SPECIAL_FILES = [
    ("dev-zero", "/dev/zero", "is not a regular file or a pipe", "endless: refused before a byte"),
    ("dev-urandom", "/dev/urandom", "is not a regular file or a pipe", "endless and random"),
    ("dev-null", "/dev/null", "is not a regular file or a pipe", "a device, not a file"),
]


@pytest.mark.parametrize(
    ("path", "expected", "reason"),
    [c[1:] for c in SPECIAL_FILES],
    ids=[c[0] for c in SPECIAL_FILES],
)
@pytest.mark.parametrize("option", ["--cert", "--private-key", "--from-file"])
def test_devices_are_refused_at_once(
    seal: Seal, option: str, path: str, expected: str, reason: str
) -> None:
    args = {
        "--cert": ["--cert", path],
        "--private-key": ["unseal", "--private-key", path, "-"],
        "--from-file": ["create", "x", "-n", "y", "--from-file", f"k={path}", "--cert", str(CERT)],
    }[option]
    line = error_line(seal(*args, stdin=dump(secret_doc())))
    assert expected in line and path in line, reason


def test_a_fifo_nobody_writes_to_is_refused_not_waited_on(tmp_path: Path) -> None:
    # open() of a FIFO blocks until a writer comes; seal opens it non-blocking and waits a
    # bounded time for a first byte (30 s in the CLI; 0.5 s here to keep the test short).
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(InputError, match=r"nothing arrived on the pipe in 0.5 s") as caught:
        read_path(str(fifo), what="certificate", limit=Limit.CERTIFICATE, pipe_wait=0.5)
    assert time.monotonic() - started < 10
    assert str(fifo) in str(caught.value)
    assert PIPE_WAIT <= 60, "the CLI's own wait is bounded too"


def test_a_fifo_whose_writer_closes_at_once_reads_as_empty(seal: Seal, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    thread = threading.Thread(target=lambda: fifo.open("wb").close(), daemon=True)
    thread.start()
    line = error_line(seal("--cert", str(CERT), str(fifo)))
    assert "is empty" in line and "fifo" in line


def test_an_endless_pipe_is_cut_at_the_bound(seal: Seal, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        try:
            with fifo.open("wb") as handle:
                while True:  # like `yes > fifo`: only seal closing its end stops this
                    handle.write(b"y" * 65536)
        except (BrokenPipeError, OSError):
            pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    line = error_line(
        seal("create", "x", "-n", "y", "--from-file", f"k={fifo}", "--cert", str(CERT))
    )
    assert f"value is larger than the {human_size(Limit.VALUE)} limit" in line
    thread.join(timeout=10)
    assert not thread.is_alive(), "the writer saw seal close the pipe"


def test_process_substitution_still_works(tmp_path: Path) -> None:
    # `seal --cert <(kubectl get …)`: the path is a pipe, which is read like a file.
    script = f"{sys.executable} -m sealer --cert <(cat {CERT}) -n prod"
    proc = subprocess.run(
        ["bash", "-c", script],
        input=dump(secret_doc()),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"kind: SealedSecret" in proc.stdout


# ---------------------------------------------------------------------------------------------
# 2. Certificates over plain http: a warning; HTTP answers bounded


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], Callable[[], Iterator[bytes]]]]] = {}

    def do_GET(self) -> None:
        if self.path == "/redirect-to-own-address":  # loopback URL, body from another address
            port = self.connection.getsockname()[1]
            own = f"http://{own_address()}:{port}/cert.pem"
            self.routes[self.path] = (
                302,
                {"Location": own, "Content-Length": "0"},
                lambda: iter([]),
            )
        status, headers, body = self.routes.get(self.path, (404, {}, lambda: iter([b"no"])))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in body():
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args: Any) -> None:
        pass


def _endless() -> Iterator[bytes]:
    while True:
        yield b"A" * 65536


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    """An HTTP server on every interface: reached as loopback and as this host's own address."""
    pem = CERT.read_bytes()
    _Handler.routes = {
        "/cert.pem": (200, {}, lambda: iter([pem])),
        "/v1/cert.pem": (200, {}, lambda: iter([pem])),
        "/huge.pem": (200, {}, lambda: iter([b"A" * (Limit.CERTIFICATE + 1)])),
        "/endless.pem": (200, {}, _endless),
        "/v1/keys": (200, {}, _endless),
    }
    httpd = http.server.ThreadingHTTPServer(("0.0.0.0", 0), _Handler)  # noqa: S104
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield own_address(), httpd.server_address[1]
    httpd.shutdown()


def own_address() -> str:
    """This host's address on its outward interface (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            address = "127.0.0.1"
    return address


def warnings_in(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("Warning:")]


def test_plain_http_certificate_warns_once_and_still_seals(
    seal: Seal, server: tuple[str, int]
) -> None:
    host, port = server
    if host.startswith("127."):
        pytest.skip("no outward interface: every address here is loopback")
    url = f"http://{host}:{port}/cert.pem"
    run = seal.ok("--cert", url, stdin=dump(secret_doc()))
    assert b"kind: SealedSecret" in run.stdout, "the fetch still works"
    (warning,) = warnings_in(run)
    assert url in warning and "plain http" in warning
    assert "SHA256:" in warning, "the fingerprint to compare"
    assert run.stderr.strip() == warning, "one line, nothing else"


def test_the_warning_judges_the_url_after_redirects(seal: Seal, server: tuple[str, int]) -> None:
    # A redirect can move a quiet URL (loopback, or https) to plain http across a network.
    host, port = server
    if host.startswith("127."):
        pytest.skip("no outward interface: every address here is loopback")
    run = seal.ok(
        "--cert", f"http://127.0.0.1:{port}/redirect-to-own-address", stdin=dump(secret_doc())
    )
    (warning,) = warnings_in(run)
    assert f"http://{host}:{port}/cert.pem" in warning, "the address the body came from"


def test_controller_url_over_plain_http_warns_when_it_gives_the_certificate(
    seal: Seal, server: tuple[str, int]
) -> None:
    host, port = server
    if host.startswith("127."):
        pytest.skip("no outward interface: every address here is loopback")
    url = f"http://{host}:{port}"
    for args in (["--controller-url", url], ["cert", "--controller-url", url]):
        run = seal.ok(*args, stdin=dump(secret_doc()))
        assert len(warnings_in(run)) == 1, args


HTTP_QUIET = [
    ("loopback-ip", "http://127.0.0.1:{port}/cert.pem", "kubectl port-forward: no network path"),
    ("localhost", "http://localhost:{port}/cert.pem", "the name for loopback"),
]


@pytest.mark.parametrize(
    ("template", "reason"), [c[1:] for c in HTTP_QUIET], ids=[c[0] for c in HTTP_QUIET]
)
def test_loopback_http_is_not_warned_about(
    seal: Seal, server: tuple[str, int], template: str, reason: str
) -> None:
    run = seal.ok("--cert", template.format(port=server[1]), stdin=dump(secret_doc()))
    assert warnings_in(run) == [], reason


PLAIN_HTTP = [
    ("http-remote", "http://sealops.example.com/cert.pem", True, "plain http over a network"),
    ("http-ip", "http://10.0.0.7:8080/v1/cert.pem", True, "a private address is still a network"),
    ("http-upper", "HTTP://Example.COM/x", True, "schemes and hosts are case-insensitive"),
    ("https", "https://sealops.example.com/cert.pem", False, "TLS, verified"),
    ("loopback", "http://127.0.0.1:8080/v1/cert.pem", False, "port-forward"),
    ("loopback-8", "http://127.1.2.3/", False, "all of 127.0.0.0/8 is loopback"),
    ("ipv6-loopback", "http://[::1]:8080/", False, "::1"),
    ("localhost-dot", "http://localhost./", False, "the FQDN form of localhost"),
    ("sub-localhost", "http://api.localhost/", False, "RFC 6761: *.localhost is loopback"),
    ("localhost-lookalike", "http://localhost.example.com/", True, "only the name itself"),
]


@pytest.mark.parametrize(
    ("url", "plain", "reason"), [c[1:] for c in PLAIN_HTTP], ids=[c[0] for c in PLAIN_HTTP]
)
def test_which_urls_count_as_plain_http(url: str, plain: bool, reason: str) -> None:
    assert is_plain_http(url) is plain, reason


HTTP_BOUNDS = [
    (
        "cert-url-over-bound",
        ["--cert", "http://127.0.0.1:{port}/huge.pem"],
        "certificate is larger than the 256 KiB limit",
        "a --cert URL is read like a file",
    ),
    (
        "cert-url-endless",
        ["--cert", "http://127.0.0.1:{port}/endless.pem"],
        "certificate is larger than the 256 KiB limit",
        "an endless body is cut, not read to its end",
    ),
    (
        "controller-keys-endless",
        ["keys", "--controller-url", "http://127.0.0.1:{port}"],
        f"larger than the {human_size(Limit.ANSWER)} limit",
        "the controller's answers are bounded too",
    ),
]


@pytest.mark.parametrize(
    ("args", "expected", "reason"), [c[1:] for c in HTTP_BOUNDS], ids=[c[0] for c in HTTP_BOUNDS]
)
def test_http_answers_are_bounded(
    seal: Seal, server: tuple[str, int], args: list[str], expected: str, reason: str
) -> None:
    argv = [a.format(port=server[1]) for a in args]
    line = error_line(seal(*argv, stdin=dump(secret_doc())))
    assert expected in line, reason


# ---------------------------------------------------------------------------------------------
# 3. -w and --merge-into keep the file's mode (and owner); new files respect the umask


def run_with_umask(cwd: Path, umask: int, *args: str, stdin: bytes = b"") -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALOPS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "sealer", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.umask(umask),  # the umask the user runs seal with
    )
    return Run(proc.returncode, proc.stdout, proc.stderr.decode())


def seal_to(tmp: Path, target: str) -> list[str]:
    return ["--cert", str(CERT), "-w", target]


def merge_into(tmp: Path, target: str) -> list[str]:
    return ["--cert", str(CERT), "--merge-into", target]


MODE_CASES = [
    # (id, existing mode or None for a new file, umask, command, expected mode, reason)
    ("w-keeps-0600", 0o600, 0o022, seal_to, 0o600, "the reported bug: 0600 became 0644"),
    ("w-keeps-0640", 0o640, 0o022, seal_to, 0o640, "a group-readable file stays so"),
    ("w-keeps-0444", 0o444, 0o022, seal_to, 0o444, "a read-only file is replaced, mode kept"),
    ("w-keeps-0666", 0o666, 0o077, seal_to, 0o666, "the old mode wins over the umask"),
    ("merge-keeps-0600", 0o600, 0o022, merge_into, 0o600, "--merge-into rewrites in place"),
    ("merge-keeps-0640", 0o640, 0o002, merge_into, 0o640, "whatever the umask says"),
    ("w-new-umask-022", None, 0o022, seal_to, 0o644, "a new file: 0644 less the umask"),
    ("w-new-umask-077", None, 0o077, seal_to, 0o600, "a strict umask is honoured"),
    ("w-new-umask-002", None, 0o002, seal_to, 0o644, "never group-writable by default"),
]


@pytest.mark.parametrize(
    ("existing", "umask", "command", "expected", "reason"),
    [c[1:] for c in MODE_CASES],
    ids=[c[0] for c in MODE_CASES],
)
def test_written_files_keep_their_mode(
    tmp_path: Path,
    existing: int | None,
    umask: int,
    command: Callable[[Path, str], list[str]],
    expected: int,
    reason: str,
) -> None:
    target = tmp_path / "db.sealed.yaml"
    stdin = dump(secret_doc(b=b"2"))
    if existing is not None:
        made = run_with_umask(tmp_path, 0o022, "--cert", str(CERT), stdin=dump(secret_doc()))
        target.write_bytes(made.stdout)
        target.chmod(existing)
    run = run_with_umask(tmp_path, umask, *command(tmp_path, target.name), stdin=stdin)
    assert run.code == 0, run.stderr
    assert stat.S_IMODE(target.stat().st_mode) == expected, reason
    doc = yaml.safe_load(target.read_bytes())
    assert "b" in doc["spec"]["encryptedData"], "the new content is in place"
    assert [p.name for p in tmp_path.iterdir()] == [target.name], "no temporary file is left"


def test_a_symlink_target_is_written_through_and_keeps_its_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "link.yaml"
    link.symlink_to(real.name)
    run = run_with_umask(tmp_path, 0o022, *seal_to(tmp_path, "link.yaml"), stdin=dump(secret_doc()))
    assert run.code == 0, run.stderr
    assert link.is_symlink(), "the link stays a link"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert b"kind: SealedSecret" in real.read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_the_owner_and_group_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "owned.yaml"
    target.write_text("old\n")
    os.chown(target, 4321, 4322)
    target.chmod(0o640)
    run = run_with_umask(tmp_path, 0o022, *seal_to(tmp_path, target.name), stdin=dump(secret_doc()))
    assert run.code == 0, run.stderr
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4322, 0o640)


def test_keygen_private_key_stays_0600_even_with_a_loose_umask(tmp_path: Path) -> None:
    run = run_with_umask(tmp_path, 0o000, "keygen", "--private-key", "k.pem", "--cert", "c.pem",
                         "--key-size", "2048")  # fmt: skip
    assert run.code == 0, run.stderr
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "c.pem").stat().st_mode) == 0o644


# ---------------------------------------------------------------------------------------------
# 4. Wrong types in every field: one Error line naming the field, never a traceback

WRONG_FOR = {
    "string": [("int", 5), ("bool", True), ("list", ["x"]), ("map", {"a": "b"})],
    "mapping": [("string", "text"), ("int", 5), ("list", [1])],
    "bool": [("string", "yes"), ("int", 1)],
}


@dataclass(frozen=True)
class Mutation:
    id: str
    path: tuple[str, ...]
    value: Any
    expected: str  # a fragment of the error: the field, as the error names it
    reason: str

    def apply(self, doc: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        node = out
        for part in self.path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[self.path[-1]] = self.value
        return out


def mutations(fields: dict[str, tuple[str, str]]) -> list[Mutation]:
    """Each field with each wrong type: ``fields`` maps a dotted path to (type, error fragment)."""
    out = []
    for dotted, (kind, expected) in fields.items():
        for name, value in WRONG_FOR[kind]:
            out.append(
                Mutation(
                    f"{dotted}={name}",
                    tuple(dotted.split("|")) if "|" in dotted else tuple(dotted.split(".")),
                    value,
                    expected.format(field=dotted.replace("|", ".")),
                    f"{dotted} must be a {kind}; a {name} is refused naming it",
                )
            )
    return out


SECRET_FIELDS = {
    "apiVersion": ("string", "v1 Secret"),
    "kind": ("string", "v1 Secret"),
    "metadata": ("mapping", "{field}"),
    "metadata.name": ("string", "{field}"),
    "metadata.namespace": ("string", "{field}"),
    "metadata.labels": ("mapping", "{field}"),
    "metadata.labels.app": ("string", "{field}"),
    "metadata.annotations": ("mapping", "{field}"),
    "metadata|annotations|sealops.dev/scope": ("string", "metadata.annotations"),
    "data": ("mapping", "{field}"),
    "data.a": ("string", "{field}"),
    "stringData": ("mapping", "{field}"),
    "stringData.a": ("string", "{field}"),
    "type": ("string", "{field}"),
    "immutable": ("bool", "{field}"),
}
SECRET_EXTRA = [
    Mutation("data-key-int", ("data",), {5: "MQ=="}, "data", "keys are strings in the API"),
    Mutation("label-key-int", ("metadata", "labels"), {1: "x"}, "metadata.labels", "same"),
    Mutation("data-null", ("data", "a"), None, "data.a", "a null value is no value"),
    Mutation("data-key-slash", ("data",), {"../a": "MQ=="}, "data", "the API's key rule"),
    Mutation("name-empty", ("metadata", "name"), "", "metadata.name", "a name is required"),
]
SECRET_MUTATIONS = mutations(SECRET_FIELDS) + SECRET_EXTRA

SEALED_FIELDS = {
    "apiVersion": ("string", "SealedSecret"),
    "kind": ("string", "SealedSecret"),
    "metadata": ("mapping", "{field}"),
    "metadata.name": ("string", "{field}"),
    "metadata.namespace": ("string", "{field}"),
    "metadata.labels": ("mapping", "{field}"),
    "metadata.annotations": ("mapping", "{field}"),
    "metadata|annotations|sealops.dev/scope": ("string", "metadata.annotations"),
    "spec": ("mapping", "{field}"),
    "spec.encryptedData": ("mapping", "{field}"),
    "spec.encryptedData.a": ("string", "{field}"),
    "spec.template": ("mapping", "{field}"),
    "spec.template.type": ("string", "{field}"),
    "spec.template.immutable": ("bool", "{field}"),
    "spec.template.metadata": ("mapping", "{field}"),
    "spec.template.metadata.labels": ("mapping", "{field}"),
    "spec.template.metadata.labels.app": ("string", "{field}"),
    "spec.template.metadata.annotations": ("mapping", "{field}"),
    "spec.template.metadata.annotations.team": ("string", "{field}"),
    "spec.template.data": ("mapping", "{field}"),
    "spec.template.data.url": ("string", "{field}"),
}
SEALED_EXTRA = [
    Mutation("spec-null", ("spec",), None, "spec", "a SealedSecret without spec"),
    Mutation(
        "encrypted-key-int", ("spec", "encryptedData"), {7: "x"}, "spec.encryptedData", "API keys"
    ),
    Mutation("name-null", ("metadata", "name"), None, "metadata.name", "a name is required"),
]
SEALED_MUTATIONS = mutations(SEALED_FIELDS) + SEALED_EXTRA


def invoke(args: list[str], stdin: bytes) -> Any:
    result = CliRunner().invoke(cli, args, input=stdin)
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"a traceback: {result.exception!r}"
    return result


def assert_one_error(result: Any, expected: str) -> None:
    assert result.exit_code != 0
    assert result.stdout == "", "stdout stays empty on error"
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert expected in lines[0], f"the error names {expected!r}: {lines[0]}"


SECRET_COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "seal": lambda tmp: ["--cert", str(CERT)],
    "seal-merge-into": lambda tmp: ["--cert", str(CERT), "--merge-into", str(tmp / "t.yaml")],
}


@pytest.mark.parametrize("command", sorted(SECRET_COMMANDS))
@pytest.mark.parametrize("mutation", SECRET_MUTATIONS, ids=[m.id for m in SECRET_MUTATIONS])
def test_a_wrong_type_in_a_secret_is_one_error_line(
    tmp_path: Path, sealed_doc: dict[str, Any], command: str, mutation: Mutation
) -> None:
    (tmp_path / "t.yaml").write_bytes(dump(sealed_doc))
    bad = mutation.apply(secret_doc())
    result = invoke(SECRET_COMMANDS[command](tmp_path), dump(bad))
    assert_one_error(result, mutation.expected)
    assert yaml.safe_load((tmp_path / "t.yaml").read_bytes()) == sealed_doc, "nothing written"


SEALED_COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "unseal": lambda tmp: ["unseal", "--private-key", str(KEY), str(tmp / "in.yaml")],
    "reencrypt-offline": lambda tmp: [
        "reencrypt",
        "--private-key",
        str(KEY),
        "--cert",
        str(CERT),
        str(tmp / "in.yaml"),
    ],
    "reencrypt-online": lambda tmp: [
        "reencrypt",
        "--controller-url",
        UNREACHABLE,
        str(tmp / "in.yaml"),
    ],
    "verify": lambda tmp: ["verify", "--controller-url", UNREACHABLE, str(tmp / "in.yaml")],
    "merge-into-target": lambda tmp: ["--cert", str(CERT), "--merge-into", str(tmp / "in.yaml")],
    "migrate": lambda tmp: ["migrate", str(tmp / "in.yaml")],
}


@pytest.mark.parametrize("command", sorted(SEALED_COMMANDS))
@pytest.mark.parametrize("mutation", SEALED_MUTATIONS, ids=[m.id for m in SEALED_MUTATIONS])
def test_a_wrong_type_in_a_sealed_secret_is_one_error_line(
    tmp_path: Path, sealed_doc: dict[str, Any], command: str, mutation: Mutation
) -> None:
    doc = copy.deepcopy(sealed_doc)
    if command == "migrate":  # migrate reads Bitnami's SealedSecrets
        doc["apiVersion"] = "bitnami.com/v1alpha1"
    bad = mutation.apply(doc)
    (tmp_path / "in.yaml").write_bytes(dump(bad))
    result = invoke(SEALED_COMMANDS[command](tmp_path), dump(secret_doc(b=b"2")))
    assert_one_error(result, mutation.expected)
    assert yaml.safe_load((tmp_path / "in.yaml").read_bytes()) == bad, "the file is untouched"


def test_the_fuzz_table_covers_every_command_that_reads_manifests() -> None:
    readers = {"seal", "unseal", "reencrypt", "verify", "migrate"}
    covered = {c.split("-")[0] for c in [*SECRET_COMMANDS, *SEALED_COMMANDS]} | {"seal"}
    assert readers <= covered
    assert len(SECRET_MUTATIONS) >= 40 and len(SEALED_MUTATIONS) >= 60


CREATE_KEYS = [
    (
        "literal-slash",
        ["--from-literal", "a/b=1"],
        "--from-literal: key 'a/b' is not a valid Secret key",
        "a path",
    ),
    ("literal-dotdot", ["--from-literal", "..=1"], "key '..'", "'..' is refused by the API"),
    ("literal-space", ["--from-literal", "my key=1"], "key 'my key'", "spaces are not allowed"),
    ("file-name-space", ["--from-file", "{tmp}/my file"], "key 'my file'", "the default key"),
    ("env-key-colon", ["--from-env-file", "{tmp}/colon.env"], "key 'A:B'", "env files too"),
]


@pytest.mark.parametrize(
    ("args", "expected", "reason"), [c[1:] for c in CREATE_KEYS], ids=[c[0] for c in CREATE_KEYS]
)
def test_create_refuses_keys_the_api_server_refuses(
    tmp_path: Path, args: list[str], expected: str, reason: str
) -> None:
    (tmp_path / "my file").write_bytes(b"v")
    (tmp_path / "colon.env").write_bytes(b"A:B=1\n")
    argv = ["create", "x", "-n", "y", "--cert", str(CERT)] + [a.format(tmp=tmp_path) for a in args]
    assert_one_error(invoke(argv, b""), expected)


# The same kind of mistake through the real console script, to see what a user's shell sees.
REAL_CASES = [
    (
        "kind-int",
        ["--cert", str(CERT)],
        b"apiVersion: v1\nkind: 5\nmetadata: {name: a, namespace: b}\n",
        "kind a number",
        "a non-string kind is named by its type",
    ),
    (
        "env-file-bad-utf8",
        ["create", "x", "-n", "y", "--from-env-file", "bad.env", "--cert", str(CERT)],
        b"",
        "line 2: not UTF-8 text",
        "the line is named, its bytes are not shown",
    ),
    (
        "template-metadata-string",
        ["unseal", "--private-key", str(KEY), "ss.yaml"],
        b"",
        "spec.template.metadata: must be a mapping",
        "the reported traceback",
    ),
    (
        "labels-list",
        ["--cert", str(CERT)],
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b, labels: [x]}\n",
        "metadata.labels: must be a mapping",
        "labels of the wrong type",
    ),
    (
        "data-int",
        ["--cert", str(CERT)],
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\ndata: {x: 5}\n",
        "data.x: must be a string",
        "data values are strings",
    ),
]


@pytest.mark.parametrize(
    ("args", "stdin", "expected", "reason"),
    [c[1:] for c in REAL_CASES],
    ids=[c[0] for c in REAL_CASES],
)
def test_reported_tracebacks_are_one_error_line(
    seal: Seal, tmp_path: Path, args: list[str], stdin: bytes, expected: str, reason: str
) -> None:
    (tmp_path / "bad.env").write_bytes(b"A=1\nB=\xff\xfe secret-ish\n")
    (tmp_path / "ss.yaml").write_bytes(
        b"apiVersion: sealops.dev/v1alpha1\nkind: SealedSecret\n"
        b"metadata: {name: a, namespace: b}\nspec: {encryptedData: {}, template: {metadata: str}}\n"
    )
    run = seal(*args, stdin=stdin)
    assert "Traceback" not in run.stderr
    line = error_line(run)
    assert expected in line, reason
    assert "secret-ish" not in line and "\ufffd" not in line
