"""Bounded input: alias bombs, deep nesting, many documents and many recipients are refused fast.

Every case asserts the refusal (the bound it names, the source, no quoted content), the time it
took (generous: the machine is shared) and the memory (tracemalloc in-process; RLIMIT_AS for the
``seal`` subprocesses). Ordinary input is checked to load exactly as PyYAML loads it.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sealer.bounded import read_regular_file
from sealer.check import MAX_FILE_BYTES, check_paths
from sealer.envelope import MAX_RECIPIENTS
from sealer.errors import EnvelopeError, InputError, ManifestError
from sealer.keys import load_private_keys
from sealer.manifests import PlainSecret, dump_documents, load_documents, parse_sealed_secret
from sealer.reader import DEFAULT_LIMITS, InputBoundError, read_json, read_yaml
from sealer.sealing import (
    MAX_PRIVATE_KEY_OPS,
    Work,
    WorkBoundError,
    seal_secret,
    unseal,
)

DATA = Path(__file__).parents[1] / "data"
PLANT = "PLANTVALUE123"
SECONDS = 10.0  # far above the milliseconds these take; a regression takes hours
PEAK_BYTES = 64 * 1024 * 1024
AS_LIMIT = 3 * 1024**3  # address space for a `seal` subprocess: a bomb that expands hits it


def alias_bomb(levels: int = 9, width: int = 9, *, kind: str = "List") -> bytes:
    """Nine nested ``kind: List`` levels of nine aliases each: ~820 bytes standing for 9**9."""
    lines = [
        "apiVersion: v1",
        f"kind: {kind}",
        "items:",
        f"- &l0 {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {PLANT.lower()}}}}}",
    ]
    for k in range(1, levels + 1):
        refs = ",".join(f"*l{k - 1}" for _ in range(width))
        lines.append(f"- &l{k} {{apiVersion: v1, kind: List, items: [{refs}]}}")
    return ("\n".join(lines) + "\n").encode()


def few_alias_laughs(levels: int = 32) -> bytes:
    """Billion laughs with two aliases a level: 64 aliases in all, 2**32 nodes expanded."""
    lines = [f"l0: &l0 [{PLANT}, {PLANT}]"]
    lines += [f"l{k}: &l{k} [*l{k - 1}, *l{k - 1}]" for k in range(1, levels + 1)]
    return ("\n".join(lines) + "\n").encode()


def merge_key_bomb(levels: int = 9, width: int = 9) -> bytes:
    """The same growth through merge keys (``<<``), which copy the merged pairs."""
    lines = [f"m0: &m0 {{a: {PLANT}, b: 2}}"]
    for k in range(1, levels + 1):
        refs = ", ".join(f"*m{k - 1}" for _ in range(width))
        lines.append(f"m{k}: &m{k} {{<<: [{refs}], k{k}: x}}")
    return ("\n".join(lines) + "\n").encode()


def deep_through_alias(depth: int = 70) -> bytes:
    """Each half is within the depth bound; an alias puts one half at the bottom of the other."""
    inner = "[" * depth + "1" + "]" * depth
    return f"a: &d {inner}\nb: {'[' * depth}*d{']' * depth}\n".encode()


def secret_stream(count: int) -> bytes:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"s{i}", "namespace": "prod", "labels": {"app": f"a{i}"}},
            "stringData": {"password": f"v{i}", "url": "https://*.example.com"},
        }
        for i in range(count)
    ]
    return yaml.safe_dump_all(docs).encode()


@contextmanager
def bounded(seconds: float = SECONDS, peak: int = PEAK_BYTES) -> Iterator[None]:
    """The block must end within ``seconds`` and allocate at most ``peak`` bytes at its peak."""
    tracemalloc.start()
    start = time.monotonic()
    try:
        yield
    finally:
        elapsed = time.monotonic() - start
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    assert top < peak, f"peak {top / 1e6:.0f} MB"


@dataclass(frozen=True)
class Refusal:
    data: bytes | str
    reader: Callable[..., Any]
    expect: str  # in the message: the bound that was passed
    why: str


_REFUSED = {
    "alias-bomb-9x9-lists": Refusal(
        alias_bomb(), load_documents, "expands to more than 4,000,000 nodes", "the issue's bomb"
    ),
    "alias-bomb-read-yaml": Refusal(
        alias_bomb(), read_yaml, "expands to more than", "refused by the reader, before flattening"
    ),
    "alias-bomb-utf16": Refusal(
        alias_bomb().decode().encode("utf-16"), load_documents, "expands to more than",
        "libyaml reads UTF-16 too: the aliases must still be seen",
    ),
    "alias-bomb-bom": Refusal(
        "\ufeff".encode() + alias_bomb(), load_documents, "expands to more than", "a BOM first"
    ),
    "alias-bomb-json-like": Refusal(
        b'{"l0": &l0 [1, 2], ' + b", ".join(
            b'"l%d": &l%d [*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d,*l%d]' % ((k, k) + (k - 1,) * 8)
            for k in range(1, 10)
        ) + b"}",
        read_yaml, "expands to more than", "flow style, no spaces before the aliases",
    ),
    "few-aliases-2-per-level": Refusal(
        few_alias_laughs(), read_yaml, "expands to more than", "64 aliases, 2**32 nodes"
    ),
    "merge-key-bomb": Refusal(
        merge_key_bomb(), read_yaml, "expands to more than", "<< copies count like aliases"
    ),
    "recursive-alias": Refusal(
        b"a: &a [1, *a]\n", read_yaml, "recursive alias", "a node inside itself never ends"
    ),
    "deep-flow-yaml-100000": Refusal(
        b"[" * 100_000 + b"]" * 100_000, load_documents, "nests deeper than 1,000", "libyaml's bound"
    ),
    "deep-flow-yaml-200": Refusal(
        b"[" * 200 + b"]" * 200, load_documents, "nests deeper than 128", "within libyaml's bound"
    ),
    "deep-block-yaml": Refusal(
        ("- " * 200 + "x\n").encode(), load_documents, "nests deeper than 128", "compact sequences"
    ),
    "deep-json-via-yaml-reader": Refusal(
        b'{"a":' * 300 + b"1" + b"}" * 300, load_documents, "nests deeper", "JSON is YAML here"
    ),
    "deep-json-100000": Refusal(
        "[" * 100_000 + "]" * 100_000, read_json, "nests deeper than 128", "json's RecursionError"
    ),
    "deep-json-200": Refusal(
        "[" * 200 + "]" * 200, read_json, "nests deeper than 128", "below json's recursion limit"
    ),
    "deep-through-alias": Refusal(
        deep_through_alias(), read_yaml, "nests deeper than 128", "depth counted through aliases"
    ),
    "many-documents": Refusal(
        b"---\n{}\n" * 20_001, read_yaml, "more than 20,000 document(s)", "each costs a document"
    ),
    "many-empty-documents": Refusal(
        b"---\n" * 20_001, load_documents, "more than 20,000 document(s)", "empty ones count too"
    ),
    "many-aliases": Refusal(
        ("a: &a x\nb: [" + ", ".join(["*a"] * 10_001) + "]\n").encode(),
        read_yaml,
        "more than 10,000 aliases",
        "the alias count has its own bound",
    ),
    "nested-lists": Refusal(
        ("kind: List\nitems:\n" + "".join(f"{'  ' * i}- kind: List\n{'  ' * i}  items:\n" for i in range(6))
         + "  " * 6 + "- {kind: ConfigMap}\n").encode(),
        load_documents,
        "nests Lists deeper than 4",
        "List flattening depth",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", _REFUSED.values(), ids=_REFUSED.keys())
def test_refused_fast_naming_the_bound(case: Refusal) -> None:
    with bounded(), pytest.raises(ManifestError) as caught:
        case.reader(case.data, source="input.yaml")
    message = str(caught.value)
    assert message.startswith("input.yaml: "), message
    assert case.expect in message, message
    assert PLANT not in message and PLANT.lower() not in message
    assert "\n" not in message


_SMALL_LIMITS = {
    "bytes": (
        DEFAULT_LIMITS.with_(max_bytes=1000),
        b"a: " + b"x" * 2000,
        "larger than 1,000 bytes",
    ),
    "bytes-str": (DEFAULT_LIMITS.with_(max_bytes=100), "a: " + "é" * 60, "larger than 100 bytes"),
    "objects": (DEFAULT_LIMITS.with_(max_objects=10), secret_stream(11), "more than 10 objects"),
    "nodes": (DEFAULT_LIMITS.with_(max_nodes=1000), secret_stream(200), "more than 1,000 nodes"),
}


@pytest.mark.parametrize(
    ("limits", "data", "expect"), _SMALL_LIMITS.values(), ids=_SMALL_LIMITS.keys()
)
def test_every_bound_is_a_parameter(limits: Any, data: bytes | str, expect: str) -> None:
    with pytest.raises(InputBoundError, match=expect):
        load_documents(data, source="s", limits=limits)


_ORDINARY = {
    "1000-secrets": (secret_stream(1000), "a rendered app, with '*' in values (no alias)"),
    "shared-labels-anchor": (
        b"a: &labels {app: web, tier: x}\n" + b"".join(b"m%d: *labels\n" % i for i in range(500)),
        "anchors used as intended",
    ),
    "merge-keys": (b"base: &b {a: 1}\nderived: {<<: *b, c: 2}\n", "one merge"),
    "deep-crd-like": (
        (
            "x:\n"
            + "".join("  " * (i + 1) + f"p{i}:\n" for i in range(100))
            + "  " * 101
            + "v: 1\n"
        ).encode(),
        "100 levels: deeper than real CRD schemas",
    ),
    "json-stream": (json.dumps({"kind": "Secret", "a": [1, {"b": None}]}).encode(), "JSON"),
    "timestamps-and-binary": (
        b"t: !!timestamp 2024-01-01\nb: !!binary aGVsbG8=\nn: ~\n",
        "other YAML types (a timestamp by its tag: a plain one is a string, as Go reads it)",
    ),
    "empty-documents": (b"---\n---\na: 1\n---\n", "skipped as before"),
}


@pytest.mark.parametrize(("data", "why"), _ORDINARY.values(), ids=_ORDINARY.keys())
def test_ordinary_input_reads_as_pyyaml_reads_it(data: bytes, why: str) -> None:
    expected = list(yaml.load_all(data, Loader=yaml.SafeLoader))
    with bounded(seconds=30, peak=512 * 1024 * 1024):
        assert read_yaml(data, source="s") == expected, why


def test_load_documents_flattens_lists_as_before() -> None:
    data = b"kind: List\nitems:\n- {kind: A}\n- kind: List\n  items: [{kind: B}]\n---\n{kind: C}\n"
    assert [d["kind"] for d in load_documents(data, source="s")] == ["A", "B", "C"]


def test_json_reader_reads_ordinary_json() -> None:
    assert read_json(b'{"keys": [{"fingerprint": "SHA256:x"}]}', source="s") == {
        "keys": [{"fingerprint": "SHA256:x"}]
    }
    with pytest.raises(ManifestError, match="malformed JSON"):
        read_json(b'{"a": ' + PLANT.encode(), source="s")


# ---------------------------------------------------------------------------------------------
# Recipients and private-key operations


def _key(size: int) -> Any:
    return load_private_keys((DATA / f"key-{size}.pem").read_bytes())[0]


def _sealed_with_recipients(count: int, *, values: int = 1, hint: bool = True) -> dict[str, Any]:
    key = _key(2048)
    secret = PlainSecret(name="db", namespace="prod", data={f"v{i}": b"x" for i in range(values)})
    doc = seal_secret(secret, [key.recipient])
    for name, blob in doc["spec"]["encryptedData"].items():
        doc["spec"]["encryptedData"][name] = ",".join([blob] * count)
    annotations = doc["metadata"]["annotations"]
    if hint:
        annotations["sealops.dev/sealed-with"] = ",".join([key.fingerprint] * count)
    else:
        del annotations["sealops.dev/sealed-with"]
    return doc


_WORK = {
    "1000-recipients": (
        _sealed_with_recipients(1000), "holds 1,000 recipients; at most 16", "the issue's value"
    ),
    "17-recipients": (_sealed_with_recipients(17), "holds 17 recipients", "one past the bound"),
    "600-hinted-values": (
        _sealed_with_recipients(1, values=600), "would take 600 private-key operations",
        "one op per value: still over 512 per object",
    ),
    "no-hint-16-recipients-40-values": (
        _sealed_with_recipients(16, values=40, hint=False), "would take 640",
        "without the hint every recipient is tried with every key",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("doc", "expect", "why"), _WORK.values(), ids=_WORK.keys())
def test_rsa_work_refused_before_any_private_key_operation(
    doc: dict[str, Any], expect: str, why: str
) -> None:
    sealed = parse_sealed_secret(doc)
    work = Work()
    with bounded(), pytest.raises(WorkBoundError) as caught:
        unseal(sealed, [_key(2048)], work=work)
    assert work.ops == 0, why
    assert expect in str(caught.value)
    assert "spec.encryptedData" in str(caught.value)


def test_within_the_bound_a_value_opens() -> None:
    doc = _sealed_with_recipients(MAX_RECIPIENTS)
    work = Work()
    opened = unseal(parse_sealed_secret(doc), [_key(2048)], work=work)
    assert opened.values == {"v0": b"x"} and work.ops == 1


def test_a_wrong_hint_stops_at_the_bound() -> None:
    """Hints that name a loaded key but the wrong blobs: the fallback spends at most max_ops."""
    other = _key(4096)
    doc = _sealed_with_recipients(2, values=4)
    doc["metadata"]["annotations"]["sealops.dev/sealed-with"] = f"{other.fingerprint},x"
    for name, value in doc["spec"]["encryptedData"].items():
        blob = value.split(",")[0]
        raw = bytearray(base64.b64decode(blob))
        raw[-1] ^= 1  # altered: every attempt fails
        doc["spec"]["encryptedData"][name] = ",".join([base64.b64encode(raw).decode()] * 2)
    work = Work()
    with pytest.raises((WorkBoundError, EnvelopeError)):
        unseal(parse_sealed_secret(doc), [_key(2048), other], max_ops=3, work=work)
    assert work.ops <= 3


def test_sealing_for_too_many_recipients_is_refused() -> None:
    recipients = [_key(2048).recipient] * (MAX_RECIPIENTS + 1)
    with pytest.raises(ManifestError, match="at most 16"):
        seal_secret(PlainSecret(name="a", namespace="b", data={"k": b"v"}), recipients)


def test_max_ops_default_is_documented_value() -> None:
    assert MAX_PRIVATE_KEY_OPS == 512 and MAX_RECIPIENTS == 16


# ---------------------------------------------------------------------------------------------
# JSON output of YAML-only types


def test_json_output_of_timestamps_and_binary() -> None:
    data = b"t: !!timestamp 2024-01-01\nd: !!timestamp 2024-01-01T10:00:00Z\nb: !!binary aGVsbG8=\n"
    out = json.loads(dump_documents(read_yaml(data, source="s"), "json"))
    assert out == {"t": "2024-01-01", "d": "2024-01-01T10:00:00+00:00", "b": "aGVsbG8="}
    plain = read_yaml(b"d: 2024-01-01T10:00:00Z\n", source="s")  # plain: a string, as in Go
    assert json.loads(dump_documents(plain, "json")) == {"d": "2024-01-01T10:00:00Z"}


def test_json_output_of_a_set_is_a_clear_error() -> None:
    docs = read_yaml(b"s: !!set {a: null}\n", source="s")
    with pytest.raises(ManifestError, match="JSON cannot hold"):
        dump_documents(docs, "json")


# ---------------------------------------------------------------------------------------------
# Every `seal` subcommand that reads manifests


def _run_seal(args: list[str], cwd: Path, stdin: bytes = b"") -> tuple[int, str, float]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALOPS_")}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sealer", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=120,
        preexec_fn=limit,
        check=False,
    )
    assert proc.stdout == b"", "nothing on stdout when refused"
    return proc.returncode, proc.stderr.decode(), time.monotonic() - start


_SECRET = (
    b"apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData: {a: b}\n"
)
_KRM_BOMB = alias_bomb(kind="ResourceList")

# (arguments, stdin): FILE is the bomb on disk, SECRET a valid Secret, KEY/CERT the test keys.
_COMMANDS = {
    "seal": (["FILE", "--cert", "CERT"], b"", "a Secret stream"),
    "seal-stdin": (["-", "--cert", "CERT"], alias_bomb(), "stdin too"),
    "seal-merge-into": (["SECRET", "--cert", "CERT", "--merge-into", "FILE"], b"", "the target"),
    "unseal": (["unseal", "FILE", "--private-key", "KEY"], b"", "SealedSecrets"),
    "reencrypt": (["reencrypt", "FILE", "--private-key", "KEY", "--cert", "CERT"], b"", "offline"),
    "verify": (["verify", "FILE", "--controller-url", "http://127.0.0.1:9"], b"", "read first"),
    "migrate": (["migrate", "FILE"], b"", "Bitnami SealedSecrets"),
    "render-stdin": (["render", "-"], alias_bomb(), "the renderer's stream"),
    "render-krm": (["render", "--krm"], _KRM_BOMB, "a KRM ResourceList"),
}


def test_the_pre_commit_guard_never_expands_the_alias_bomb(tmp_path: Path) -> None:
    """`seal check` walks YAML nodes without expanding aliases: the bomb costs nothing there.

    It holds no Secret, so the guard passes it, in bounded time and memory (the same limits as
    the commands that refuse it).
    """
    (tmp_path / "bomb.yaml").write_bytes(alias_bomb())
    code, stderr, elapsed = _run_seal(["check", "bomb.yaml"], tmp_path, b"")
    assert (code, stderr) == (0, ""), stderr
    assert elapsed < 60


@pytest.mark.parametrize(("args", "stdin", "why"), _COMMANDS.values(), ids=_COMMANDS.keys())
def test_every_subcommand_refuses_the_alias_bomb(
    tmp_path: Path, args: list[str], stdin: bytes, why: str
) -> None:
    (tmp_path / "bomb.yaml").write_bytes(alias_bomb())
    (tmp_path / "secret.yaml").write_bytes(_SECRET)
    names = {
        "FILE": "bomb.yaml",
        "SECRET": "secret.yaml",
        "KEY": str(DATA / "key-2048.pem"),
        "CERT": str(DATA / "cert-2048.pem"),
    }
    code, stderr, elapsed = _run_seal([names.get(a, a) for a in args], tmp_path, stdin)
    assert code != 0, why
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert "expands to more than" in lines[0], lines[0]
    assert PLANT.lower() not in stderr
    assert elapsed < 60, f"{why}: took {elapsed:.0f} s"


_CLI_DEEP = {
    "deep-yaml": (b"[" * 100_000 + b"]" * 100_000, "nests deeper than 1,000 levels"),
    "deep-block-yaml": (b"- " * 100_000 + b"x\n", "nests deeper than 1,000 levels"),
    "deep-json": (b'{"a":' * 500 + b"1" + b"}" * 500, "nests deeper than 128"),
}


@pytest.mark.parametrize(("data", "expect"), _CLI_DEEP.values(), ids=_CLI_DEEP.keys())
def test_deep_input_is_one_error_line(tmp_path: Path, data: bytes, expect: str) -> None:
    (tmp_path / "deep.yaml").write_bytes(data)
    code, stderr, _ = _run_seal(["unseal", "deep.yaml", "--private-key", str(DATA / "key-2048.pem")],
                                tmp_path)  # fmt: skip
    assert code != 0
    assert stderr.startswith("Error: ") and stderr.count("\n") == 1 and expect in stderr, stderr
    assert "Traceback" not in stderr


def test_unseal_of_a_value_with_1000_recipients_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "many.yaml").write_text(yaml.safe_dump(_sealed_with_recipients(1000)))
    code, stderr, elapsed = _run_seal(
        ["unseal", "many.yaml", "--private-key", str(DATA / "key-2048.pem")], tmp_path
    )
    assert code != 0 and elapsed < 60
    assert stderr.startswith("Error: ") and "holds 1,000 recipients" in stderr, stderr


# ---------------------------------------------------------------------------------------------
# Files found in a tree (seal render's app directories, seal check's paths)


@pytest.mark.parametrize(
    ("make", "refusal"),
    [
        pytest.param(lambda p: os.mkfifo(p), "is a FIFO, not a regular file", id="fifo"),
        pytest.param(
            lambda p: os.symlink("/dev/zero", p), "is a device, not a regular file", id="device"
        ),
        pytest.param(lambda p: p.write_bytes(b"x" * 11), "is larger than 10 bytes", id="too-big"),
    ],
)
def test_a_file_in_a_tree_is_read_only_if_regular_and_bounded(
    tmp_path: Path, make: Callable[[Path], object], refusal: str
) -> None:
    """A FIFO put where a walk saw a file would block a plain open() for ever; a device would be
    read without end. The one tree reader checks the open descriptor, without blocking."""
    path = tmp_path / "app.yaml"
    make(path)
    start = time.monotonic()
    with pytest.raises(InputError, match=refusal):
        read_regular_file(path, 10, where="app.yaml")
    assert time.monotonic() - start < 5


def test_seal_check_reports_a_file_over_its_bound_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    (finding,) = check_paths([str(path)])
    assert "too large to check" in finding.message
