"""Issue 9, defects 4 (engine.io) and 9: Engine.IO sessions under abuse, and the small
deviations from the reference server.

- An upgrade with an unknown sid gets its 400 and the socket is closed.
- A POST body over ``maxPayload`` gets 413 and the session is closed (the reference does).
- A POST while another POST of the same session is unanswered is an overlap: 400, session closed.
- JSONP answers are ``text/javascript; charset=UTF-8``.
- ``Expect: 100-continue`` is answered with ``100 Continue`` (417 for other expectations, 413
  when the declared length is over the limit).
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from abuse_support import (
    NO_IDLE_TIMEOUTS,
    QUICK_LIMITS,
    AttackStats,
    Checks,
    Watch,
    attacking,
    connect,
    eio_handshake,
    eio_request,
    eio_target,
    engineio_echo_probe,
    error_shapes_test,
    parse_response,
    read_until_closed,
    ws_upgrade_request,
)
from primus_support import ServerProcess, engineio_sparks

ENGINE_IO = ("--transformer", "engine.io")


def new_session(port: int) -> tuple[http.client.HTTPConnection, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    status, sid, body = eio_handshake(conn)
    assert sid is not None, f"handshake failed: {status} {body[:200]!r}"
    return conn, sid


def poll_result(port: int, sid: str, timeout: float = 1.5) -> str:
    """What a poll on ``sid`` gets: "unknown session" (400 with code 1), another status, or
    "no answer" when the server holds the poll (the session is alive and has nothing to send)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        status, _, body = eio_request(conn, "GET", eio_target(sid))
    except (TimeoutError, OSError) as exc:
        return f"no answer within {timeout}s ({type(exc).__name__}): the session is still open"
    finally:
        conn.close()
    if status == 400:
        try:
            if json.loads(body).get("code") == 1:
                return "unknown session"
        except ValueError:
            pass
    return f"{status} {body[:120]!r}"


