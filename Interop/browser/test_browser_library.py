"""GET <pathname>/primus.js: the compiled browser client, its headers and its caching."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import requests

JS_TYPE = "text/javascript; charset=utf-8"


def compiled(source: str, key: str) -> str:
    m = re.search(rf"^\s*{key}: (.*?),?$", source, re.M)
    assert m, f"{key} not compiled into the library"
    return m.group(1)


def test_library_is_served_with_content_type_and_etag(start_testserver) -> None:  # noqa: ANN001
    """Checklist 14:"""
    server = start_testserver()
    url = f"{server.http_url}/primus/primus.js"
    first = requests.get(url, timeout=5)
    assert first.status_code == 200
    assert first.headers["content-type"] == JS_TYPE
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{16}-[0-9a-f]+"', etag), etag
    assert int(first.headers["content-length"]) == len(first.content)

    second = requests.get(url, timeout=5)
    assert second.headers["etag"] == etag and second.content == first.content  # built once

    head = requests.head(url, timeout=5)
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""
    assert head.headers["content-type"] == JS_TYPE

    cached = requests.get(url, headers={"If-None-Match": etag}, timeout=5)
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag

    stale = requests.get(url, headers={"If-None-Match": '"something-else"'}, timeout=5)
    assert stale.status_code == 200 and stale.content == first.content


def test_library_is_compiled_for_its_server(start_testserver) -> None:  # noqa: ANN001
    default = requests.get(f"{start_testserver().http_url}/primus/primus.js", timeout=5).text
    assert compiled(default, "pathname") == '"/primus"'
    assert compiled(default, "version") == '"8.0.9"'
    assert compiled(default, "parser") == '"json"'
    assert compiled(default, "transformer") == '"websockets"'
    assert compiled(default, "pingTimeout") == "45000"  # 30000 + 15000
    assert compiled(default, "authorization") == "false"
    assert '})("Primus", this || {}, function wrapper()' in default

    custom = start_testserver("--pathname", "/realtime", "--ping-interval", "1001")
    assert requests.get(f"{custom.http_url}/primus/primus.js", timeout=5).status_code != 200
    source = requests.get(f"{custom.http_url}/realtime/primus.js", timeout=5).text
    assert compiled(source, "pathname") == '"/realtime"'
    assert compiled(source, "pingTimeout") == "1502"  # 1001 + round(500.5)

    off = start_testserver("--ping-interval", "0")
    assert compiled(requests.get(f"{off.http_url}/primus/primus.js", timeout=5).text, "pingTimeout") == "false"

    assert "Primus.prototype.client = function websockets()" in default
    engineio = requests.get(f"{start_testserver('--transformer', 'engine.io').http_url}/primus/primus.js", timeout=5).text
    assert compiled(engineio, "transformer") == '"engine.io"'
    assert "Primus.prototype.client = function engineio()" in engineio
    assert "function websockets()" not in engineio and "has no browser client" not in engineio


@pytest.mark.parametrize("transformer", ["websockets", "engine.io"])
def test_library_is_a_commonjs_module_in_node(start_testserver, tmp_path, transformer: str) -> None:  # noqa: ANN001
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("Node.js is needed to load the library as a module (.ci/run installs nodejs)", pytrace=False)
    server = start_testserver("--transformer", transformer)
    path = tmp_path / "primus.js"
    path.write_bytes(requests.get(f"{server.http_url}/primus/primus.js", timeout=5).content)
    script = (
        "if (typeof WebSocket === 'undefined') globalThis.WebSocket = function () {};\n"
        f"const Primus = require({json.dumps(str(path))});\n"
        "const p = new Primus('http://127.0.0.1:9', { manual: true });\n"
        "console.log(JSON.stringify({ type: typeof Primus, global: typeof globalThis.Primus,"
        " strategy: p.options.strategy, pingTimeout: p.options.pingTimeout }));\n"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "type": "function", "global": "undefined", "strategy": "disconnect,online,timeout", "pingTimeout": 45000,
    }
