"""WebSocket permessage-deflate (RFC 7692): `primus-testserver --compression`.

Checked with the `websockets` client (its own zlib-based permessage-deflate) and with the Autobahn compression cases (12.* and 13.*) through kosoku.

The full 12.* and 13.* sets (216 cases, 1000 messages each, up to 128 KiB) take far longer than
CI allows on two cores, so CI runs a representative subset (AUTOBAHN_INCLUDES): every data set of
12.* and every offer/accept combination of 13.*, each with a small, a medium and a fragmented
message size. Set PRIMUS_AUTOBAHN_COMPRESSION=full to run all of them. Reports land in
Interop/reports/autobahn-compression/ (gitignored).
"""

from __future__ import annotations

import json
import os
import random
import string

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect

from primus_support import REPORTS_DIR, SUMMARY_LINES, ServerProcess, run_kosoku

# Case numbers within each 12.x / 13.x group (see kosoku's case12_x_x.py, MSG_SIZES): 1 is 16
# bytes, 4 is 1 KiB, 6 is 8 KiB, 11 is 8 KiB auto-fragmented into 256-byte frames.
SUBSET_SIZES = ["1", "4", "6", "11"]
AUTOBAHN_INCLUDES = [f"{group}.{n}" for group in
                     [f"12.{j}" for j in range(1, 6)] + [f"13.{j}" for j in range(1, 8)]
                     for n in SUBSET_SIZES]
AUTOBAHN_TIMEOUT = 1800  # seconds; the subset takes well under a minute, the full set ~15


def _deflate(**options: object) -> list[ClientPerMessageDeflateFactory]:
    return [ClientPerMessageDeflateFactory(**options)]  # type: ignore[arg-type]


def test_raw_echo_negotiates_and_round_trips(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--compression", "--pathname", "/")
    text = "compress me, " * 500 + "€"
    with connect(server.ws_url("/"), extensions=_deflate(), compression=None, open_timeout=5) as ws:
        assert ws.response.headers["Sec-WebSocket-Extensions"] == "permessage-deflate"
        for _ in range(3):  # context takeover on both sides
            ws.send(text)
            assert ws.recv(timeout=5) == text
        ws.send(bytes(range(256)) * 10)
        assert ws.recv(timeout=5) == bytes(range(256)) * 10


@pytest.mark.parametrize(
    ("options", "answer"),
    [
        ({"server_no_context_takeover": True},
         "permessage-deflate; server_no_context_takeover"),
        ({"client_no_context_takeover": True, "client_max_window_bits": 10},
         "permessage-deflate; client_no_context_takeover; client_max_window_bits=10"),
        # zlib cannot deflate with a 256-byte window: the server answers 8 anyway and sends
        # Huffman-only blocks (which zlib's inflate cannot tell apart: it does not check
        # distances against the window, so this checks interop, the unit tests the rule).
        ({"server_max_window_bits": 8}, "permessage-deflate; server_max_window_bits=8"),
        ({"server_max_window_bits": 9, "server_no_context_takeover": True},
         "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"),
    ],
)
def test_raw_echo_honours_the_offered_parameters(start_testserver, options, answer) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--compression", "--pathname", "/")
    with connect(server.ws_url("/"), extensions=_deflate(**options), compression=None, open_timeout=5) as ws:
        assert ws.response.headers["Sec-WebSocket-Extensions"] == answer
        for i in range(5):
            # Repeats 300 characters apart, past a 256-byte window.
            block = "".join(random.Random(i).choice(string.ascii_letters) for _ in range(300))
            text = f"message {i}: " + block * 10
            ws.send(text)
            assert ws.recv(timeout=5) == text


def test_without_the_flag_offers_are_ignored(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--pathname", "/")
    with connect(server.ws_url("/"), open_timeout=5) as ws:  # websockets offers deflate by default
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        ws.send("plain")
        assert ws.recv(timeout=5) == "plain"


def test_primus_layer_compresses_json_messages(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--compression", "--ping-interval", "0")
    with connect(server.ws_url("/primus?foo=bar"), open_timeout=5) as ws:
        assert ws.response.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
        value = {"greeting": "hello " * 200, "n": [1, 2, 3]}
        ws.send(json.dumps(value))
        assert json.loads(ws.recv(timeout=5)) == value


def test_inflated_size_over_max_length_closes_with_1009(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver(
        "--raw", "--compression", "--pathname", "/", "--max-length", "100000"
    )
    with connect(server.ws_url("/"), extensions=_deflate(), compression=None, open_timeout=5,
                 max_size=None) as ws:
        ws.send("a" * 5_000_000)  # a few KiB on the wire
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert server.alive()


@pytest.mark.timeout(AUTOBAHN_TIMEOUT + 60)
def test_autobahn_compression_cases(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--compression", "--pathname", "/")
    outdir = REPORTS_DIR / "autobahn-compression"
    full = os.environ.get("PRIMUS_AUTOBAHN_COMPRESSION") == "full"
    run = run_kosoku(server.port, outdir, include=["12.*", "13.*"] if full else AUTOBAHN_INCLUDES,
                     timeout=AUTOBAHN_TIMEOUT)
    # UNIMPLEMENTED would mean the server declined the offer: count it as a failure here.
    failed = run.with_behavior("FAILED", "ERROR", "UNIMPLEMENTED")
    SUMMARY_LINES.append(
        run.summary(f"Autobahn permessage-deflate ({'12.* 13.*' if full else 'subset of 12.* 13.*'})", outdir)
    )

    assert len(run.cases) == (216 if full else len(AUTOBAHN_INCLUDES)), sorted(run.cases)
    assert not failed, f"Autobahn cases FAILED or not compressed: {failed}\n{run.output[-4000:]}"
    assert run.returncode == 0, f"kosoku exited {run.returncode}:\n{run.output[-4000:]}"
    assert server.alive(), "the server died during the Autobahn run"
