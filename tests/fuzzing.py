"""A small mutational fuzzer for the long fuzzing run (``make bench``): 100,000 inputs per target.

Hypothesis drives the bounded fuzz tests in CI; at ~10 ms an input it is too slow for 100,000.
This one mutates valid seed inputs (bit flips, byte and chunk insertions, deletions, splices,
interesting values) with a seeded ``random.Random``, so a run is reproducible, and checks each
input the same way: a result or a :class:`SealopsError`, nothing else, within a deadline.
"""

from __future__ import annotations

import base64
import contextlib
import random
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import yaml

from sealer.envelope import decode_blob, hybrid_decrypt
from sealer.errors import SealopsError
from sealer.keys import KeyPair, load_private_keys
from sealer.manifests import PlainSecret, load_documents, parse_sealed_secret, parse_secret
from sealer.sealing import seal_secret, unseal
from sealer.vault import parse_ref

_DATA = Path(__file__).parent / "data"
_KEY: KeyPair | None = None

__all__ = ["FuzzReport", "fuzz", "mutate", "seeds"]

_INTERESTING = [
    b"\x00",
    b"\xff",
    b"\n",
    b"---\n",
    b"{",
    b"[",
    b"!!python/object:",
    b"&a *a",
    b"%",
    b"#",
    b",",
    b"=",
    b"\xef\xbb\xbf",
]


def mutate(data: bytes, rng: random.Random, seeds: Sequence[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(6)
        pos = rng.randrange(len(buf) + 1)
        if choice == 0 and buf:
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif choice == 2 and buf:
            del buf[pos : pos + rng.randint(1, 16)]
        elif choice == 3:
            buf[pos:pos] = rng.choice(_INTERESTING)
        elif choice == 4 and seeds:
            other = rng.choice(seeds)
            start = rng.randrange(len(other) + 1)
            buf[pos:pos] = other[start : start + rng.randint(1, 64)]
        else:
            buf = buf[:pos]
    return bytes(buf)


@dataclass
class FuzzReport:
    target: str
    inputs: int = 0
    seconds: float = 0.0
    our_errors: int = 0
    crashes: list[tuple[bytes, str]] = field(default_factory=list)
    slowest: float = 0.0


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def fuzz(
    name: str,
    target: Callable[[bytes], object],
    seeds: Sequence[bytes],
    *,
    inputs: int,
    seed: int = 0,
    deadline: float = 2.0,
) -> FuzzReport:
    """Feed ``inputs`` mutated inputs to ``target``; crashes are kept, with their input."""
    rng = random.Random(seed)
    report = FuzzReport(name)
    previous = signal.signal(signal.SIGALRM, _alarm)
    start = time.perf_counter()
    try:
        for _ in range(inputs):
            data = mutate(rng.choice(seeds), rng, seeds)
            began = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, deadline)
            try:
                target(data)
            except SealopsError:
                report.our_errors += 1
            except _Hang:
                report.crashes.append((data, f"hang: over {deadline}s"))
            except Exception as exc:  # the finding: anything but our own error type
                report.crashes.append((data, f"{type(exc).__name__}: {exc}"[:200]))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            report.slowest = max(report.slowest, time.perf_counter() - began)
            report.inputs += 1
    finally:
        signal.signal(signal.SIGALRM, previous)
    report.seconds = time.perf_counter() - start
    return report


# -- the targets (shared with tests/unit/test_fuzz.py) -----------------------------------------


def _key() -> KeyPair:
    global _KEY
    if _KEY is None:
        _KEY = load_private_keys((_DATA / "key-2048.pem").read_bytes())[0]
    return _KEY


def envelope_target(data: bytes) -> None:
    """The blob decoder and the envelope opener, on one input (text and raw bytes)."""
    with contextlib.suppress(SealopsError):
        decode_blob(data.decode("latin-1"))
    hybrid_decrypt(_key().private_key, data, b"ns/name")


def manifest_target(data: bytes) -> None:
    """The manifest reader, then Secret and SealedSecret parsing and unsealing of each object."""
    for doc in load_documents(data, source="fuzz"):
        with contextlib.suppress(SealopsError):
            parse_secret(doc, source="fuzz", default_namespace="ns")
        with contextlib.suppress(SealopsError):
            unseal(parse_sealed_secret(doc, source="fuzz"), [_key()])


def reference_target(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    with contextlib.suppress(SealopsError):
        parse_ref(text, syntax="logical")
    parse_ref(text, syntax="api")


def seeds() -> dict[str, tuple[Callable[[bytes], object], list[bytes]]]:
    """Each target with valid seed inputs to mutate."""
    sealed = seal_secret(
        PlainSecret(name="name", namespace="ns", data={"k": b"v", "e": b""}), [_key().recipient]
    )
    blob = sealed["spec"]["encryptedData"]["k"]
    secret = b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: b}\ndata: {k: dg==}\nstringData: {s: t}\n"
    return {
        "envelope": (envelope_target, [base64.b64decode(blob), blob.encode(), b""]),
        "manifest": (
            manifest_target,
            [
                yaml.safe_dump(sealed).encode(),
                secret,
                b'{"apiVersion":"v1","kind":"List","items":[]}',
            ],
        ),
        "reference": (
            reference_target,
            [b"secret/app/db#password#3", b"secret/data/app#key", b"team/kv/app##2", b"kv/a/b/c#f"],
        ),
    }
