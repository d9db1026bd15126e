"""Fuzzing the parsers that read untrusted input: nothing but our own errors, and no hang.

Bounded here (``SEALOPS_FUZZ_EXAMPLES``, default 200 per target) so CI stays fast; ``make bench``
runs the same targets with 100,000 inputs each (tests/bench/bench_fuzz.py). Each target feeds
arbitrary input to a reader and accepts exactly two outcomes: a result, or a
:class:`sealer.errors.SealopsError`. Anything else (a KeyError, a TypeError, a hang past the
per-input deadline) fails the test with the input that caused it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.envelope import decode_blob
from sealer.errors import SealopsError
from tests.fuzzing import envelope_target, manifest_target, reference_target, seeds

EXAMPLES = int(os.environ.get("SEALOPS_FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=2),  # "no hang": any single input slower than this fails
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
DATA = Path(__file__).parents[1] / "data"


def _ours_only(call: Callable[[], object]) -> None:
    with contextlib.suppress(SealopsError):
        call()


# -- the envelope decoder ----------------------------------------------------------------------

envelopes = st.one_of(
    st.binary(max_size=600),
    # Mostly well-formed headers, so the fuzzer gets past the length check into RSA and GCM.
    st.builds(lambda body: (256).to_bytes(2, "big") + body, st.binary(min_size=0, max_size=400)),
)


@FUZZ
@given(text=st.text(max_size=800))
def test_fuzz_blob_decoder(text: str) -> None:
    _ours_only(lambda: decode_blob(text))


@FUZZ
@given(envelope=envelopes)
def test_fuzz_envelope(envelope: bytes) -> None:
    _ours_only(lambda: envelope_target(envelope))


# -- the manifest reader -----------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.floats(allow_nan=False)
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def manifest_like() -> st.SearchStrategy[bytes]:
    """Documents shaped like Secrets and SealedSecrets, with any field of any type."""
    doc = st.fixed_dictionaries(
        {
            "apiVersion": st.sampled_from(
                ["v1", "sealops.dev/v1alpha1", "bitnami.com/v1alpha1", "x"]
            )
            | json_like,
            "kind": st.sampled_from(["Secret", "SealedSecret", "List", "ConfigMap"]) | json_like,
        },
        optional={
            "metadata": st.fixed_dictionaries(
                {},
                optional={
                    "name": json_like,
                    "namespace": json_like,
                    "annotations": json_like,
                    "labels": json_like,
                },
            )
            | json_like,
            "data": st.dictionaries(
                st.text(max_size=8), st.text(max_size=30) | json_like, max_size=3
            )
            | json_like,
            "stringData": json_like,
            "spec": st.fixed_dictionaries(
                {},
                optional={
                    "encryptedData": st.dictionaries(
                        st.text(max_size=8), st.text(max_size=60), max_size=3
                    )
                    | json_like,
                    "template": json_like,
                },
            )
            | json_like,
            "items": json_like,
            "immutable": json_like,
        },
    )
    return st.lists(doc, max_size=3).map(lambda docs: yaml.safe_dump_all(docs).encode())


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode), manifest_like())
)
def test_fuzz_manifest_reader(data: bytes) -> None:
    _ours_only(lambda: manifest_target(data))


# -- the Vault reference grammar ---------------------------------------------------------------

ref_like = st.one_of(
    st.text(max_size=120),
    st.builds(
        lambda path, field, version: f"{path}#{field}#{version}",
        st.text(alphabet="abc/-_.%: ", max_size=30),
        st.text(max_size=10),
        st.text(alphabet="0123456789-+ ", max_size=25),
    ),
)


@FUZZ
@given(text=ref_like)
def test_fuzz_reference_grammar(text: str) -> None:
    _ours_only(lambda: reference_target(text.encode()))


def test_seeds_are_valid_inputs() -> None:
    """The long run mutates valid inputs, so it reaches deep code and not only the first check."""
    for target, samples in seeds().values():
        target(samples[0])  # a valid seed opens or parses without any error
