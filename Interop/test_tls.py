"""TLS end to end: ``primus-testserver --tls-cert FILE --tls-key FILE`` with a throwaway
certificate made by ``openssl``, against python websocket-client over ``wss://`` and
python-engineio over ``https://`` (polling, then the upgrade to ``wss://``). Sparks report
``address.secure``; plain HTTP to the TLS port is turned away without harming the server.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import requests
import websocket  # websocket-client

from primus_support import ServerProcess

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if OPENSSL is None:
        pytest.fail("openssl is needed for the TLS tests (.ci/run installs it)", pytrace=False)
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def start_tls(start_testserver, certificate: tuple[Path, Path], *flags: str) -> ServerProcess:  # noqa: ANN001
    cert, key = certificate
    return start_testserver("--tls-cert", str(cert), "--tls-key", str(key), *flags)


def info_over_wss(server: ServerProcess, cert: Path) -> dict:
    ws = websocket.create_connection(
        f"wss://localhost:{server.port}/primus?tls=yes", timeout=5, sslopt={"ca_certs": str(cert)}
    )
    try:
        ws.send(json.dumps({"testserver": "info"}))
        while True:
            message = json.loads(ws.recv())
            if isinstance(message, dict):
                return message
            # "primus::ping::…" heartbeats are strings: not the answer.
    finally:
        ws.close()


def test_websocket_client_over_wss_and_the_spark_is_secure(start_testserver, certificate) -> None:  # noqa: ANN001
    server = start_tls(start_testserver, certificate)
    info = info_over_wss(server, certificate[0])
    assert info["query"]["tls"] == "yes"
    assert info["address"]["secure"] is True


def test_https_serves_the_spec_and_refuses_an_untrusting_client(start_testserver, certificate) -> None:  # noqa: ANN001
    server = start_tls(start_testserver, certificate)
    spec = requests.get(f"https://localhost:{server.port}/primus/spec", verify=str(certificate[0]), timeout=5)
    assert spec.status_code == 200 and spec.json()["transformer"] == "websockets"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://localhost:{server.port}/primus/spec", timeout=5)  # system roots only


def test_plain_http_and_failed_handshakes_leave_the_server_serving(start_testserver, certificate) -> None:  # noqa: ANN001
    server = start_tls(start_testserver, certificate)
    # Plain HTTP to the TLS port: no clear-text answer, the connection is closed.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as plain:
        plain.sendall(b"GET /primus/spec HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while chunk := plain.recv(4096):
            received += chunk
        assert b"HTTP/1.1 200" not in received
    # A client that aborts the handshake (it does not trust the certificate), many times over.
    context = ssl.create_default_context()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            with pytest.raises(ssl.SSLError):
                context.wrap_socket(raw, server_hostname="localhost")
    assert server.proc is not None and server.proc.poll() is None
    assert info_over_wss(server, certificate[0])["address"]["secure"] is True


def test_tls_flags_go_together(start_testserver, certificate) -> None:  # noqa: ANN001
    with pytest.raises(AssertionError, match="--tls-cert and --tls-key go together"):
        start_testserver("--tls-cert", str(certificate[0]))


@pytest.mark.parametrize("transports", [["polling"], None], ids=["polling", "polling-then-websocket"])
def test_python_engineio_over_https(start_testserver, certificate, transports: list[str] | None) -> None:  # noqa: ANN001
    engineio = pytest.importorskip("engineio", reason="pip install -r Interop/requirements-engineio.txt")
    server = start_tls(start_testserver, certificate, "--transformer", "engine.io")
    session = requests.Session()
    session.verify = str(certificate[0])
    session.trust_env = False  # else REQUESTS_CA_BUNDLE wins over session.verify
    client = engineio.Client(http_session=session)
    answers: list[dict] = []
    answered = threading.Event()

    def on_message(value: object) -> None:
        # python-engineio hands over JSON text already decoded.
        if isinstance(value, str) and value.startswith("primus::ping::"):
            client.send(json.dumps("primus::pong::" + value.split("::")[2]))
        elif isinstance(value, dict):
            answers.append(value)
            answered.set()

    client.on("message", on_message)
    kwargs = {"engineio_path": "/primus"}
    if transports:
        kwargs["transports"] = transports
    client.connect(f"https://localhost:{server.port}/?tls=eio", **kwargs)
    try:
        if transports is None:
            # The upgrade to wss:// happens once the probe is answered.
            for _ in range(100):
                if client.transport() == "websocket":
                    break
                threading.Event().wait(0.05)
            assert client.transport() == "websocket"
        client.send(json.dumps({"testserver": "info"}))
        assert answered.wait(10), "no answer over TLS"
    finally:
        client.disconnect()
    assert answers[0]["query"]["tls"] == "eio"
    assert answers[0]["address"]["secure"] is True
