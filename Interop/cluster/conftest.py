"""Fixtures of the cluster suite: redis-server, three nodes and HAProxy, started by
``Scripts/cluster/primus_cluster.py`` (the machinery behind ``Scripts/cluster/run-cluster``).

``start_cluster(*node_flags, redis=True)`` starts one for the test and stops it at teardown,
printing the tail of each process's log when the test failed. ``engineio_cluster`` is one
cluster shared by a module's tests that leave it as they found it (each test uses fresh clients).
The binaries come from the suite's ``bin_dir`` (``PRIMUS_BIN``, or ``swift build``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cluster_support import Cluster, ClusterError

StartCluster = Callable[..., Cluster]


def _print_logs(cluster: Cluster) -> None:
    for path in sorted(cluster.log_dir.glob(f"{cluster.nodes[0].log_path.name.rsplit('-', 1)[0]}-*.log")):
        text = path.read_text(errors="replace").strip()
        if text:
            print(f"--- {path.name} ---\n{text[-3000:]}")


def _start(bin_dir: Path, log_dir: Path, node_flags: tuple[str, ...], redis: bool,
           product: str = "primus-testserver") -> Cluster:
    cluster = Cluster(bin_dir, product=product, node_args=list(node_flags), redis=redis, log_dir=log_dir)
    try:
        return cluster.start()
    except ClusterError as exc:
        pytest.fail(f"the cluster did not start: {exc}", pytrace=False)


@pytest.fixture
def start_cluster(bin_dir: Path, log_dir: Path, request: pytest.FixtureRequest) -> Iterator[StartCluster]:
    """Factory: ``start_cluster('--transformer', 'engine.io', redis=True)`` → a started Cluster
    (``product='primus-demo'`` for demo nodes)."""
    started: list[Cluster] = []

    def start(*node_flags: str, redis: bool = True, product: str = "primus-testserver") -> Cluster:
        cluster = _start(bin_dir, log_dir, node_flags, redis, product)
        started.append(cluster)
        return cluster

    yield start
    report = getattr(request.node, "rep_call", None)
    for cluster in started:
        crashed = [n.name for n in cluster.nodes if n.proc is not None and n.proc.returncode not in (None, -9, -15, 0)]
        cluster.stop()
        if (report is not None and report.failed) or crashed:
            _print_logs(cluster)


@pytest.fixture(scope="module")
def engineio_cluster(bin_dir: Path, log_dir: Path) -> Iterator[Cluster]:
    """Three engine.io nodes with Redis behind HAProxy, shared by a module's tests."""
    cluster = _start(bin_dir, log_dir, ("--transformer", "engine.io"), True)
    yield cluster
    gone = cluster.exited()
    cluster.stop()
    if gone:
        _print_logs(cluster)
        pytest.fail(f"cluster processes died during the module: {gone}", pytrace=False)
