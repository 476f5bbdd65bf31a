"""The BrowserChannel transformer against a client written from the protocol (bc_client.py).

Every endpoint (``/test``, ``/bind`` for creation, forward channel, back channel and
terminate), every status code and header the protocol names, both chunking modes, ``TYPE=html``,
the session timeout, acknowledgements and re-sends, and bad input, through primus-testserver
with the Primus layer (and ``--raw`` for the bare echo).
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlencode

import requests

from bc_client import (
    TIMEOUT,
    BCSession,
    assert_standard_headers,
    parse_chunks,
    parse_forward_answer,
    utf16_length,
)

BC = ("--transformer", "browserchannel")


def session(server, **extra: str) -> BCSession:
    bc = BCSession(f"{server.http_url}/primus", extra)
    created = bc.create()
    assert created.status_code == 200, (created.status_code, created.text)
    return bc


def encode(value) -> str:
    """A Primus message as the json parser writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def until(condition, timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s")


# ------------------------------------------------------------------------------ /test


def test_init_phase_answers_host_prefixes_and_advertises_json_bodies(start_testserver) -> None:
    server = start_testserver(*BC)
    response = BCSession(f"{server.http_url}/primus").test_init()
    assert response.status_code == 200
    assert response.text == "[null,null]"
    assert response.headers["X-Accept"] == "application/json; application/x-www-form-urlencoded"
    assert_standard_headers(response)


def test_version_other_than_8_is_refused(start_testserver) -> None:
    server = start_testserver(*BC)
    for path in ("test?VER=7&MODE=init", "bind?VER=9&RID=1", "bind?RID=1"):
        response = requests.request("GET" if path.startswith("test") else "POST", f"{server.http_url}/primus/{path}", timeout=TIMEOUT)
        assert response.status_code == 400, path
        assert response.text == "Version 8 required"
        assert_standard_headers(response)


def test_buffering_proxy_test_answers_in_two_parts_two_seconds_apart(start_testserver) -> None:
    server = start_testserver(*BC)
    response = requests.get(f"{server.http_url}/primus/test?VER=8&TYPE=xmlhttp&zx=a&t=1", stream=True, timeout=TIMEOUT)
    assert response.status_code == 200
    assert_standard_headers(response)
    pieces: list[tuple[float, bytes]] = []
    for piece in response.iter_content(chunk_size=None):
        pieces.append((time.monotonic(), piece))
    body = b"".join(piece for _, piece in pieces)
    assert body == b"111112"
    first = next(at for at, piece in pieces if b"11111" in piece)
    last = next(at for at, piece in pieces if b"2" in piece)
    # Two seconds apart, measured loosely (a loaded machine delays, never hastens).
    assert last - first >= 1.5, pieces


def test_buffering_proxy_test_in_html_is_wrapped_in_scripts(start_testserver) -> None:
    server = start_testserver(*BC)
    response = requests.get(f"{server.http_url}/primus/test?VER=8&TYPE=html&zx=a&t=1", timeout=TIMEOUT)
    assert response.status_code == 200
    assert_standard_headers(response, "text/html")
    assert 'parent.m("11111")' in response.text and 'parent.m("2")' in response.text
    assert response.text.endswith("<script>try  {parent.d(); }catch (e){}</script>\n")


# ------------------------------------------------------------------------------ /bind: creation


def test_creation_answers_the_first_chunk_with_the_session_array(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = BCSession(f"{server.http_url}/primus")
    response = bc.create()
    assert response.status_code == 200
    assert_standard_headers(response)
    length, _, rest = response.text.partition("\n")
    assert int(length) == utf16_length(rest) and rest.endswith("\n")
    assert bc.creation_arrays[0] == [0, ["c", bc.sid, None, 8]]


def test_spark_has_real_port_headers_and_query_string(start_testserver) -> None:
    server = start_testserver(*BC)
    # One connection whose local port we know carries the creating request.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    connection.connect()
    client_port = connection.sock.getsockname()[1]
    query = urlencode({"VER": "8", "RID": "1", "CVER": "1", "zx": "a", "t": "1", "foo": "bar"})
    connection.request("POST", f"/primus/bind?{query}", body="count=0", headers={"Content-Type": "application/x-www-form-urlencoded", "X-Custom": "yes"})
    answer = connection.getresponse()
    assert answer.status == 200
    sid = parse_chunks(answer.read().decode())[0][0][1][1]
    connection.close()

    bc = BCSession(f"{server.http_url}/primus")
    bc.sid, bc.rid, bc.ofs, bc.last_aid = sid, 2, 0, 0
    back = bc.back_channel()
    assert bc.send([encode({"testserver": "info"})]).status_code == 200
    _, data = back.next_data()
    info = json.loads(data)
    assert info["id"] == sid
    assert info["address"]["port"] == client_port != 1337
    assert info["query"]["foo"] == "bar" and info["query"]["VER"] == "8"
    assert info["headers"]["x-custom"] == "yes"
    back.close()


def test_creation_maps_are_delivered(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = BCSession(f"{server.http_url}/primus")
    assert bc.create([encode("early")]).status_code == 200
    arrays = list(bc.creation_arrays[1:])
    if not arrays:
        back = bc.back_channel()
        arrays.append(list(back.next_data()))
        back.close()
    assert arrays[0][1] == encode("early")


# ------------------------------------------------------------------------------ forward / back


def test_forward_answer_and_streaming_back_channel(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    bc.last_aid = -1  # array 0 not acknowledged yet
    answer = bc.send([encode("before")])
    assert answer.status_code == 200
    assert_standard_headers(answer)
    back_open, last_sent, outstanding = parse_forward_answer(answer.text)
    assert back_open == 0 and last_sent == 0 and outstanding == utf16_length(json.dumps(bc.creation_arrays[0], separators=(",", ":")))
    bc.last_aid = 0
    # Array 0 acknowledged; the echo of "before" (array 1) waits for a back channel.
    assert parse_forward_answer(bc.send([]).text) == [0, 0, utf16_length(json.dumps([1, encode("before")], separators=(",", ":")))]
    back = bc.back_channel(ci=0)
    assert_standard_headers(back.response)
    assert back.next_data()[1] == encode("before")
    for word in ("one", "two", "three"):
        assert parse_forward_answer(bc.send([encode(word)]).text)[0] == 1
        assert back.next_data()[1] == encode(word)
    assert not back.ended.is_set(), "CI=0 keeps streaming"
    back.close()


def test_chunking_off_ends_the_back_channel_after_each_chunk(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    for word in ("a", "b"):
        back = bc.back_channel(ci=1)
        bc.send([encode(word)])
        array_id, data = back.next_data()
        assert data == encode(word)
        back.wait_ended()
        bc.last_aid = array_id


def test_back_channel_ends_after_about_ten_kilobytes(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel(ci=0)
    big = "x" * 4000
    received = 0
    for _ in range(4):
        bc.send([encode(big)])
    while not back.ended.is_set() or not back.arrays.empty():
        try:
            back.next_data(timeout=2)
            received += 1
        except AssertionError:
            break
    back.wait_ended()
    assert 2 <= received < 4, received


def test_html_back_channel_wraps_chunks_in_scripts(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    bc.send([encode("</script><b>hi</b>")])
    response = requests.get(bc.url("bind", RID="rpc", SID=bc.sid, CI=1, AID=0, TYPE="html", DOMAIN="example.com", zx="h", t=1), timeout=TIMEOUT)
    assert response.status_code == 200
    assert_standard_headers(response, "text/html")
    text = response.text
    assert text.startswith('<script>try{document.domain="example.com";}catch(e){}</script>\n')
    assert "<script>try {parent.m(" in text
    assert "</script><b>" not in text, "a message must not close the script element"
    assert text.endswith("<script>try  {parent.d(); }catch (e){}</script>\n")
    # The chunk inside the first script is a proper chunk.
    literal = text.split("parent.m(", 1)[1].split(")} catch(e)", 1)[0]
    chunks = parse_chunks(json.loads(literal))
    assert chunks[0][0][1] == encode("</script><b>hi</b>")


def test_unacknowledged_arrays_are_resent_on_a_new_back_channel(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel(aid=0)
    bc.send([encode("one"), encode("two")])
    first = [back.next_data(), back.next_data()]
    assert [data for _, data in first] == [encode("one"), encode("two")]
    back.close()
    # The client lost the back channel and saw nothing: AID stays 0, everything comes again.
    again = bc.back_channel(aid=0)
    assert [again.next_data(), again.next_data()] == first
    again.close()
    # Acknowledged through the last one: nothing is re-sent; the next message is new.
    last_id = first[-1][0]
    bc.last_aid = last_id
    acked = bc.back_channel(aid=last_id)
    bc.send([encode("three")])
    assert acked.next_data() == (last_id + 1, encode("three"))
    acked.close()


def test_retried_forward_request_is_delivered_once(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    rid, ofs = bc.rid, bc.ofs
    assert bc.send([encode("once")], rid=rid, ofs=ofs).status_code == 200
    assert bc.send([encode("once")], rid=rid, ofs=ofs).status_code == 200
    bc.rid, bc.ofs = rid + 1, ofs + 1
    bc.send([encode("next")])
    assert back.next_data()[1] == encode("once")
    assert back.next_data()[1] == encode("next")
    back.close()


def test_rids_out_of_order_are_put_back_in_order(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    rid, ofs = bc.rid, bc.ofs
    assert bc.send([encode("second")], rid=rid + 1, ofs=ofs + 1).status_code == 200
    assert bc.send([encode("first")], rid=rid, ofs=ofs).status_code == 200
    assert back.next_data()[1] == encode("first")
    assert back.next_data()[1] == encode("second")
    back.close()


def test_json_body_variant(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    response = bc.post_raw(json.dumps({"ofs": 0, "data": [encode("via json")]}), content_type="application/json")
    assert response.status_code == 200
    assert back.next_data()[1] == encode("via json")
    back.close()


def test_astral_characters_and_line_separators_travel_with_utf16_lengths(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    text = "smile \U0001F600 line\u2028para\u2029end"
    bc.send([encode(text)])
    assert json.loads(back.next_data()[1]) == text
    raw = b"".join(piece for _, piece in back.pieces)
    assert "\u2028".encode() not in raw and b"\\u2028" in raw
    back.close()


# ------------------------------------------------------------------------------ Primus layer


def test_primus_heartbeat_and_messages_over_browserchannel(start_testserver) -> None:
    server = start_testserver(*BC, "--ping-interval", "300")
    bc = session(server)
    back = bc.back_channel()
    ping = None
    deadline = time.monotonic() + TIMEOUT
    while ping is None and time.monotonic() < deadline:
        _, data = back.next_data()
        if isinstance(data, str) and data.startswith('"primus::ping::'):
            ping = data
    assert ping is not None
    bc.send([ping.replace("ping", "pong")])
    bc.send([encode({"hello": ["world", 1]})])
    while True:
        _, data = back.next_data()
        if not data.startswith('"primus::ping::'):
            break
    assert json.loads(data) == {"hello": ["world", 1]}
    back.close()


def test_server_end_sends_close_then_stop(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    bc.send([encode({"testserver": "end"})])
    datas = []
    while ["stop"] not in datas:
        datas.append(back.next_data()[1])
    assert encode("primus::server::close") in datas
    back.wait_ended()
    assert bc.send([encode("late")]).text == "Unknown SID"


def test_raw_mode_echoes_messages_as_they_came(start_testserver) -> None:
    server = start_testserver(*BC, "--raw")
    bc = session(server)
    back = bc.back_channel()
    bc.send(["not json at all", "\U0001F600"])
    assert back.next_data()[1] == "not json at all"
    assert back.next_data()[1] == "\U0001F600"
    back.close()


def test_authorization_runs_on_every_request(start_testserver) -> None:
    server = start_testserver(*BC, "--authorize-token", "secret")
    refused = BCSession(f"{server.http_url}/primus")
    assert refused.test_init().status_code == 401
    assert refused.create().status_code == 401
    bc = session(server, token="secret")
    # The same session, asked without the token: refused before the transformer sees it.
    stripped = BCSession(f"{server.http_url}/primus")
    stripped.sid, stripped.rid, stripped.last_aid = bc.sid, bc.rid, 0
    assert stripped.send([encode("x")]).status_code == 401
    assert requests.get(stripped.url("bind", RID="rpc", SID=bc.sid, CI=1, AID=0), timeout=TIMEOUT).status_code == 401
    assert bc.send([encode("x")]).status_code == 200


# ------------------------------------------------------------------------------ ending


def test_terminate_ends_the_session(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    response = bc.terminate()
    assert response.status_code == 200 and response.text == ""
    assert_standard_headers(response)
    back.wait_ended()
    answer = bc.send([encode("after")])
    assert answer.status_code == 400 and answer.text == "Unknown SID"


def test_session_times_out_without_a_back_channel(start_testserver) -> None:
    server = start_testserver(*BC, "--session-timeout", "1000")
    bc = session(server)
    started = time.monotonic()
    until(lambda: bc.post_raw("count=0").text == "Unknown SID", what="session timeout")
    assert time.monotonic() - started >= 0.9


def test_a_new_session_evicts_the_one_it_names(start_testserver) -> None:
    server = start_testserver(*BC)
    old = session(server)
    new = BCSession(f"{server.http_url}/primus")
    assert new.create(OSID=old.sid, OAID=0).status_code == 200
    assert new.sid != old.sid
    until(lambda: old.post_raw("count=0").text == "Unknown SID", what="eviction")
    assert new.post_raw("count=0").status_code == 200


# ------------------------------------------------------------------------------ bad input


def test_unknown_sid(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = BCSession(f"{server.http_url}/primus")
    bc.sid = "nosuchsession"
    for response in (bc.send([encode("x")]), requests.get(bc.url("bind", RID="rpc", SID="nosuch", CI=0, AID=0), timeout=TIMEOUT), bc.terminate()):
        assert response.status_code == 400
        assert response.text == "Unknown SID"
        assert_standard_headers(response)


def test_bad_data_is_refused_and_nothing_is_lost(start_testserver) -> None:
    server = start_testserver(*BC)
    bc = session(server)
    back = bc.back_channel()
    bad_bodies = [
        ("count=2&ofs=0&req0__S=only-one", "application/x-www-form-urlencoded"),  # count lies high
        ("count=1&ofs=0&req0__S=a&req1__S=b", "application/x-www-form-urlencoded"),  # count lies low
        ("count=1&ofs=0&req0_JSON=%7Bbroken", "application/x-www-form-urlencoded"),  # broken JSON
        ("count=banana", "application/x-www-form-urlencoded"),  # malformed
        ("req0__S=a", "application/x-www-form-urlencoded"),  # no count
        ('{"ofs":0,"data":[', "application/json"),  # broken JSON body
        ('{"data":["x"]}', "application/json"),  # no offset
    ]
    for body, content_type in bad_bodies:
        response = bc.post_raw(body, content_type=content_type)
        assert response.status_code == 400, body
        assert response.text == "Bad data", body
        assert_standard_headers(response)
    # The session is intact (each refused request used up its RID): the next good request is delivered, in order.
    assert bc.send([encode("still here")]).status_code == 200
    assert back.next_data()[1] == encode("still here")
    # A forward request without a RID.
    no_rid = requests.post(bc.url("bind", SID=bc.sid, AID=0), data={"count": "0"}, timeout=TIMEOUT)
    assert (no_rid.status_code, no_rid.text) == (400, "Bad data")
    back.close()


def test_oversize_forward_request_is_refused(start_testserver) -> None:
    server = start_testserver(*BC, "--max-length", "1000")
    bc = session(server)
    back = bc.back_channel()
    response = bc.send([encode("y" * 3000)])
    assert response.status_code == 413
    assert "Payload Too Large" in response.text
    # A request under the limit still goes through afterwards (the refused one used up its RID).
    bc.ofs -= 1
    assert bc.send([encode("small")]).status_code == 200
    assert back.next_data()[1] == encode("small")
    back.close()


def test_other_paths_and_methods(start_testserver) -> None:
    server = start_testserver(*BC)
    response = requests.get(f"{server.http_url}/primus/nothing-here?VER=8", timeout=TIMEOUT)
    assert (response.status_code, response.text) == (404, "Not Found")
    assert_standard_headers(response)
    bc = session(server)
    response = requests.put(bc.url("bind", SID=bc.sid, RID=bc.rid), data="count=0", timeout=TIMEOUT)
    assert (response.status_code, response.text) == (405, "Method Not Allowed")
    response = requests.post(f"{server.http_url}/primus/test?VER=8&MODE=init", timeout=TIMEOUT)
    assert response.status_code == 405
