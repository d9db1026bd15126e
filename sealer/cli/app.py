"""The ``seal`` command group: thin click entry points over :mod:`sealer.sealing`.

Each command parses its options, calls the core and prints. Every :class:`SealopsError` becomes one
line ``Error: …`` on stderr and exit code 1 (usage mistakes exit 2, as click does), with nothing on
stdout: output is built fully in memory before anything is printed or written.

``seal [FILE|-]`` with no subcommand seals Secret manifests; :class:`_DefaultGroup` routes it.
Offline commands import neither ``kubernetes`` nor ``hvac`` nor ``kopf``, so they start fast.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from sealer.api import SEALED_SECRET
from sealer.bounded import Limit, read_bounded
from sealer.cli.io import fetch_url_final, is_plain_http, read_input, read_path, write_atomic
from sealer.envelope import Scope, label_for
from sealer.errors import InputError, KeyMaterialError, ManifestError, SealopsError
from sealer.keys import (
    KeyPair,
    Recipient,
    generate_keypair,
    load_private_keys,
    load_recipient,
    private_key_pem,
)
from sealer.manifests import (
    PlainSecret,
    SealedSecretDoc,
    check_data_keys,
    dump_documents,
    load_documents,
    object_ref,
    parse_sealed_secret,
    parse_secret,
    secret_manifest,
)
from sealer.online import ControllerTarget
from sealer.reader import read_json
from sealer.sealing import (
    merge_into,
    migrate_bitnami,
    reencrypt,
    seal_secret,
    seal_value,
    unseal,
    unseal_value,
    unsealed_secret,
)

F = TypeVar("F", bound=Callable[..., Any])

_DEFAULT_COMMAND = "secret"


class _DefaultGroup(click.Group):
    """A group that runs ``secret`` when the first argument is not a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (
            args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")
        ):
            args = [_DEFAULT_COMMAND, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SealopsError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from exc


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ---------------------------------------------------------------------------------------------
# Shared options


def _output_options(fn: F) -> F:
    fn = click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(["yaml", "json"]),
        default="yaml",
        show_default=True,
        help="Output format.",
    )(fn)
    return click.option(
        "-w",
        "--write",
        "write",
        metavar="FILE",
        help="Write to FILE atomically instead of stdout.",
    )(fn)


