"""Fixtures of the interop suite: our server binaries as real peers on loopback.

The binaries come from ``PRIMUS_BIN`` (a directory), or are built with ``swift build``
(see primus_support.locate_binaries). Each test gets its own server process, started on a
free port, ready once it printed ``listening on http://127.0.0.1:PORT``, and stopped at
teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from primus_support import REPORTS_DIR, SUMMARY_LINES, Respawned, ServerProcess, locate_binaries, locate_example


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    try:
        return locate_binaries()
    except Exception as exc:  # one clear error instead of a wall of identical ones
        pytest.exit(f"cannot find or build the server binaries: {exc}", returncode=3)


@pytest.fixture(scope="session")
def log_dir() -> Path:
    path = REPORTS_DIR / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


StartServer = Callable[..., ServerProcess]


def _servers(log_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[Path, list[str]], ServerProcess]]:
    """``start(executable, args)`` → a running ServerProcess, stopped at teardown, with its
    stderr printed when the test failed."""
    started: list[ServerProcess] = []

    def start(executable: Path, args: list[str]) -> ServerProcess:
        server = ServerProcess(executable=executable, args=args, log_dir=log_dir)
        started.append(server)
        server.start()
        return server

    yield start
    failed = getattr(request.node, "rep_call", None)
    for server in started:
        server.stop()
        if failed is not None and failed.failed:
            stderr = server.stderr_text().strip()
            if stderr:
                print(f"--- stderr of {server.executable.name} (port {server.port}) ---\n{stderr[-4000:]}")


def _factory(bin_dir: Path, log_dir: Path, product: str, request: pytest.FixtureRequest) -> Iterator[StartServer]:
    executable = bin_dir / product
    servers = _servers(log_dir, request)
    start = next(servers)

    def start_product(*args: str) -> ServerProcess:
        if not executable.exists():
            pytest.fail(f"{executable} does not exist")
        return start(executable, list(args))

    yield start_product
    next(servers, None)  # teardown


@pytest.fixture
def start_testserver(
    bin_dir: Path, log_dir: Path, request: pytest.FixtureRequest
) -> Iterator[StartServer]:
    """Factory: ``start_testserver('--ping-interval', '300')`` → a running ServerProcess."""
    yield from _factory(bin_dir, log_dir, "primus-testserver", request)


@pytest.fixture
def start_demo(
    bin_dir: Path, log_dir: Path, request: pytest.FixtureRequest
) -> Iterator[StartServer]:
    yield from _factory(bin_dir, log_dir, "primus-demo", request)


@pytest.fixture
def start_example(log_dir: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: ``start_example('HummingbirdChat', '--transformer', 'engine.io')`` → a running
    ServerProcess of the example package ``Examples/<name>`` (see locate_example), started on a
    free port and ready once it printed ``listening on http://127.0.0.1:PORT``."""
    servers = _servers(log_dir, request)
    start = next(servers)

    def start_example_named(name: str, *args: str) -> ServerProcess:
        try:
            executable = locate_example(name)
        except Exception as exc:  # noqa: BLE001 - one clear failure, not a skip
            pytest.fail(f"cannot find or build the example {name}: {exc}")
        return start(executable, list(args))

    yield start_example_named
    next(servers, None)  # teardown


@pytest.fixture
def respawn() -> Iterator[Callable[[ServerProcess], Respawned]]:
    """``respawn(server)``: stops ``server`` and returns a starter for the same binary, flags and
    port (call ``.start()`` on it); stopped at teardown."""
    made: list[Respawned] = []

    def make(server: ServerProcess) -> Respawned:
        server.stop()
        again = Respawned(server.executable, list(server.args), server.port)
        made.append(again)
        return again

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def testserver(start_testserver: StartServer) -> ServerProcess:
    """A primus-testserver with default flags."""
    return start_testserver()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if SUMMARY_LINES:
        terminalreporter.section("interop summary")
        for line in SUMMARY_LINES:
            terminalreporter.write_line(line)
