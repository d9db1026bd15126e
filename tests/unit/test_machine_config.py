"""The unit tier never reads this machine's Kubernetes client configuration.

``tests/unit/conftest.py`` gives every test a home of its own (``HOME``, ``KUBECONFIG``, no
in-cluster variables) and an audit hook that refuses any open of the machine's files. These tests
show both halves work: each way a test could reach a machine's configuration is refused (against
a planted "machine" folder holding a real kubeconfig and a ServiceAccount token, so the loaders
get as far as opening them), the real machine's paths are the guarded ones, and the code's own
loaders, left to their defaults, look only in the test's home.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from sealer.api import SECRETS
from sealer.kube import KubeError
from sealer.kubeclient import connect
from tests.unit.conftest import GUARD, MachineConfigGuard, MachineConfigRead, Seal

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: machine-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@dataclass(frozen=True)
class Machine:
    kubeconfig: Path
    token: Path
    ca: Path


@pytest.fixture
def machine(tmp_path: Path, machine_config: MachineConfigGuard) -> Iterator[Machine]:
    """A folder laid out like a machine's configuration, guarded as the machine's is."""
    kube, mount = tmp_path / "machine" / ".kube", tmp_path / "machine" / "serviceaccount"
    kube.mkdir(parents=True)
    mount.mkdir()
    (kube / "config").write_text(KUBECONFIG)
    (mount / "token").write_text("machine-token")
    (mount / "ca.crt").write_text("")
    with machine_config.guarding(kube, mount):
        yield Machine(kube / "config", mount / "token", mount / "ca.crt")


def _open_directly(m: Machine) -> None:
    with open(m.kubeconfig):  # the builtin, as a test would call it
        pass


def _read_with_pathlib(m: Machine) -> None:
    m.kubeconfig.read_text()


def _our_loader(m: Machine) -> None:
    connect(kubeconfig=str(m.kubeconfig))


def _os_open(m: Machine) -> None:
    os.close(os.open(m.kubeconfig, os.O_RDONLY))


def _kubernetes_loader(m: Machine) -> None:
    # kubernetes fixes its default location when it is imported, from the environment of that
    # moment: a test that loads "the default" may be handed the machine's file.
    k8s: Any = kubernetes  # its config loaders are untyped
    k8s.config.load_kube_config(config_file=str(m.kubeconfig))


def _in_cluster_loader(m: Machine) -> None:
    k8s: Any = kubernetes  # its config loaders are untyped
    loader = k8s.config.incluster_config.InClusterConfigLoader(
        token_filename=str(m.token),
        cert_filename=str(m.ca),
        environ={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "1"},
    )
    loader.load_and_set(k8s.client.Configuration())


READS: list[tuple[str, Callable[[Machine], None], str]] = [
    ("open", _open_directly, "the plain builtin"),
    ("pathlib", _read_with_pathlib, "Path.read_text is io.open"),
    ("os-open", _os_open, "the low-level call"),
    ("kubernetes-loader", _kubernetes_loader, "the client library's own loader"),
    ("sealer-connect", _our_loader, "sealer.kubeclient.connect"),
    ("in-cluster", _in_cluster_loader, "in-cluster config reads the mounted token"),
]


@pytest.mark.parametrize(("read", "reason"), [r[1:] for r in READS], ids=[r[0] for r in READS])
def test_every_way_to_a_machines_configuration_is_refused(
    machine_config: MachineConfigGuard,
    machine: Machine,
    read: Callable[[Machine], None],
    reason: str,
) -> None:
    # A library may wrap the refusal in an error of its own; the guard's record counts.
    errors = (MachineConfigRead, KubeError, kubernetes.config.ConfigException)
    with machine_config.expect_refused() as refused, pytest.raises(errors):
        read(machine)
    assert refused, reason


def test_the_real_machines_paths_are_the_guarded_ones() -> None:
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    assert listed == [str(Path.home() / ".kube" / "config")], "this test's own, not the machine's"
    machine_home = Path(GUARD.folders[0]).parent
    assert machine_home != Path.home()
    assert GUARD.guards(str(machine_home / ".kube" / "config"))
    assert GUARD.guards("/var/run/secrets/kubernetes.io/serviceaccount/token")
    assert all(GUARD.guards(p) for p in GUARD.files), "whatever KUBECONFIG listed at start"


def test_the_environment_points_into_the_tests_own_home() -> None:
    home = Path(os.environ["HOME"])
    assert Path.home() == home and not GUARD.guards(str(home / ".kube" / "config"))
    assert Path(os.environ["KUBECONFIG"]) == home / ".kube" / "config"
    assert not (home / ".kube").exists(), "an empty home: nothing to read"
    assert "KUBERNETES_SERVICE_HOST" not in os.environ, "no in-cluster config either"


def test_left_to_their_defaults_the_loaders_read_the_tests_home(seal: Seal) -> None:
    with pytest.raises(KubeError, match="No configuration found"):
        connect()  # the test's home is empty
    home_config = Path(os.environ["KUBECONFIG"])
    home_config.parent.mkdir(parents=True)
    home_config.write_text(KUBECONFIG.replace("https://127.0.0.1:1", "http://127.0.0.9:9"))
    with pytest.raises(KubeError, match=r"127\.0\.0\.9:9"):
        connect().get(SECRETS, "default", "any")
    run = seal("cert")  # a subprocess, as a user's shell runs it
    assert run.code != 0 and run.stdout == b""
    assert "http://127.0.0.9:9" in run.stderr, run.stderr