def controller_options(fn: F) -> F:
    """Where the controller is: a URL, or a Service reached through the API server's proxy."""
    options = [
        click.option(
            "--controller-url",
            metavar="URL",
            envvar="SEALOPS_CONTROLLER_URL",
            help="Reach the controller directly at URL instead of through the API server.",
        ),
        click.option("--kubeconfig", envvar="KUBECONFIG", metavar="FILE", help="kubeconfig file."),
        click.option("--context", help="kubeconfig context."),
        click.option(
            "--controller-namespace",
            default="sealops-system",
            show_default=True,
            envvar="SEALOPS_CONTROLLER_NAMESPACE",
            help="Namespace of the controller's Service.",
        ),
        click.option(
            "--controller-name",
            default="sealops-controller",
            show_default=True,
            envvar="SEALOPS_CONTROLLER_NAME",
            help="Name of the controller's Service.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def target_from(params: dict[str, Any]) -> ControllerTarget:
    kubeconfig = params.get("kubeconfig")
    if kubeconfig and os.pathsep in kubeconfig:
        kubeconfig = kubeconfig.split(os.pathsep)[0]  # KUBECONFIG may list several files
    return ControllerTarget(
        url=params.get("controller_url"),
        kubeconfig=kubeconfig,
        context=params.get("context"),
        namespace=params.get("controller_namespace") or "sealops-system",
        name=params.get("controller_name") or "sealops-controller",
    )


def _cert_options(fn: F) -> F:
    fn = click.option(
        "--cert",
        "certs",
        multiple=True,
        metavar="FILE|URL",
        help="Certificate or public key to seal for; repeat to seal for several clusters. "
        "Default: fetch it from the controller.",
    )(fn)
    return controller_options(fn)


def _scope_option(fn: F) -> F:
    return click.option(
        "--scope",
        type=click.Choice([s.value for s in Scope]),
        help="Where the values may be unsealed (default: the Secret's annotation, else strict).",
    )(fn)


def fetch_certificate(target: ControllerTarget) -> bytes:
    from sealer.online import request

    return request(target, "GET", "/v1/cert.pem", limit=Limit.CERTIFICATE)


def _warn_plain_http(url: str, recipient: Recipient) -> None:
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


def _load_recipients(certs: Sequence[str], params: dict[str, Any]) -> list[Recipient]:
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
    now = _now()
    for source, data, url in sources:
        recipient = load_recipient(data, source=source)
        recipient.check_valid(now)
        if any(r.fingerprint == recipient.fingerprint for r in recipients):
            raise KeyMaterialError("the same key is given twice", where=source)
        recipients.append(recipient)
        if url:
            _warn_plain_http(url, recipient)
    return recipients


def _load_keys(paths: Sequence[str]) -> list[KeyPair]:
    if not paths:
        raise click.UsageError("give --private-key FILE (repeat it for several keys)")
    keys: list[KeyPair] = []
    for path in paths:
        data = read_path(path, what="private key", limit=Limit.PRIVATE_KEY)
        keys += load_private_keys(data, source=path)
    return keys


def _read_sealed(
    file: str | None, *, allow_bitnami: bool = False, default_namespace: str | None = None
) -> tuple[list[SealedSecretDoc], str]:
    """Every SealedSecret in FILE or stdin, all parsed before any is used; none is an error."""
    data, source = read_input(file, what="SealedSecret manifest")
    parsed = [
        parse_sealed_secret(
            doc, source=source, allow_bitnami=allow_bitnami, default_namespace=default_namespace
        )
        for doc in load_documents(data, source=source)
    ]
    if not parsed:
        raise ManifestError("holds no SealedSecret", where=source)
    return parsed, source


def _stdin_stream() -> bytes:
    """The renderer's stdin (a stream or a KRM ResourceList), bounded like every other input."""
    return read_bounded(sys.stdin.buffer, Limit.MANIFEST, what="manifest stream", where="<stdin>")


def _emit(text: str | bytes, write: str | None) -> None:
    data = text.encode() if isinstance(text, str) else text
    if write:
        write_atomic(write, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


# ---------------------------------------------------------------------------------------------
# Commands


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sealops", prog_name="seal")
def cli() -> None:
    """Seal Kubernetes Secrets for Git, and manage sealed and referenced secrets.

    \b
    seal [FILE|-] --cert CERT.pem        Secret manifest(s) -> SealedSecret(s)
    seal create NAME --from-literal k=v  a SealedSecret without a plaintext file
    seal render PATH                     fill Vault placeholders (Argo CD, kustomize)
    seal raw / unseal / reencrypt / keygen / check / migrate

    Run `seal COMMAND --help` for each command.
    """


@cli.command(_DEFAULT_COMMAND, hidden=True)
@click.argument("file", required=False, metavar="[FILE|-]")
@_cert_options
@_scope_option
@click.option("-n", "--namespace", help="Namespace for Secrets that name none.")
@_output_options
@click.option(
    "--merge-into",
    "merge_into_path",
    metavar="FILE",
    help="Add or replace these values in the SealedSecret FILE (in place); keep the others.",
)
def seal_manifests(
    file: str | None,
    certs: tuple[str, ...],
    scope: str | None,
    namespace: str | None,
    output: str,
    write: str | None,
    merge_into_path: str | None,
    **target: Any,
) -> None:
    """Seal Secret manifest(s) from FILE or stdin into SealedSecret(s)."""
    data, source = read_input(file, what="Secret manifest")
    docs = load_documents(data, source=source)
    if not docs:
        raise ManifestError("holds no manifest", where=source)
    secrets = [parse_secret(doc, source=source, default_namespace=namespace) for doc in docs]
    recipients = _load_recipients(certs, target)
    chosen = Scope(scope) if scope else None
    if merge_into_path:
        if write:
            raise click.UsageError("--merge-into writes FILE in place; do not combine with -w")
        if len(secrets) != 1:
            raise ManifestError(f"--merge-into takes one Secret, got {len(secrets)}", where=source)
        path = merge_into_path
        existing_docs = load_documents(
            read_path(path, what="SealedSecret", limit=Limit.MANIFEST), source=path
        )
        if len(existing_docs) != 1:
            raise ManifestError("must hold exactly one SealedSecret", where=path)
        existing = parse_sealed_secret(existing_docs[0], source=path, allow_bitnami=False)
        merged = merge_into(existing, secrets[0], recipients, scope=chosen, source=path)
        write_atomic(path, dump_documents([merged], output).encode())
        return
    sealed = [seal_secret(s, recipients, scope=chosen) for s in secrets]
    _emit(dump_documents(sealed, output), write)


@cli.command("create")
@click.argument("name")
@click.option("-n", "--namespace", help="Namespace of the Secret (required for strict scope).")
@click.option("--type", "secret_type", default="Opaque", show_default=True, help="Secret type.")
@click.option("--from-literal", "literals", multiple=True, metavar="KEY=VALUE", help="A value.")
@click.option(
    "--from-file",
    "files",
    multiple=True,
    metavar="[KEY=]PATH",
    help="A value read from PATH (key defaults to the file name).",
)
@click.option(
    "--from-env-file", "env_files", multiple=True, metavar="PATH", help="KEY=VALUE lines."
)
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label.")
@_cert_options
@_scope_option
@_output_options
def create(
    name: str,
    namespace: str | None,
    secret_type: str,
    literals: tuple[str, ...],
    files: tuple[str, ...],
    env_files: tuple[str, ...],
    labels: tuple[str, ...],
    certs: tuple[str, ...],
    scope: str | None,
    output: str,
    write: str | None,
    **target: Any,
) -> None:
    """Seal values given on the command line or read from files: no plaintext manifest needed."""
    values: dict[str, bytes] = {}

    def put(key: str, value: bytes, origin: str) -> None:
        if not key:
            raise click.UsageError(f"{origin}: empty key")
        if key in values:
            raise click.UsageError(f"{origin}: key {key!r} given twice")
        check_data_keys([key], origin, "")
        values[key] = value

    for literal in literals:
        key, sep, value = literal.partition("=")
        if not sep:
            raise click.UsageError("--from-literal takes KEY=VALUE")
        put(key, value.encode(), "--from-literal")
    for spec in files:
        key, sep, path = spec.partition("=")
        if not sep:
            path, key = spec, spec.rstrip("/").rsplit("/", 1)[-1]
        put(key, read_path(path, what="value", limit=Limit.VALUE), "--from-file")
    for env_file in env_files:
        for number, line in enumerate(_env_lines(env_file), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise InputError(f"line {number}: expected KEY=VALUE", where=env_file)
            put(key.strip(), value.encode(), env_file)
    if not values:
        raise click.UsageError("give at least one --from-literal, --from-file or --from-env-file")
    label_map = {}
    for label in labels:
        key, sep, value = label.partition("=")
        if not sep:
            raise click.UsageError("--label takes KEY=VALUE")
        label_map[key] = value
    secret = PlainSecret(
        name=name, namespace=namespace, type=secret_type, labels=label_map, data=values
    )
    recipients = _load_recipients(certs, target)
    sealed = seal_secret(secret, recipients, scope=Scope(scope) if scope else None)
    _emit(dump_documents([sealed], output), write)


def _env_lines(path: str) -> list[str]:
    """The lines of an env file: UTF-8 text, or one error naming the line (never its bytes)."""
    data = read_path(path, what="env file", limit=Limit.ENV_FILE)
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"line {line}: not UTF-8 text", where=path) from None


@cli.command("raw")
@_cert_options
@_scope_option
@click.option("--namespace", "-n", help="Namespace (strict and namespace-wide scopes).")
@click.option("--name", help="Secret name (strict scope).")
@click.option("--from-file", "from_file", metavar="PATH", help="Read the value from PATH.")
def raw(
    certs: tuple[str, ...],
    scope: str | None,
    namespace: str | None,
    name: str | None,
    from_file: str | None,
    **target: Any,
) -> None:
    """Seal one value (stdin or --from-file) and print the bare blob for spec.encryptedData."""
    chosen = Scope(scope) if scope else Scope.STRICT
    label = label_for(chosen, namespace, name)
    if from_file:
        value = read_path(from_file, what="value", limit=Limit.VALUE)
    else:
        value = read_input(None, what="value", limit=Limit.VALUE)[0]
    recipients = _load_recipients(certs, target)
    _emit(seal_value(value, recipients, label), None)


@cli.command("unseal")
@click.argument("file", required=False, metavar="[FILE|-]")
@click.option(
    "--private-key",
    "private_keys",
    multiple=True,
    metavar="FILE",
    help="PEM key, tls Secret or List of them (a key backup); repeat for several.",
)
@click.option("--raw", "raw_mode", is_flag=True, help="Open one bare blob; print the bytes.")
@_scope_option
@click.option("--namespace", "-n", help="Namespace, with --raw (or for SealedSecrets without).")
@click.option("--name", help="Secret name, with --raw.")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
)
def unseal_cmd(
    file: str | None,
    private_keys: tuple[str, ...],
    raw_mode: bool,
    scope: str | None,
    namespace: str | None,
    name: str | None,
    output: str,
) -> None:
    """Recover Secrets from SealedSecrets with the private key(s). Writes to stdout only."""
    keys = _load_keys(private_keys)
    if raw_mode:
        blob, _ = read_input(file, what="sealed value")
        chosen = Scope(scope) if scope else Scope.STRICT
        label = label_for(chosen, namespace, name)
        plain, _, _ = unseal_value(blob.decode("ascii", "replace").strip(), keys, label)
        _emit(plain, None)
        return
    parsed, _ = _read_sealed(file, allow_bitnami=True, default_namespace=namespace)
    secrets = []
    for sealed in parsed:
        opened = unseal(sealed, keys)
        secrets.append(secret_manifest(unsealed_secret(sealed, opened.values)))
    _emit(dump_documents(secrets, output), None)


@cli.command("reencrypt")
@click.argument("file", required=False, metavar="[FILE|-]")
@click.option(
    "--private-key",
    "private_keys",
    multiple=True,
    metavar="FILE",
    help="The key(s) the values are sealed with now.",
)
@_cert_options
@_output_options
def reencrypt_cmd(
    file: str | None,
    private_keys: tuple[str, ...],
    certs: tuple[str, ...],
    output: str,
    write: str | None,
    **target: Any,
) -> None:
    """Re-seal SealedSecrets for the newest key, keeping name, namespace and scope.

    Online (default): the controller re-seals them (POST /v1/rotate, in batches of at most 100
    SealedSecrets and 512 private-key operations, waiting when rate-limited, up to 300 s in
    all); nothing leaves it in plaintext, and nothing is written unless every batch succeeded.
    Offline: --private-key OLD --cert NEW, on this machine.
    """
    parsed, _ = _read_sealed(file)
    if private_keys:
        keys = _load_keys(private_keys)
        recipients = _load_recipients(certs, target)
        docs = [reencrypt(sealed, keys, recipients) for sealed in parsed]
    else:
        if certs:
            raise click.UsageError("--cert is for offline re-encryption: add --private-key")
        from sealer.online import request, rotate

        where = target_from(target)

        def send(method: str, path: str, body: Any = None, *, limit: int) -> bytes:
            return request(where, method, path, body, limit=limit)

        # In batches the controller accepts, each waited for when rate-limited; all or nothing.
        docs = rotate(parsed, send)
    _emit(dump_documents(docs, output), write)


@cli.command("cert")
@controller_options
@click.option("-w", "--write", "write", metavar="FILE", help="Write to FILE instead of stdout.")
def cert_cmd(write: str | None, **target: Any) -> None:
    """Fetch the controller's current sealing certificate (public)."""
    where = target_from(target)
    pem = fetch_certificate(where)
    recipient = load_recipient(pem, source=where.describe())
    recipient.check_valid(_now())
    if where.url:
        _warn_plain_http(where.url, recipient)
    _emit(pem, write)


@cli.command("verify")
@click.argument("file", required=False, metavar="[FILE|-]")
@controller_options
def verify_cmd(file: str | None, **target: Any) -> None:
    """Check that the controller can unseal a SealedSecret (exit 0), else say why (exit 1)."""
    from sealer.online import request

    parsed, source = _read_sealed(file)
    for sealed in parsed:
        try:
            request(target_from(target), "POST", "/v1/verify", sealed.doc)
        except SealopsError as exc:
            raise InputError(
                f"cannot be unsealed: {exc}", where=f"{source}: {sealed.ref}"
            ) from None
        click.echo(f"{sealed.ref}: OK", err=True)


@cli.command("keys")
@controller_options
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def keys_cmd(output: str, **target: Any) -> None:
    """List the controller's keys and how many SealedSecrets each still serves."""
    import json

    from sealer.online import request

    answer = read_json(request(target_from(target), "GET", "/v1/keys"), source="/v1/keys")
    keys = answer.get("keys") or []
    if output == "json":
        _emit(json.dumps(answer, indent=2) + "\n", None)
        return
    rows = [("FINGERPRINT", "CREATED", "SEALING", "SEALEDSECRETS", "SECRET")]
    for key in keys:
        rows.append(
            (
                str(key.get("fingerprint")),
                str(key.get("created") or "-")[:19],
                "yes" if key.get("sealing") else "",
                str(key.get("sealedSecrets", 0)),
                "MISSING" if key.get("missing") else str(key.get("secret") or ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    _emit("\n".join(lines) + "\n", None)


@cli.command("keygen")
@click.option("--private-key", "key_path", required=True, metavar="FILE", help="Write the key.")
@click.option("--cert", "cert_path", required=True, metavar="FILE", help="Write the certificate.")
@click.option("--cn", default="sealed-secret", show_default=True, help="Certificate common name.")
@click.option("--key-size", type=click.IntRange(2048, 8192), default=4096, show_default=True)
@click.option("--validity-days", type=click.IntRange(1), default=3650, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def keygen(
    key_path: str, cert_path: str, cn: str, key_size: int, validity_days: int, force: bool
) -> None:
    """Generate a local key pair: PKCS#1 private key (mode 0600) and self-signed certificate."""
    from pathlib import Path

    for path in (key_path, cert_path):
        if Path(path).exists() and not force:
            raise InputError("exists; pass --force to overwrite", where=path)
    pair = generate_keypair(
        now=_now(),
        common_name=cn,
        key_size=key_size,
        validity=dt.timedelta(days=validity_days),
    )
    write_atomic(key_path, private_key_pem(pair.private_key), mode=0o600)
    write_atomic(cert_path, pair.certificate_pem())
    click.echo(f"{pair.fingerprint}", err=True)


@cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--allow-unparsable",
    "allow_unparsable",
    multiple=True,
    metavar="GLOB",
    help="YAML files matching GLOB that do not parse are checked as text only, not failed.",
)
def check(paths: tuple[str, ...], allow_unparsable: tuple[str, ...]) -> None:
    """Fail on plaintext Secrets, private keys or tokens in files (a pre-commit guard)."""
    from sealer.check import check_paths

    findings = check_paths(paths, allow_unparsable=allow_unparsable)
    for finding in findings:
        click.echo(str(finding))
    if findings:
        raise click.ClickException(
            f"{len(findings)} finding(s) in {len({f.path for f in findings})} file(s); "
            "seal secrets (seal FILE) or use Vault placeholders"
        )


@cli.command("migrate")
@click.argument("file", required=False, metavar="[FILE|-]")
@_output_options
def migrate(file: str | None, output: str, write: str | None) -> None:
    """Convert Bitnami SealedSecret(s) (bitnami.com/v1alpha1) to sealops, ciphertexts unchanged."""
    data, source = read_input(file, what="Bitnami SealedSecret manifest")
    docs = []
    for doc in load_documents(data, source=source):
        if doc.get("kind") != SEALED_SECRET:
            raise ManifestError("is not a SealedSecret", where=f"{source}: {object_ref(doc)}")
        docs.append(migrate_bitnami(parse_sealed_secret(doc, source=source)))
    if not docs:
        raise ManifestError("holds no SealedSecret", where=source)
    _emit(dump_documents(docs, output), write)


@cli.command("render")
@click.argument("target", required=False, metavar="[PATH|-]")
@click.option(
    "--mode",
    type=click.Choice(["inline", "reference"]),
    default="inline",
    show_default=True,
    envvar=["SEALOPS_MODE", "ARGOCD_ENV_SEALOPS_MODE"],
    help="inline: fill values in. reference: Secrets with placeholders become VaultSecrets.",
)
@click.option("--krm", is_flag=True, help="Read and write a KRM ResourceList (kustomize, kpt).")
@click.option(
    "--deny-plaintext",
    is_flag=True,
    envvar=["SEALOPS_DENY_PLAINTEXT", "ARGOCD_ENV_SEALOPS_DENY_PLAINTEXT"],
    help="Fail on Secrets that hold literal values instead of placeholders.",
)
@click.option(
    "--connection",
    metavar="NAME",
    envvar=["SEALOPS_CONNECTION", "ARGOCD_ENV_SEALOPS_CONNECTION"],
    help="--mode reference: the VaultConnection the VaultSecrets use.",
)
@click.option(
    "--connection-kind",
    type=click.Choice(["VaultConnection", "ClusterVaultConnection"]),
    default="VaultConnection",
    show_default=True,
    envvar=["SEALOPS_CONNECTION_KIND", "ARGOCD_ENV_SEALOPS_CONNECTION_KIND"],
)
@click.option(
    "--kustomize-plugin",
    "plugin_config",
    metavar="CONFIG",
    hidden=True,
    help="Run as kustomize's legacy exec plugin with this config file.",
)
def render_cmd(
    target: str | None,
    mode: str,
    krm: bool,
    deny_plaintext: bool,
    connection: str | None,
    connection_kind: str,
    plugin_config: str | None,
) -> None:
    """Fill Vault placeholders in manifests (a directory, kustomization, chart, FILE or -).

    Output is all or nothing: on any error stdout stays empty (--krm: the ResourceList comes
    back unchanged, the error in its results) and the exit code is non-zero.
    Vault settings: VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, SEALOPS_AUTH, and
    the same names with Argo CD's ARGOCD_ENV_ prefix (an allow-list: see the README).
    """
    from sealer.render.pipeline import load, make_options, plugin_options, render_krm, render_text

    options = make_options(
        mode=mode,
        deny_plaintext=deny_plaintext,
        connection=connection,
        connection_kind=connection_kind,
        environ=os.environ,
    )
    if krm:
        text, ok = render_krm(_stdin_stream(), options, environ=os.environ)
        _emit(text, None)
        if not ok:
            raise SystemExit(1)
        return
    if plugin_config is not None:
        options, files = plugin_options(plugin_config, options)
        if files:  # a generator renders its files; a transformer the stream on stdin
            documents = [doc for file in files for doc in load(file, None, os.environ)]
        else:
            documents = load("-", _stdin_stream(), os.environ)
    else:
        stdin = _stdin_stream() if target in (None, "-") else None
        documents = load(target, stdin, os.environ)
    _emit(render_text(documents, options, environ=os.environ), None)
