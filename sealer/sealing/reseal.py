"""Re-sealing one value for new recipients, keeping the ciphertexts of every other recipient.

A multi-recipient value holds one blob per cluster. Re-encrypting it with one cluster's keys
replaces only the blobs those keys open, by blobs for the new recipients (once, where the first
one was); every other blob is kept byte for byte, with its place in the ``sealed-with`` hint.
Nothing is dropped that was not opened: a value none of whose blobs open is kept as it is, and
one whose exact hint names a given key that does not open it is refused.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from sealer.envelope import (
    MAX_RECIPIENTS,
    RandomSource,
    decode_blob,
    envelope_fits,
    hybrid_decrypt,
    join_recipients,
    split_recipients,
)
from sealer.errors import DecryptError, EnvelopeError
from sealer.keys import KeyPair, Recipient
from sealer.sealing.opening import size_mismatch
from sealer.sealing.seal import seal_value
from sealer.sealing.work import Work, WorkBoundError

__all__ = ["Resealed", "reseal_value"]


@dataclass(frozen=True)
class Resealed:
    """A value after re-sealing: the joined blobs and their fingerprints (None: not all known).

    ``opened`` is False when no blob opened, and the value is the one given, unchanged; then
    ``size_miss`` says so when no given key even had the size of a blob (no RSA work was done).
    """

    value: str
    hint: list[str] | None
    opened: bool
    size_miss: DecryptError | None = None


@dataclass
class _Opener:
    """Tries blob/key pairs within the RSA work bound, remembering what failed and why."""

    envelopes: list[bytes]
    keys: Sequence[KeyPair]
    label: bytes
    max_ops: int
    work: Work | None
    ops: int = 0
    skipped: list[bytes] | None = None
    failures: list[EnvelopeError] | None = None

    def open(self, b: int, key: KeyPair) -> bytes | None:
        envelope = self.envelopes[b]
        if not envelope_fits(envelope, key.private_key):
            self.skipped = [*(self.skipped or []), envelope]
            return None
        if self.ops >= self.max_ops:
            raise WorkBoundError(
                f"re-sealing it would take more than {self.max_ops} private-key operations; refused"
            )
        self.ops += 1
        if self.work is not None:
            self.work.ops += 1
        try:
            return hybrid_decrypt(key.private_key, envelope, self.label)
        except EnvelopeError as exc:
            self.failures = [*(self.failures or []), exc]
            return None


def _open_ours(opener: _Opener, hint: Sequence[str]) -> dict[int, tuple[bytes, str]]:
    """The blobs the keys open: {index: (plaintext, fingerprint of the key that opened it)}.

    With an exact hint, only the blobs it names for a given key are tried; if one of them does
    not open, or it names none, every remaining blob is tried with every key.
    """
    count = len(opener.envelopes)
    index = {k.fingerprint: k for k in opener.keys}
    opened: dict[int, tuple[bytes, str]] = {}
    named = (
        [(b, index[fp]) for b, fp in enumerate(hint) if fp in index] if len(hint) == count else []
    )
    for b, key in named:
        plain = opener.open(b, key)
        if plain is not None:
            opened[b] = (plain, key.fingerprint)
    if named and len(opened) == len(named):
        return opened
    for b in range(count):
        for key in opener.keys if b not in opened else ():
            plain = opener.open(b, key)
            if plain is not None:
                opened[b] = (plain, key.fingerprint)
                break
    return opened


def reseal_value(
    value: str,
    keys: Sequence[KeyPair],
    recipients: Sequence[Recipient],
    label: bytes,
    *,
    hint: Sequence[str] = (),
    random: RandomSource = os.urandom,
    max_ops: int,
    work: Work | None = None,
) -> Resealed:
    """``value`` with the blobs ``keys`` open replaced by blobs for ``recipients``.

    The new blobs take the place of the first opened one; a recipient the exact hint already
    names for a kept blob is not added twice. Raises :class:`DecryptError` when the value's
    exact hint names one of ``keys`` and nothing opens (altered data, or the wrong scope),
    :class:`EnvelopeError` when a blob is malformed or the result would hold more than
    ``MAX_RECIPIENTS`` recipients, and :class:`WorkBoundError` past ``max_ops`` operations.
    """
    blobs = split_recipients(value)
    opener = _Opener([decode_blob(b) for b in blobs], keys, label, max_ops, work)
    opened = _open_ours(opener, hint)
    ours = {k.fingerprint for k in keys}
    exact = len(hint) == len(blobs)
    if not opened:
        if exact and ours.intersection(hint):
            raise _not_opened(opener, len(keys))
        miss = (
            size_mismatch(opener.skipped, keys) if opener.skipped and not opener.failures else None
        )
        return Resealed(
            value=value, hint=list(hint) if exact else None, opened=False, size_miss=miss
        )
    # The hint holds for the kept blobs only if it was right about every blob of ours.
    exact = exact and all(
        (hint[b] == opened[b][1]) if b in opened else (hint[b] not in ours)
        for b in range(len(blobs))
    )
    first = min(opened)
    kept_fps = {hint[b] for b in range(len(blobs)) if b not in opened} if exact else set()
    new = [r for r in recipients if r.fingerprint not in kept_fps]
    out: list[str] = []
    fps: list[str] = []
    for b, blob in enumerate(blobs):
        if b == first and new:
            out.append(seal_value(opened[b][0], new, label, random=random))
            fps += [r.fingerprint for r in new]
        elif b not in opened:
            out.append(blob)
            fps.append(hint[b] if exact else "")
    if len(fps) > MAX_RECIPIENTS:
        raise EnvelopeError(
            f"would hold {len(fps)} recipients after re-sealing; at most {MAX_RECIPIENTS} "
            "are allowed"
        )
    return Resealed(value=join_recipients(out), hint=fps if all(fps) else None, opened=True)


def _not_opened(opener: _Opener, keys: int) -> EnvelopeError:
    failures = opener.failures or []
    if len(failures) == 1:
        return failures[0]
    if not failures and opener.skipped:
        return size_mismatch(opener.skipped, opener.keys)
    return DecryptError(
        f"its key hint names a given key, but none of {keys} key(s) opens it: wrong key, "
        "wrong scope/namespace/name, or altered data"
    )
