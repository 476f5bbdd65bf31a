"""The `socket.io` transformer against the official python-socketio 5 `AsyncClient` (asyncio, on
aiohttp), unmodified, on the raw socket.io-protocol contract (see test_socketio_raw_contract.py):
namespaces and the auth round trip, CONNECT_ERROR, binary events and acks both ways, and rooms,
with `transports=['polling']`, `['websocket']` and polling→upgrade.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import socketio

from sio_support import ARGS, TIMEOUT, TRANSPORTS, Recorder, async_wait_until, start_raw


def run(scenario: Callable[[list[socketio.AsyncClient]], Awaitable[None]]) -> None:
    """Runs ``scenario(made)`` on a fresh event loop, on a thread of its own, with an overall
    deadline; every client the scenario appended to ``made`` is disconnected at the end, pass or
    fail. The thread matters: the browser suite's session-wide Playwright (sync API) keeps an event
    loop marked as running on the main thread, and ``asyncio.run`` refuses to start beside it."""

    async def main() -> None:
        made: list[socketio.AsyncClient] = []
        try:
            await asyncio.wait_for(scenario(made), timeout=120)
        finally:
            for sio in made:
                try:
                    await asyncio.wait_for(sio.shutdown(), timeout=10)
                except Exception:  # noqa: BLE001 - a teardown of an already broken client
                    pass

    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sio-async") as pool:
        pool.submit(asyncio.run, main()).result(timeout=180)


def new_client(made: list[socketio.AsyncClient]) -> tuple[socketio.AsyncClient, Recorder]:
    sio = socketio.AsyncClient(reconnection=False)
    made.append(sio)
    return sio, Recorder(sio)


async def connect(sio: socketio.AsyncClient, url: str, transports: list[str] | None, **kwargs: Any) -> None:
    await sio.connect(url, transports=transports, wait_timeout=TIMEOUT, **kwargs)


async def settle(sio: socketio.AsyncClient, expected: str) -> None:
    await async_wait_until(lambda: sio.transport() == expected, f"transport {expected} (now {sio.transport()})")


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_async_namespaces_auth_and_binary_events_and_acks_both_ways(start_testserver, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)

    async def scenario(made: list[socketio.AsyncClient]) -> None:
        sio, seen = new_client(made)
        auth = {"token": "async", "list": [1, 2]}
        await connect(sio, server.http_url, transports, namespaces=["/", "/custom"], auth=auth)
        assert sio.get_sid("/") != sio.get_sid("/custom")
        for namespace in ("/", "/custom"):
            assert (await seen.async_wait_event("auth", namespace))[0] == (auth,)
            await sio.emit("message", ARGS, namespace=namespace)
            assert (await seen.async_wait_event("message-back", namespace))[0] == ARGS
            assert await sio.call("message-with-ack", ARGS, namespace=namespace, timeout=TIMEOUT) == ARGS
            await sio.emit("ask", (TIMEOUT * 1000, *ARGS), namespace=namespace)
            assert (await seen.async_wait_event("question", namespace))[0] == ARGS
            assert (await seen.async_wait_event("answer", namespace))[0] == ("got", *ARGS)
        await settle(sio, expected)
        assert await sio.call("message-with-ack", ("after", b"\x03"), namespace="/custom", timeout=TIMEOUT) == ("after", b"\x03")
        assert not seen.connect_errors and not seen.disconnects

    run(scenario)


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_async_connect_errors_for_a_refused_auth_and_an_unknown_namespace(start_testserver, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)

    async def scenario(made: list[socketio.AsyncClient]) -> None:
        refused, refused_seen = new_client(made)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect(refused, server.http_url, transports, auth={"token": "bad"})
        assert refused_seen.connect_errors == [("/", {"message": "Not authorized"})]
        unknown, unknown_seen = new_client(made)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await connect(unknown, server.http_url, transports, namespaces=["/elsewhere"])
        assert unknown_seen.connect_errors == [("/elsewhere", {"message": "Invalid namespace"})]
        # The server still takes a well-behaved client.
        good, good_seen = new_client(made)
        await connect(good, server.http_url, transports, namespaces=["/custom"])
        assert (await good_seen.async_wait_event("auth", "/custom"))[0] == ({},)

    run(scenario)


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_async_rooms_broadcast_excludes_the_sender(start_testserver, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)

    async def scenario(made: list[socketio.AsyncClient]) -> None:
        members = [new_client(made) for _ in range(3)]
        for sio, _ in members:
            await connect(sio, server.http_url, transports)
        (alice, alice_seen), (bob, bob_seen), (carol, carol_seen) = members
        for sio in (alice, bob):
            joined = await sio.call("join", "green", timeout=TIMEOUT)
            assert [room for room in joined if room != sio.get_sid("/")] == ["green"], joined
        await alice.emit("to-room", ("green", ARGS[1], ARGS[2]))
        assert (await bob_seen.async_wait_event("room-message"))[0] == (ARGS[1], ARGS[2])
        # asyncio runs the client's packet tasks in the order they were read: an event for the
        # sender or for carol would have been recorded before the answer to a later event.
        for sio, seen in ((alice, alice_seen), (carol, carol_seen)):
            await sio.emit("message", "marker")
            await seen.async_wait_event("message-back")
            assert "room-message" not in seen.names(), seen.events
        left = await bob.call("leave", "green", timeout=TIMEOUT)
        assert "green" not in left
        await carol.emit("emit-all", "to everyone")
        for _, seen in members:
            assert (await seen.async_wait_event("everyone"))[0] == ("to everyone",)
        await settle(alice, expected)

    run(scenario)
