"""The key material commands are given: certificates to seal for, private keys to open with.

Certificates come from files, URLs or the controller (:func:`load_recipients`), are checked for
validity and duplicates, and one fetched over plain http from another machine earns a warning
with its fingerprint. Private keys come from files (:func:`load_keys`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import click

from sealer.bounded import Limit
from sealer.cli.io import fetch_url_final, is_plain_http, read_path
from sealer.cli.options import target_from
from sealer.errors import InputError, KeyMaterialError, SealopsError
from sealer.keys import KeyPair, Recipient, load_private_keys, load_recipient
from sealer.online import ControllerTarget

__all__ = ["fetch_certificate", "load_keys", "load_recipients", "utc_now", "warn_plain_http"]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fetch_certificate(target: ControllerTarget) -> bytes:
    from sealer.online import request

    return request(target, "GET", "/v1/cert.pem", limit=Limit.CERTIFICATE)


def warn_plain_http(url: str, recipient: Recipient) -> None:
    """One stderr line when a certificate came over plain http from another machine.

    Whoever sits on the path could have swapped in their own certificate and so read every value
    sealed for it. The run goes on (the URL was the user's explicit choice, as with curl); the
    fingerprint lets the user compare with ``seal keys`` or another channel.
    """
    if is_plain_http(url):
        click.echo(
            f"Warning: {url}: certificate fetched over plain http, not protected in transit; "
            f"check its fingerprint {recipient.fingerprint} or use https:// or a file",
            err=True,
        )


def load_recipients(certs: Sequence[str], params: dict[str, Any]) -> list[Recipient]:
    sources: list[tuple[str, bytes, str | None]] = []  # (source, bytes, URL it came from)
    for cert in certs:
        if cert.startswith(("http://", "https://")):
            data, final = fetch_url_final(cert, limit=Limit.CERTIFICATE)
            sources.append((cert, data, final))
        else:
            sources.append(
                (cert, read_path(cert, what="certificate", limit=Limit.CERTIFICATE), None)
            )
    if not sources:
        target = target_from(params)
        try:
            sources.append((target.describe(), fetch_certificate(target), target.url))
        except SealopsError as exc:
            raise InputError(
                f"no certificate: {exc} (give --cert FILE|URL, or reach the controller)"
            ) from None
    recipients: list[Recipient] = []
    now = utc_now()
    for source, data, url in sources:
        recipient = load_recipient(data, source=source)
        recipient.check_valid(now)
        if any(r.fingerprint == recipient.fingerprint for r in recipients):
            raise KeyMaterialError("the same key is given twice", where=source)
        recipients.append(recipient)
        if url:
            warn_plain_http(url, recipient)
    return recipients


def load_keys(paths: Sequence[str]) -> list[KeyPair]:
    if not paths:
        raise click.UsageError("give --private-key FILE (repeat it for several keys)")
    keys: list[KeyPair] = []
    for path in paths:
        data = read_path(path, what="private key", limit=Limit.PRIVATE_KEY)
        keys += load_private_keys(data, source=path)
    return keys
