"""What an app directory or an Argo CD Application can make `seal render` do, and what it cannot.

* Links: nothing outside the app directory is read, whatever the link (file, directory, chain,
  absolute, nested, to /proc, dangling, a loop) and whatever its name; no FIFO, socket or device
  is opened. Links inside the directory are followed, as kustomize follows them.
* Sizes: files and tools' output are read up to a bound.
* Flags: a directory named like a flag reaches kustomize and helm as a path.
* The Application's env: an allow-list, over every setting the renderer reads.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sealer.errors import InputError
from sealer.render import config as render_config
from sealer.render.config import check_application_env, vault_config
from sealer.render.engine import RenderOptions
from sealer.render.files import MAX_FILE_BYTES, read_bounded, run_tool, shown
from sealer.render.inputs import load_path
from sealer.render.krm import parse_resource_list
from sealer.render.pipeline import make_options, plugin_options
from sealer.vault import KubernetesAuth, TokenAuth
from sealer.vault.errors import VaultConfigError
from tests.unit.conftest import Seal, error_line

PLANT = "PLANTED-OUTSIDE-VALUE-7731"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
OUTSIDE = (
    f"apiVersion: v1\nkind: Secret\nmetadata: {{name: stolen}}\nstringData: {{token: {PLANT}}}\n"
)
KUBECONFIG = f"apiVersion: v1\nkind: Config\nusers: [{{name: admin, user: {{token: {PLANT}}}}}]\n"

# ---------------------------------------------------------------------------------------------
# Links and special files


@dataclass
class Tree:
    tmp: Path

    @property
    def app(self) -> Path:
        return self.tmp / "app"

    @property
    def outside(self) -> Path:
        return self.tmp / "outside"

    def file(self, rel: str, text: str) -> Path:
        path = self.app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def fifo(self, rel: str) -> Path:
        path = self.app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        return path

    def link(self, rel: str, target: str | Path) -> Path:
        path = self.app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
        return path


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    t = Tree(tmp_path)
    t.app.mkdir()
    (t.outside / ".kube").mkdir(parents=True)
    (t.outside / "secret.yaml").write_text(OUTSIDE)
    (t.outside / ".kube" / "config").write_text(KUBECONFIG)
    t.file("ok.yaml", CM % "ok")
    return t


def _unix_socket(path: Path) -> Path:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


@dataclass(frozen=True)
class LinkCase:
    id: str
    reason: str
    build: Callable[[Tree], object]
    where: str  # the entry the error must name, relative to the app directory
    says: str  # what the message must say


def _kustomization(t: Tree) -> Path:
    return t.file("kustomization.yaml", "resources: [ok.yaml]\n")


def _chart(t: Tree) -> Path:
    return t.file("Chart.yaml", "apiVersion: v2\nname: c\nversion: 0.1.0\n")


OUT = "outside"
REFUSED = [
    LinkCase(
        "file-link-to-parent",
        "the reported case: a link to ../outside/secret.yaml",
        lambda t: t.link("secret.yaml", "../outside/secret.yaml"),
        "secret.yaml",
        OUT,
    ),
    LinkCase(
        "link-to-kubeconfig",
        "a link to a kubeconfig, named like a manifest",
        lambda t: t.link("config.yaml", t.outside / ".kube" / "config"),
        "config.yaml",
        OUT,
    ),
    LinkCase(
        "absolute-link",
        "an absolute target outside",
        lambda t: t.link("abs.yaml", (t.outside / "secret.yaml").resolve()),
        "abs.yaml",
        OUT,
    ),
    LinkCase(
        "proc-self-environ",
        "the process's own environment (VAULT_TOKEN) as a manifest",
        lambda t: t.link("env.yaml", "/proc/self/environ"),
        "env.yaml",
        OUT,
    ),
    LinkCase(
        "device",
        "a link to a device (/dev/zero would never end)",
        lambda t: t.link("zero.yaml", "/dev/zero"),
        "zero.yaml",
        OUT,
    ),
    LinkCase(
        "directory-link",
        "a link to a directory outside, which os.walk would have skipped silently",
        lambda t: t.link("shared", "../outside"),
        "shared",
        OUT,
    ),
    LinkCase(
        "directory-link-not-a-manifest-name",
        "a directory link is refused whatever its name",
        lambda t: t.link("conf", "/etc"),
        "conf",
        OUT,
    ),
    LinkCase(
        "chain",
        "a chain of links that ends outside: resolved to its end",
        lambda t: (t.link("sub/b.yml", "../../outside/secret.yaml"), t.link("a.yaml", "sub/b.yml")),
        "a.yaml",
        OUT,
    ),
    LinkCase(
        "nested",
        "a link deep in a subdirectory",
        lambda t: t.link("a/b/c/s.json", "../../../../outside/secret.yaml"),
        "a/b/c/s.json",
        OUT,
    ),
    LinkCase(
        "relative-dotdot-back-in-then-out",
        "a target that climbs out through the app's own name",
        lambda t: t.link("sneaky.yaml", "../app/../outside/secret.yaml"),
        "sneaky.yaml",
        OUT,
    ),
    LinkCase(
        "link-to-parent-directory",
        "'..' itself: the directory holding the app and everything beside it",
        lambda t: t.link("up", ".."),
        "up",
        OUT,
    ),
    LinkCase(
        "dangling",
        "a link to nothing",
        lambda t: t.link("gone.yaml", "missing.yaml"),
        "gone.yaml",
        "dangling",
    ),
    LinkCase(
        "loop",
        "a link to itself",
        lambda t: t.link("loop.yaml", "loop.yaml"),
        "loop.yaml",
        "loop",
    ),
    LinkCase(
        "fifo",
        "a FIFO named like a manifest: opening it would block forever",
        lambda t: t.fifo("pipe.yaml"),
        "pipe.yaml",
        "FIFO",
    ),
    LinkCase(
        "link-to-fifo-inside",
        "a link inside the directory, to a FIFO inside it",
        lambda t: (t.fifo(".p"), t.link("p.yaml", ".p")),
        ".p",
        "FIFO",
    ),
    LinkCase(
        "socket",
        "a Unix socket",
        lambda t: _unix_socket(t.app / "s.yaml"),
        "s.yaml",
        "socket",
    ),
    LinkCase(
        "newline-in-name",
        "a name with a newline must not split the error line",
        lambda t: t.link("evil\nError: fine.yaml", "../outside/secret.yaml"),
        "evil\nError: fine.yaml",
        OUT,
    ),
    LinkCase(
        "terminal-escape-in-name",
        "an ANSI escape that would erase the line on a terminal",
        lambda t: t.link("\x1b[2K\rok2.yaml", "../outside/secret.yaml"),
        "\x1b[2K\rok2.yaml",
        OUT,
    ),
    LinkCase(
        "right-to-left-override",
        "U+202E makes 'lmay.x' look like 'x.yaml'",
        lambda t: t.link("\u202elmay.x.yaml", "../outside/secret.yaml"),
        "\u202elmay.x.yaml",
        OUT,
    ),
    LinkCase(
        "kustomization-resource-link",
        "in a kustomization: checked before kustomize runs",
        lambda t: (_kustomization(t), t.link("res.yaml", "../outside/secret.yaml")),
        "res.yaml",
        OUT,
    ),
    LinkCase(
        "kustomization-file-is-link",
        "the kustomization.yaml itself links out",
        lambda t: t.link("kustomization.yaml", "../outside/kustomization.yaml"),
        "kustomization.yaml",
        OUT,
    ),
    LinkCase(
        "kustomization-hidden-dir-link",
        "tools read dot directories too, so they are checked for them",
        lambda t: (_kustomization(t), t.link(".cfg/x", "../../outside")),
        ".cfg/x",
        OUT,
    ),
    LinkCase(
        "chart-template-link",
        "a chart's template (helm follows links in a chart)",
        lambda t: (_chart(t), t.link("templates/s.yaml", "../../outside/secret.yaml")),
        "templates/s.yaml",
        OUT,
    ),
    LinkCase(
        "chart-files-dir-link",
        "a chart's files/ directory (.Files.Get would read through it)",
        lambda t: (_chart(t), t.link("files", t.outside)),
        "files",
        OUT,
    ),
    LinkCase(
        "chart-yaml-is-link",
        "Chart.yaml itself links out",
        lambda t: t.link("Chart.yaml", "../outside/Chart.yaml"),
        "Chart.yaml",
        OUT,
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.id for c in REFUSED])
def test_links_out_and_special_files_are_refused(case: LinkCase, tree: Tree) -> None:
    (tree.outside / "kustomization.yaml").write_text("resources: [secret.yaml]\n")
    (tree.outside / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 0.1.0\n")
    case.build(tree)
    started = time.monotonic()
    with pytest.raises(InputError) as caught:
        load_path(str(tree.app), environ={})
    assert time.monotonic() - started < 10, "a FIFO or device must not be opened"
    message = str(caught.value)
    assert caught.value.where == shown(tree.app / case.where), (case.reason, caught.value.where)
    assert case.says in message, (case.reason, message)
    assert message.isprintable(), "one plain line, whatever the names"  # no \n, ESC, U+202E
    assert PLANT not in message


@pytest.mark.parametrize(
    "name,shown_as",
    [("evil\nname.yaml", "evil\\nname.yaml"), ("\u202elmay.yaml", "\\u202elmay.yaml")],
    ids=["newline", "right-to-left"],
)
def test_refusal_is_one_error_line_from_the_cli(
    seal: Seal, tree: Tree, name: str, shown_as: str
) -> None:
    tree.link(name, "../outside/secret.yaml")
    line = error_line(seal("render", "app"))
    assert line.startswith(f"Error: app/{shown_as}: is a symbolic link to a path outside"), line
    assert PLANT not in line


@dataclass(frozen=True)
class AllowedCase:
    id: str
    reason: str
    build: Callable[[Tree], object]
    names: list[str]  # the ConfigMaps rendered, in order


ALLOWED = [
    AllowedCase(
        "file-link-inside",
        "a link to a file inside the directory is read, as kustomize reads it",
        lambda t: (t.file("real/b.yaml", CM % "b"), t.link("a.yaml", "real/b.yaml")),
        ["b", "ok", "b"],
    ),
    AllowedCase(
        "absolute-link-inside",
        "an absolute target is fine when it resolves inside",
        lambda t: (t.file("real/b.yaml", CM % "b"), t.link("a.yaml", t.app / "real" / "b.yaml")),
        ["b", "ok", "b"],
    ),
    AllowedCase(
        "directory-link-inside",
        "a directory link inside is not entered: its files are read once, where they are",
        lambda t: (t.file("real/b.yaml", CM % "b"), t.link("alias", "real")),
        ["ok", "b"],
    ),
    AllowedCase(
        "link-to-the-directory-itself",
        "a link to '.' is inside, and not entered, so it cannot loop",
        lambda t: t.link("self", "."),
        ["ok"],
    ),
    AllowedCase(
        "link-out-in-hidden-dir-of-plain-dir",
        "a plain directory never reads dot directories, so a link there reads nothing",
        lambda t: t.link(".git/x.yaml", "../../outside/secret.yaml"),
        ["ok"],
    ),
    AllowedCase(
        "special-file-in-hidden-dir-of-plain-dir",
        "the same for a FIFO in a dot directory",
        lambda t: t.fifo(".cache/f.yaml"),
        ["ok"],
    ),
]


@pytest.mark.parametrize("case", ALLOWED, ids=[c.id for c in ALLOWED])
def test_links_inside_are_followed(case: AllowedCase, tree: Tree) -> None:
    case.build(tree)
    docs = load_path(str(tree.app), environ={})
    assert [d.obj["metadata"]["name"] for d in docs] == case.names, case.reason


def test_a_link_named_on_the_command_line_is_read(tree: Tree) -> None:
    # The user chose that path; only what the directory's author chose is bounded to it.
    link = tree.link("one.yaml", "../outside/secret.yaml")
    (doc,) = load_path(str(link), environ={})
    assert doc.obj["metadata"]["name"] == "stolen"


@pytest.mark.parametrize(
    "files,refused",
    [
        (["../outside/secret.yaml"], "../outside/secret.yaml"),
        (["/proc/self/environ"], "/proc/self/environ"),
        (["ok.yaml", "link.yaml"], "link.yaml"),
    ],
    ids=["parent", "proc", "link-out"],
)
def test_kustomize_plugin_files_stay_in_the_kustomization(
    tree: Tree, monkeypatch: pytest.MonkeyPatch, files: list[str], refused: str
) -> None:
    """kustomize runs the exec plugin in the kustomization's directory; `files:` stays in it."""
    tree.link("link.yaml", "../outside/secret.yaml")
    config = tree.file("renderer.yaml", yaml.safe_dump({"kind": "SecretRenderer", "files": files}))
    monkeypatch.chdir(tree.app)
    with pytest.raises(InputError) as caught:
        plugin_options(str(config), RenderOptions())
    assert f"files: {refused} is outside the kustomization's directory" in str(caught.value)


