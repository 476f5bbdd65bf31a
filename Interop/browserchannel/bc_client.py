"""A BrowserChannel (VER=8) client written from the protocol description, for the interop tests.

No packaged BrowserChannel client exists for Python, so this one speaks the wire by hand with
``requests``: the test phase, session creation, the forward channel (form-encoded maps or the
JSON body variant), the back channel (streamed, with chunks whose length counts UTF-16 units),
acknowledgements by ``AID`` and terminate. Every wait is bounded.
"""

from __future__ import annotations

import codecs
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

TIMEOUT = 10.0


def utf16_length(text: str) -> int:
    """JavaScript's ``String.length``: astral characters count twice."""
    return len(text.encode("utf-16-le")) // 2


class ChunkReader:
    """Splits a back channel's body into ``<length>\\n<json>\\n`` chunks (length in UTF-16 units)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._text = ""
        self._expected: int | None = None

    def feed(self, data: bytes) -> list[Any]:
        self._text += self._decoder.decode(data)
        chunks: list[Any] = []
        while True:
            if self._expected is None:
                newline = self._text.find("\n")
                if newline < 0:
                    assert len(self._text) < 12, f"no length line in {self._text[:40]!r}"
                    return chunks
                digits = self._text[:newline]
                assert digits.isdigit(), f"bad chunk length {digits!r}"
                self._expected = int(digits)
                self._text = self._text[newline + 1 :]
            # Take characters until they make the announced number of UTF-16 units.
            units = 0
            end = 0
            while units < self._expected and end < len(self._text):
                units += 2 if ord(self._text[end]) > 0xFFFF else 1
                end += 1
            if units < self._expected:
                return chunks
            assert units == self._expected, "a chunk length split a surrogate pair"
            body = self._text[:end]
            assert body.endswith("\n"), f"chunk does not end where its length says: {body[-20:]!r}"
            chunks.append(json.loads(body))
            self._text = self._text[end:]
            self._expected = None


def parse_chunks(body: str) -> list[Any]:
    reader = ChunkReader()
    chunks = reader.feed(body.encode("utf-8"))
    assert reader._text == "" and reader._expected is None, f"trailing bytes {reader._text!r}"
    return chunks


def parse_forward_answer(body: str) -> list[int]:
    """``<len>\\n[backChannelOpen, lastSentArrayId, outstandingBytes]`` (no trailing newline)."""
    length, _, rest = body.partition("\n")
    assert int(length) == utf16_length(rest), f"forward answer length {length} for {rest!r}"
    return json.loads(rest)


def form_maps(ofs: int, messages: list[str], key: str = "_S") -> dict[str, str]:
    data = {"count": str(len(messages)), "ofs": str(ofs)}
    for i, message in enumerate(messages):
        data[f"req{i}_{key}"] = message
    return data


@dataclass
class BackChannel:
    """A streamed back channel read on a thread: arrays as they arrive, and when it ended."""

    response: requests.Response
    arrays: "queue.Queue[tuple[float, list[Any]]]" = field(default_factory=queue.Queue)
    pieces: list[tuple[float, bytes]] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)
    error: list[BaseException] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> "BackChannel":
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        reader = ChunkReader()
        try:
            for piece in self.response.iter_content(chunk_size=None):
                now = time.monotonic()
                self.pieces.append((now, piece))
                for chunk in reader.feed(piece):
                    for array in chunk:
                        self.arrays.put((now, array))
        except BaseException as error:  # noqa: BLE001 - reported to the test
            self.error.append(error)
        finally:
            self.ended.set()

    def next_array(self, timeout: float = TIMEOUT) -> list[Any]:
        try:
            return self.arrays.get(timeout=timeout)[1]
        except queue.Empty:
            raise AssertionError(f"no array on the back channel within {timeout}s") from None

    def next_data(self, timeout: float = TIMEOUT, skip_noop: bool = True) -> tuple[int, Any]:
        """The next ``[arrayId, data]``, skipping keep-alives."""
        deadline = time.monotonic() + timeout
        while True:
            array_id, data = self.next_array(max(0.01, deadline - time.monotonic()))
            if skip_noop and data == ["noop"]:
                continue
            return array_id, data

    def wait_ended(self, timeout: float = TIMEOUT) -> None:
        assert self.ended.wait(timeout), f"the back channel did not end within {timeout}s"

    def close(self) -> None:
        """Drops the back channel as a client that goes away does: the socket is shut at once
        (closing the response alone waits for the reading thread's read timeout)."""
        connection = getattr(self.response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.response.close()
        self.ended.wait(TIMEOUT)


class BCSession:
    """One BrowserChannel session against ``base`` (e.g. ``http://127.0.0.1:8081/primus``)."""

    def __init__(self, base: str, extra: dict[str, str] | None = None) -> None:
        self.base = base
        self.extra = dict(extra or {})
        self.http = requests.Session()
        self.sid: str | None = None
        self.rid = 1000
        self.ofs = 0
        self.last_aid = -1
        self.creation_arrays: list[Any] = []

    def url(self, path: str, **params: Any) -> str:
        query = {**self.extra, "VER": "8", **{k: str(v) for k, v in params.items() if v is not None}}
        return f"{self.base}/{path}?{urlencode(query)}"

    def test_init(self) -> requests.Response:
        return self.http.get(self.url("test", MODE="init", zx="z1", t=1), timeout=TIMEOUT)

    def create(self, messages: list[str] | None = None, **params: Any) -> requests.Response:
        messages = messages or []
        response = self.http.post(
            self.url("bind", RID=self.rid, CVER=1, zx="z2", t=1, **params),
            data=form_maps(self.ofs, messages) if messages else {"count": "0"},
            timeout=TIMEOUT,
        )
        self.rid += 1
        self.ofs += len(messages)
        if response.status_code == 200:
            chunks = parse_chunks(response.text)
            self.creation_arrays = [array for chunk in chunks for array in chunk]
            first = self.creation_arrays[0]
            assert first[0] == 0 and first[1][0] == "c" and first[1][2] is None and first[1][3] == 8, first
            self.sid = first[1][1]
            self.last_aid = self.creation_arrays[-1][0]
        return response

    def send(self, messages: list[str], *, rid: int | None = None, ofs: int | None = None, key: str = "_S") -> requests.Response:
        """A forward-channel request; by default the next RID and offset."""
        use_rid = self.rid if rid is None else rid
        use_ofs = self.ofs if ofs is None else ofs
        if rid is None:
            self.rid += 1
        if ofs is None:
            self.ofs += len(messages)
        return self.http.post(
            self.url("bind", SID=self.sid, RID=use_rid, AID=self.last_aid, zx="z3", t=1),
            data=form_maps(use_ofs, messages, key),
            timeout=TIMEOUT,
        )

    def post_raw(self, body: str | bytes, content_type: str = "application/x-www-form-urlencoded", **params: Any) -> requests.Response:
        query = {"SID": self.sid, "RID": self.rid, "AID": self.last_aid, **params}
        self.rid += 1
        return self.http.post(self.url("bind", **query), data=body, headers={"Content-Type": content_type}, timeout=TIMEOUT)

    def back_channel(self, ci: int = 0, type_: str = "xmlhttp", aid: int | None = None, **params: Any) -> BackChannel:
        response = requests.get(
            self.url("bind", RID="rpc", SID=self.sid, CI=ci, AID=self.last_aid if aid is None else aid, TYPE=type_, zx="z4", t=1, **params),
            stream=True,
            timeout=TIMEOUT,
        )
        assert response.status_code == 200, (response.status_code, response.text)
        return BackChannel(response).start()

    def terminate(self) -> requests.Response:
        response = self.http.get(self.url("bind", SID=self.sid, RID=self.rid, TYPE="terminate", zx="z5", t=1), timeout=TIMEOUT)
        self.rid += 1
        return response


def assert_standard_headers(response: requests.Response, content_type: str = "text/plain") -> None:
    """The headers node-browserchannel sets on every answer."""
    assert response.headers["Content-Type"].startswith(content_type), response.headers
    cache = response.headers["Cache-Control"]
    assert "no-cache" in cache and "no-store" in cache and "max-age=0" in cache and "must-revalidate" in cache, cache
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Expires"] == "Fri, 01 Jan 1990 00:00:00 GMT"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