@pytest.mark.timeout(60)
def test_upgrade_with_an_unknown_sid_gets_400_and_the_socket_closes(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §4: an engine.io upgrade with an unknown sid got its 400 (``Connection: close``)
    and the socket stayed open."""
    server: ServerProcess = start_testserver(*ENGINE_IO, *NO_IDLE_TIMEOUTS)
    error_shapes_test(server, {
        "upgrade with an unknown sid": ws_upgrade_request("/primus/?EIO=4&transport=websocket&sid=nope"),
    }, {400}, "engine.io upgrade with an unknown sid", probe=engineio_echo_probe(server))


@pytest.mark.timeout(60)
def test_post_over_max_payload_gets_413_and_closes_the_session(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §9: a POST over ``maxPayload`` got 413 but the session went on. An attacker
    repeats it on fresh sessions meanwhile; none of those sessions may stay open."""
    server: ServerProcess = start_testserver(*ENGINE_IO, *QUICK_LIMITS, "--max-payload", "1000")
    checks = Checks("engine.io POST over maxPayload")
    oversize = b'4"' + b"x" * 1500 + b'"'
    stop = threading.Event()
    with Watch(server, engineio_echo_probe(server), stop=stop) as watch:
        conn, sid = new_session(server.port)
        status, _, body = eio_request(conn, "POST", eio_target(sid), oversize)
        conn.close()
        checks.expect(status == 413, f"expected 413 for a {len(oversize)}-byte POST (maxPayload 1000), got {status} {body[:100]!r}")
        after = poll_result(server.port, sid)
        checks.expect(after == "unknown session",
                      f"expected the session closed after its 413 (a poll gets 400 \"Session ID unknown\"); got {after}")

        sids: list[str] = []

        def oversize_posts(stop: threading.Event, stats: AttackStats) -> None:
            while not stop.is_set():
                try:
                    conn, sid = new_session(server.port)
                    status, _, _ = eio_request(conn, "POST", eio_target(sid), oversize)
                    conn.close()
                except (AssertionError, OSError, http.client.HTTPException) as exc:
                    stats.error(repr(exc))
                    stop.wait(0.1)
                    continue
                sids.append(sid)
                stats.count(f"POST answered {status}")
                stop.wait(0.05)

        with attacking(("oversize POSTs", oversize_posts), stop=stop) as (stats,):
            stop.wait(3.0)
        checks.note(stats.describe())
        open_sids = set(engineio_sparks(server)) & set(sids)
        checks.expect(not open_sids,
                      f"{len(open_sids)} of {len(sids)} sessions that were answered 413 are still open")
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_concurrent_posts_of_one_session_are_an_overlap_error(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §9: concurrent POSTs on one sid were not an overlap error. A first POST's head
    and part of its body arrive; a second complete POST on the same sid gets 400 and the
    session is closed (the reference: "data request overlap from client")."""
    server: ServerProcess = start_testserver(*ENGINE_IO, *NO_IDLE_TIMEOUTS)
    checks = Checks("engine.io overlapping POSTs")
    with Watch(server, engineio_echo_probe(server)) as watch:
        conn, sid = new_session(server.port)
        first_body = b'4"' + b"a" * 17 + b'"'
        first = connect(server.port)
        try:
            first.sendall(f"POST {eio_target(sid)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                          f"Content-Length: {len(first_body)}\r\n\r\n".encode() + first_body[:5])
            time.sleep(0.3)
            status, _, body = eio_request(conn, "POST", eio_target(sid), b'4"second"')
            checks.expect(status == 400,
                          f"expected 400 for a POST while another POST of the session is unanswered, got {status} {body[:100]!r}")
            first.sendall(first_body[5:])
            ending = read_until_closed(first, 1.0)
            response, _ = parse_response(ending.data)
            checks.note(f"the first POST, completed afterwards, got {response.describe() if response else ending.describe()}")
        finally:
            first.close()
            conn.close()
        after = poll_result(server.port, sid)
        checks.expect(after == "unknown session", f"expected the session closed after the overlap; a poll got {after}")
        time.sleep(max(0.0, 2.0 - watch.elapsed()))
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_jsonp_answers_are_javascript(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §9: JSONP answers carried ``text/plain`` instead of ``text/javascript``."""
    server: ServerProcess = start_testserver(*ENGINE_IO, "--allow-eio3")
    checks = Checks("engine.io JSONP content type")
    with Watch(server, engineio_echo_probe(server)) as watch:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        status, headers, body = eio_request(conn, "GET", "/primus/?EIO=3&transport=polling&j=0")
        conn.close()
        checks.expect(status == 200 and body.startswith(b"___eio[0]("),
                      f"expected a JSONP handshake, got {status} {body[:100]!r}")
        ctype = headers.get("content-type", "")
        checks.expect(ctype.lower().replace(" ", "") == "text/javascript;charset=utf-8",
                      f"expected Content-Type text/javascript; charset=UTF-8 on a JSONP answer, got {ctype!r}")
        time.sleep(max(0.0, 2.0 - watch.elapsed()))
    watch.check(checks)
    checks.verify()


def expect_request(port: int, target: str, expect: str, length: int) -> tuple[bytes, object]:
    """Sends a POST head with ``Expect`` and no body; returns what came back within 1 s and
    the socket (the caller sends the body or closes it)."""
    sock = connect(port)
    sock.sendall(f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                 f"Content-Length: {length}\r\nExpect: {expect}\r\n\r\n".encode())
    got = b""
    deadline = time.monotonic() + 1.0
    while b"\r\n\r\n" not in got and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(4096)
        except (TimeoutError, OSError):
            break
        if not chunk:
            break
        got += chunk
    return got, sock


@pytest.mark.timeout(60)
def test_expect_100_continue_is_answered(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §9: ``Expect: 100-continue`` was never answered (curl stalls a second, which with
    short heartbeats ends the session). Also 417 for another expectation and 413 when the
    declared length is over the limit, each followed by the close."""
    server: ServerProcess = start_testserver(*ENGINE_IO, *NO_IDLE_TIMEOUTS, "--max-payload", "1000")
    checks = Checks("Expect: 100-continue")
    with Watch(server, engineio_echo_probe(server)) as watch:
        conn, sid = new_session(server.port)
        conn.close()
        body = b'4"continued"'
        got, sock = expect_request(server.port, eio_target(sid), "100-continue", len(body))
        try:
            checks.expect(got.startswith(b"HTTP/1.1 100 "),
                          f"expected \"HTTP/1.1 100 Continue\" within 1 s of a head with Expect: 100-continue, got {got[:100]!r}")
            sock.sendall(body)
            ending = read_until_closed(sock, 1.0)
            responses = ending.responses()
            final = [r for r in responses if r.status != 100]
            checks.expect(bool(final) and final[0].status == 200,
                          f"expected 200 for the POST once its body came, got {[r.describe() for r in responses] or ending.describe()}")
        finally:
            sock.close()

        got, sock = expect_request(server.port, eio_target(sid), "something-else", 5)
        try:
            ending = read_until_closed(sock, 1.5)
            response, _ = parse_response(got + ending.data)
            checks.expect(response is not None and response.status == 417,
                          f"expected 417 for Expect: something-else, got {response.describe() if response else ending.describe()}")
            checks.expect(ending.how in ("eof", "reset"), f"expected the socket closed after the 417, it was {ending.describe()}")
        finally:
            sock.close()

        got, sock = expect_request(server.port, eio_target(sid), "100-continue", 2 << 20)
        try:
            ending = read_until_closed(sock, 1.5)
            response, _ = parse_response(got + ending.data)
            checks.expect(response is not None and response.status == 413,
                          f"expected 413 (without 100 Continue) for Expect: 100-continue with Content-Length 2 MiB, "
                          f"got {response.describe() if response else ending.describe()}")
            checks.expect(ending.how in ("eof", "reset"), f"expected the socket closed after the 413, it was {ending.describe()}")
        finally:
            sock.close()
        time.sleep(max(0.0, 2.0 - watch.elapsed()))
    watch.check(checks)
    checks.verify()