def test_kustomize_plugin_files_inside_are_kept(
    tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree.file("sub/x.yaml", CM % "x")
    config = tree.file("renderer.yaml", yaml.safe_dump({"files": ["ok.yaml", "sub/x.yaml"]}))
    monkeypatch.chdir(tree.app)
    _, files = plugin_options(str(config), RenderOptions())
    assert files == ["ok.yaml", "sub/x.yaml"]


# ---------------------------------------------------------------------------------------------
# Sizes


def test_a_file_over_the_bound_is_refused(tree: Tree) -> None:
    big = tree.app / "big.yaml"
    with big.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(InputError, match="larger than 16 MiB"):
        load_path(str(tree.app), environ={})
    with pytest.raises(InputError, match="larger than 16 MiB"):
        load_path(str(big), environ={})


@pytest.mark.parametrize(
    "limit,size,ok",
    [(100, 100, True), (100, 101, False), (0, 0, True), (0, 1, False)],
    ids=["at-limit", "one-over", "empty", "empty-limit"],
)
def test_read_bounded_edges(tmp_path: Path, limit: int, size: int, ok: bool) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * size)
    if ok:
        assert read_bounded(path, limit=limit) == b"x" * size
    else:
        with pytest.raises(InputError, match="larger than"):
            read_bounded(path, limit=limit)


