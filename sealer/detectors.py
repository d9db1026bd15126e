"""Text detectors for ``seal check``: decoding a file, and the token and key patterns.

Pure code over bytes and text. Token formats (AWS, GitHub, GitLab, Slack, Stripe, JWTs, private
keys, ...) come from Yelp's detect-secrets, whose maintained patterns do this better than our
own regexes; it is imported on first use only, so other ``seal`` commands never load it. Vault
and OpenBao tokens and PEM private keys are ours (detect-secrets has no Vault pattern, and its
key detector does not know ``ENCRYPTED PRIVATE KEY``).

Nothing here returns a matched value: a hit is a line number and the detector's type.
"""

from __future__ import annotations

import bisect
import codecs
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

__all__ = ["Decoded", "Hit", "decode", "find_tokens", "split_lines"]

# The line breaks YAML counts (PyYAML's reader), so a text hit and a YAML mark agree on a line.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: FF FE 00 00 starts with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SAMPLE = 4096

_PEM_PRIVATE = re.compile(
    r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
)
# Vault/OpenBao service, batch and recovery tokens (hvs./hvb./hvr.), and the legacy `s.` form
# (24 base62 characters). Word boundaries keep `kubernetes.io` and the like out.
_VAULT_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_.-])(?:hv[sbr]\.[A-Za-z0-9_-]{20,}|[sb]\.[A-Za-z0-9]{24})(?![A-Za-z0-9_-])"
)
_ARMOR = re.compile(r"-----BEGIN |^\s*PuTTY-User-Key-File-")
# A literal without which a plugin cannot match: npm's pattern (`//.+/:_authToken=`) backtracks
# quadratically on long lines with many `//` (base64), so it runs only where it can match.
_NEEDS = {"NpmDetector": "_authToken"}
# A match that is a reference rather than a value: a placeholder, a template, an env reference.
_REFERENCE = re.compile(r"<[^<>\n]*>|\{\{|\{%|^\$|\$\{|\$\(|^\{[A-Za-z_][\w.]*\}$")


@dataclass(frozen=True)
class Decoded:
    """A file's text. ``encoding`` is ``"bytes"`` when it is no known text encoding: the text
    is then the latin-1 reading of the bytes, so ASCII tokens are still found."""

    text: str
    encoding: str

    @property
    def is_text(self) -> bool:
        return self.encoding != "bytes"


@dataclass(frozen=True)
class Hit:
    line: int
    kind: str


def decode(content: bytes) -> Decoded:
    """By BOM (UTF-8, UTF-16, UTF-32, either byte order), then by the pattern of NUL bytes
    (UTF-16/32 without a BOM, as PowerShell and some editors write), then UTF-8, else bytes."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            try:
                return Decoded(content[len(bom) :].decode(encoding), encoding)
            except UnicodeDecodeError:
                continue
    guess = _wide_encoding(content)
    if guess is not None:
        try:
            return Decoded(content.decode(guess), guess)
        except UnicodeDecodeError:
            pass
    try:
        return Decoded(content.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        return Decoded(content.decode("latin-1"), "bytes")


def _wide_encoding(content: bytes) -> str | None:
    """UTF-32 or UTF-16 without a BOM, judged from where the NUL bytes are in the first 4 KiB:
    text that is mostly ASCII has a NUL in the same places of nearly every code unit."""
    if b"\0" not in content[:_SAMPLE]:
        return None
    for width, encoding, zeros in (
        (4, "utf-32-le", (1, 2, 3)),
        (4, "utf-32-be", (0, 1, 2)),
        (2, "utf-16-le", (1,)),
        (2, "utf-16-be", (0,)),
    ):
        size = min(len(content), _SAMPLE) // width * width
        if size < width or len(content) % width:
            continue
        others = [i for i in range(width) if i not in zeros]
        units = [content[i : i + width] for i in range(0, size, width)]
        pattern = sum(
            all(unit[z] == 0 for z in zeros) and any(unit[i] for i in others) for unit in units
        )
        if pattern >= 0.9 * len(units):
            return encoding
    return None


def split_lines(text: str) -> list[str]:
    return _LINE_BREAK.split(text)


def find_tokens(
    lines: Sequence[str], *, skip: Callable[[int], bool] = lambda _: False
) -> list[Hit]:
    """Every key or token in ``lines`` (line numbers from 1), except on lines ``skip`` names.

    Each pattern runs once over the whole text (none of them crosses a line break), and a
    match's offset gives its line: several times faster than line by line."""
    kept = ["" if skip(number) else line for number, line in enumerate(lines, start=1)]
    text = "\n".join(kept)
    starts = [0]
    for text_line in kept[:-1]:
        starts.append(starts[-1] + len(text_line) + 1)

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset)

    found: set[tuple[int, str]] = set()
    pem = {line_of(m.start()) for m in _PEM_PRIVATE.finditer(text)}
    found |= {(number, "PEM private key") for number in pem}
    found |= {
        (line_of(m.start()), "Vault token")
        for m in _VAULT_TOKEN.finditer(text)
        if not _fake(m.group())
    }
    for plugin in _plugins():
        name = type(plugin).__name__
        kind = f"{plugin.secret_type} (detect-secrets {name})"
        for offset, whole, secret in _matches(plugin, text, kept, starts):
            number = line_of(offset)
            if name == "PrivateKeyDetector" and (
                number in pem or not _ARMOR.search(kept[number - 1])
            ):
                continue  # the same header as ours, or prose naming a key type, not a key
            if (number, kind) not in found and _real(whole, secret):
                found.add((number, kind))
    return [Hit(number, kind) for number, kind in sorted(found)]