def test_read_bounded_refuses_a_device_without_reading() -> None:
    with pytest.raises(InputError, match="a device, not a regular file"):
        read_bounded(Path("/dev/zero"))


@pytest.mark.parametrize(
    "command,limit,timeout,says",
    [
        (
            [sys.executable, "-c", "import sys\nwhile 1: sys.stdout.write('x'*65536)"],
            2**20,
            60,
            "printed more than 1 MiB",
        ),
        ([sys.executable, "-c", "import time; time.sleep(30)"], 2**20, 0.5, "TimeoutExpired"),
        (
            [sys.executable, "-c", "import sys; sys.stderr.write('a\\nlast line\\n'); sys.exit(3)"],
            2**20,
            60,
            "failed: last line",
        ),
    ],
    ids=["endless-output", "hangs", "fails"],
)
def test_tool_output_and_time_are_bounded(
    command: list[str], limit: int, timeout: float, says: str
) -> None:
    started = time.monotonic()
    with pytest.raises(InputError, match=says):
        run_tool(command, where="app", timeout=timeout, limit=limit)
    assert time.monotonic() - started < 20


# ---------------------------------------------------------------------------------------------
# Directories named like flags

FLAG_NAMES = [
    ("--dependency-update", "helm's flag that downloads charts"),
    ("-o", "a short flag that takes the next argument"),
    ("--post-renderer=/bin/sh", "helm's flag that runs a program"),
    ("-h", "help: would print usage, not manifests"),
    ("--load-restrictor=LoadRestrictionsNone", "kustomize's flag that lifts the root check"),
]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("name,reason", FLAG_NAMES, ids=[n for n, _ in FLAG_NAMES])
def test_kustomization_named_like_a_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, reason: str
) -> None:
    app = tmp_path / name  # "--post-renderer=/bin/sh" is a path three levels deep
    app.mkdir(parents=True)
    (app / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (app / "cm.yaml").write_text(CM % "flagdir")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(Path(shutil.which("kubectl") or "").parent))  # no kustomize
    (doc,) = load_path(name, environ={})  # relative, exactly as a user types it
    assert doc.obj["metadata"]["name"] == "flagdir", reason


FAKE_HELM = """#!{python}
import json, sys
print(json.dumps({{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": "argv"}},
                  "data": {{"argv": json.dumps(sys.argv[1:])}}}}))
"""


@pytest.mark.parametrize("name,reason", FLAG_NAMES, ids=[n for n, _ in FLAG_NAMES])
def test_chart_named_like_a_flag_reaches_helm_after_double_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, reason: str
) -> None:
    """helm is a cobra program: after `--` every argument is positional. helm is not installed
    here, so a stand-in records the argv it is given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helm = bin_dir / "helm"
    helm.write_text(FAKE_HELM.format(python=sys.executable))
    helm.chmod(helm.stat().st_mode | stat.S_IXUSR)
    chart = tmp_path / name
    chart.mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(bin_dir))
    env = {"ARGOCD_APP_NAME": "shop", "ARGOCD_APP_NAMESPACE": "team-a"}
    (doc,) = load_path(name, environ=env)
    argv = yaml.safe_load(doc.obj["data"]["argv"])
    assert argv == ["template", "--namespace", "team-a", "--", "shop", str(chart.resolve())]
    assert not any(a.startswith("-") for a in argv[argv.index("--") + 1 :]), reason


# ---------------------------------------------------------------------------------------------
# The Application's env: an allow-list over every setting the renderer reads

CLI = Path(__file__).parents[3] / "sealer" / "cli" / "app.py"


def settings_read() -> set[str]:
    """Every environment name the renderer reads: config.py's and the render command's flags."""
    names = {a for aliases in render_config._ALIASES.values() for a in aliases}
    names |= set(re.findall(r'"ARGOCD_ENV_(\w+)"', CLI.read_text()))
    return names


SIDECAR_TOKEN = {"VAULT_ADDR": "http://vault.sidecar:8200", "VAULT_TOKEN": "sidecar-token"}
SIDECAR_K8S = {
    "VAULT_ADDR": "http://vault.sidecar:8200",
    "SEALOPS_AUTH": "kubernetes",
    "SEALOPS_K8S_ROLE": "argocd",
}
APP_OWN = {"ARGOCD_ENV_VAULT_ADDR": "http://mine:8200", "ARGOCD_ENV_VAULT_TOKEN": "own-token"}


@dataclass(frozen=True)
class EnvCase:
    name: str
    value: str
    with_sidecar: bool  # allowed while the sidecar's credentials are used
    with_own: bool  # allowed when the Application brings its own token
    reason: str


V = "PLANTVALUE-9d1"  # a value that must never be quoted
ENV_TABLE = [
    EnvCase("VAULT_ADDR", "http://127.0.0.1:9", False, True, "the server the credentials go to"),
    EnvCase("VAULT_TOKEN", V, False, True, "a token: only as the Application's own identity"),
    EnvCase("VAULT_NAMESPACE", V, False, True, "where the sidecar's credentials log in"),
    EnvCase("VAULT_CACERT", "/proc/self/environ", False, False, "a path in the sidecar"),
    EnvCase("SEALOPS_AUTH", "approle", False, True, "the auth method"),
    EnvCase("AVP_AUTH_TYPE", "approle", False, True, "avp's name for it"),
    EnvCase("SEALOPS_ROLE_ID", V, False, True, "an AppRole credential"),
    EnvCase("AVP_ROLE_ID", V, False, True, "avp's name for it"),
    EnvCase("SEALOPS_SECRET_ID", V, False, True, "an AppRole credential"),
    EnvCase("AVP_SECRET_ID", V, False, True, "avp's name for it"),
    EnvCase("SEALOPS_AUTH_MOUNT", V, False, True, "the mount that receives the credentials"),
    EnvCase("AVP_MOUNT_PATH", V, False, True, "avp's name for it"),
    EnvCase("AVP_K8S_MOUNT_PATH", V, False, False, "a Kubernetes auth mount: sidecar's JWT"),
    EnvCase("SEALOPS_K8S_ROLE", V, False, False, "Kubernetes auth presents the sidecar's JWT"),
    EnvCase("AVP_K8S_ROLE", V, False, False, "avp's name for it"),
    EnvCase("SEALOPS_K8S_TOKEN_PATH", "/proc/self/environ", False, False, "the reported bypass"),
    EnvCase("AVP_K8S_TOKEN_PATH", "/proc/self/environ", False, False, "avp's name for it"),
    EnvCase("SEALOPS_KV_VERSION", "2", True, True, "how paths read: harmless"),
    EnvCase("AVP_KV_VERSION", "1", True, True, "avp's name for it"),
    EnvCase("SEALOPS_MODE", "reference", True, True, "tightening the mode"),
    EnvCase("SEALOPS_DENY_PLAINTEXT", "true", True, True, "tightening the plaintext check"),
    EnvCase("SEALOPS_CONNECTION", "vault", True, True, "written into the app's own VaultSecrets"),
    EnvCase("SEALOPS_CONNECTION_KIND", "ClusterVaultConnection", True, True, "the same"),
    EnvCase("AVP_TYPE", "vault", True, True, "avp compatibility: the only backend"),
    EnvCase("HTTPS_PROXY", "http://evil:3128", False, False, "not read by us: not on the list"),
    EnvCase("SEALOPS_SOMETHING_NEW", V, False, False, "unknown names are refused, not ignored"),
]


def test_the_table_covers_every_setting_the_renderer_reads() -> None:
    missing = settings_read() - {c.name for c in ENV_TABLE}
    assert not missing, f"add these to ENV_TABLE: {sorted(missing)}"


@pytest.mark.parametrize(
    "sidecar", [SIDECAR_TOKEN, SIDECAR_K8S], ids=["sidecar-token", "sidecar-kubernetes"]
)
@pytest.mark.parametrize("case", ENV_TABLE, ids=[c.name for c in ENV_TABLE])
def test_application_env_with_the_sidecars_credentials(
    case: EnvCase, sidecar: dict[str, str]
) -> None:
    env = {**sidecar, f"ARGOCD_ENV_{case.name}": case.value}
    if case.with_sidecar:
        check_application_env(env)
        make_options(
            mode="inline",
            deny_plaintext=False,
            connection=None,
            connection_kind="VaultConnection",
            environ=env,
        )
        return
    for call in (
        lambda: check_application_env(env),
        lambda: vault_config(env),
        lambda: make_options(
            mode="inline",
            deny_plaintext=False,
            connection=None,
            connection_kind="VaultConnection",
            environ=env,
        ),
    ):
        with pytest.raises(VaultConfigError) as caught:
            call()
        message = str(caught.value)
        assert f"ARGOCD_ENV_{case.name}" in message, case.reason
        assert V not in message and "sidecar-token" not in message
        assert "\n" not in message


@pytest.mark.parametrize("case", ENV_TABLE, ids=[c.name for c in ENV_TABLE])
def test_application_env_with_its_own_token(case: EnvCase) -> None:
    env = {**APP_OWN, f"ARGOCD_ENV_{case.name}": case.value}
    if case.name in ("VAULT_ADDR", "VAULT_TOKEN"):
        env[f"ARGOCD_ENV_{case.name}"] = APP_OWN[f"ARGOCD_ENV_{case.name}"]
    if case.name in ("SEALOPS_AUTH", "AVP_AUTH_TYPE"):
        env[f"ARGOCD_ENV_{case.name}"] = "token"
    if case.with_own:
        check_application_env(env)
        return
    with pytest.raises(VaultConfigError) as caught:
        check_application_env(env)
    assert f"ARGOCD_ENV_{case.name}" in str(caught.value), case.reason
    assert V not in str(caught.value) and "own-token" not in str(caught.value)


def test_own_identity_config_uses_only_the_applications_credentials() -> None:
    config = vault_config({**APP_OWN, "ARGOCD_ENV_VAULT_NAMESPACE": "team-a"})
    assert (config.address, config.auth, config.namespace) == (
        "http://mine:8200",
        TokenAuth("own-token"),
        "team-a",
    )


@pytest.mark.parametrize(
    "env,reason",
    [
        ({**SIDECAR_TOKEN, **APP_OWN}, "the sidecar's token wins, so the address is refused"),
        (
            {**SIDECAR_K8S, **APP_OWN},
            "the sidecar's auth method (kubernetes) wins over the Application's token",
        ),
        (
            {
                "VAULT_ADDR": "http://v",
                "SEALOPS_SECRET_ID": "sidecar-secret",
                "ARGOCD_ENV_SEALOPS_AUTH": "approle",
                "ARGOCD_ENV_SEALOPS_ROLE_ID": "mine",
            },
            "half an AppRole is the sidecar's secret_id under the Application's role_id",
        ),
        (
            {
                "ARGOCD_ENV_VAULT_ADDR": "http://evil",
                "ARGOCD_ENV_SEALOPS_AUTH": "kubernetes",
                "ARGOCD_ENV_SEALOPS_K8S_ROLE": "r",
            },
            "Kubernetes auth always presents the sidecar's ServiceAccount JWT",
        ),
    ],
    ids=["sidecar-token-wins", "sidecar-auth-wins", "half-approle", "app-kubernetes"],
)
def test_mixed_identities_are_the_sidecars(env: dict[str, str], reason: str) -> None:
    with pytest.raises(VaultConfigError, match="the Application may not set ARGOCD_ENV_"):
        check_application_env(env)


def test_the_default_jwt_stays_the_sidecars() -> None:
    config = vault_config(SIDECAR_K8S)
    assert config.auth == KubernetesAuth(
        "argocd", jwt_file=Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    )


@pytest.mark.parametrize(
    "sidecar,app,flag,want,reason",
    [
        ({}, {}, "inline", "inline", "nothing set: the flag"),
        ({}, {"SEALOPS_MODE": "reference"}, "inline", "reference", "the app tightens"),
        (
            {"SEALOPS_MODE": "inline"},
            {"SEALOPS_MODE": "reference"},
            "inline",
            "reference",
            "the app tightens the sidecar's inline",
        ),
        (
            {"SEALOPS_MODE": "reference"},
            {"SEALOPS_MODE": "reference"},
            "reference",
            "reference",
            "the same as the sidecar",
        ),
        (
            {"SEALOPS_MODE": "reference"},
            {"SEALOPS_MODE": "inline"},
            "reference",
            "refused",
            "loosening the sidecar's reference mode",
        ),
        ({}, {"SEALOPS_MODE": "Inline "}, "inline", "refused", "not a mode"),
    ],
    ids=["unset", "tighten", "tighten-sidecar", "same", "loosen", "bad-value"],
)
def test_mode_may_only_be_tightened(
    sidecar: dict[str, str], app: dict[str, str], flag: str, want: str, reason: str
) -> None:
    env = {**sidecar, **{f"ARGOCD_ENV_{k}": v for k, v in app.items()}}

    def options() -> RenderOptions:
        return make_options(
            mode=flag,
            deny_plaintext=False,
            connection=None,
            connection_kind="VaultConnection",
            environ=env,
        )

    if want == "refused":
        with pytest.raises(VaultConfigError, match="ARGOCD_ENV_SEALOPS_MODE"):
            options()
    else:
        assert options().mode == want, reason


@pytest.mark.parametrize(
    "sidecar,app,flag,want,reason",
    [
        (None, "true", False, True, "the app turns the check on"),
        ("false", "true", False, True, "over the sidecar's false"),
        ("true", "true", True, True, "the same"),
        ("true", "false", True, "refused", "turning off the sidecar's check"),
        ("true", "0", True, "refused", "any spelling of false"),
        (None, "false", False, False, "false over nothing changes nothing"),
        (None, "maybe", False, "refused", "not a boolean"),
    ],
    ids=["on", "on-over-off", "same", "off", "off-spelled-0", "off-unset", "bad"],
)
def test_deny_plaintext_may_only_be_tightened(
    sidecar: str | None, app: str, flag: bool, want: object, reason: str
) -> None:
    env = {"ARGOCD_ENV_SEALOPS_DENY_PLAINTEXT": app}
    if sidecar is not None:
        env["SEALOPS_DENY_PLAINTEXT"] = sidecar

    def options() -> RenderOptions:
        return make_options(
            mode="inline",
            deny_plaintext=flag,
            connection=None,
            connection_kind="VaultConnection",
            environ=env,
        )

    if want == "refused":
        with pytest.raises(VaultConfigError, match="ARGOCD_ENV_SEALOPS_DENY_PLAINTEXT"):
            options()
    else:
        assert options().deny_plaintext is want, reason


def test_empty_values_set_nothing() -> None:
    """Argo CD passes an empty plugin env entry as an empty variable: it changes nothing."""
    env = {**SIDECAR_TOKEN, "ARGOCD_ENV_VAULT_ADDR": "", "ARGOCD_ENV_SEALOPS_K8S_TOKEN_PATH": ""}
    assert vault_config(env).address == SIDECAR_TOKEN["VAULT_ADDR"]


def test_a_krm_item_path_with_a_newline_stays_on_one_line() -> None:
    data = yaml.safe_dump(
        {
            "kind": "ResourceList",
            "items": [
                {
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": "c",
                        "annotations": {"config.kubernetes.io/path": "a\nError: b.yaml"},
                    },
                }
            ],
        }
    ).encode()
    _, (doc,) = parse_resource_list(data)
    assert doc.source == "a\\nError: b.yaml"