def _matches(
    plugin: Any, text: str, lines: Sequence[str], starts: Sequence[int]
) -> Iterator[tuple[int, str, str]]:
    """(offset, whole match, the part that is the secret) for each of the plugin's matches.

    The plugins' own ``analyze_string`` gives only capture groups (``ghp`` for a GitHub
    token) and no position, so their patterns are run here; a plugin that filters its matches
    itself (JWTs: the parts must decode) still judges each match with ``analyze_string``."""
    from detect_secrets.plugins.base import RegexBasedDetector

    filters = type(plugin).analyze_string is not RegexBasedDetector.analyze_string
    needed = _NEEDS.get(type(plugin).__name__)
    if needed is not None:
        if needed not in text:
            return
        chunks = [(starts[i], line) for i, line in enumerate(lines) if needed in line]
    else:
        chunks = [(0, text)]
    for pattern in plugin.denylist:
        for base, chunk in chunks:
            for match in pattern.finditer(chunk):
                whole = match.group(0)
                if filters and not any(True for _ in plugin.analyze_string(whole)):
                    continue
                groups = [g for g in match.groups() if g]
                yield base + match.start(), whole, "".join(groups) or whole


def _real(whole: str, found: str) -> bool:
    return bool(found) and not _REFERENCE.search(found) and not _fake(whole)


def _fake(token: str) -> bool:
    """Obviously not a real credential: AWS's documented examples (``AKIAIOSFODNN7EXAMPLE``)
    and fillers such as ``ghp_xxxx…``, whose last 16 characters use at most 3 different ones.
    A random token of 16 characters or more practically never does either."""
    return "EXAMPLE" in token or (len(token) >= 16 and len(set(token[-16:])) <= 3)


@cache
def _plugins() -> tuple[Any, ...]:
    """detect-secrets' detectors for token formats that have a fixed shape.

    Left out on purpose: the high-entropy detectors (sealed values, certificates, digests and
    checksums are high-entropy by nature, so they would flag every SealedSecret); the keyword
    detector (``password: x`` anywhere, placeholders included: the Kubernetes-aware Secret
    check judges values with their context instead); public IP addresses (not secrets);
    Artifactory (its password pattern, ``AP`` plus a hex digit and 8 letters, matches ordinary
    upper-case words); and the vendor keyword heuristics for Cloudant, IBM and SoftLayer.
    Verification (which calls the vendors' APIs) is never run: only ``analyze_string``.
    """
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector
    from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
    from detect_secrets.plugins.twilio import TwilioKeyDetector

    classes: Iterable[Any] = (
        AWSKeyDetector,
        AzureStorageKeyDetector,
        BasicAuthDetector,
        DiscordBotTokenDetector,
        GitHubTokenDetector,
        GitLabTokenDetector,
        JwtTokenDetector,
        MailchimpDetector,
        NpmDetector,
        OpenAIDetector,
        PrivateKeyDetector,
        PypiTokenDetector,
        SendGridDetector,
        SlackDetector,
        SquareOAuthDetector,
        StripeDetector,
        TelegramBotTokenDetector,
        TwilioKeyDetector,
    )
    return tuple(cls() for cls in classes)
