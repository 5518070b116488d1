"""Server hardening (issue 13, item 8): the Streamlit server started the way users start it
(`serve` in conftest: `streamlit run dashboard/app.py` with the repository's
`.streamlit/config.toml`) must never reach off the machine, and must not hand control of the
app to other sites.

The server subprocess gets an audit hook (a `sitecustomize` on PYTHONPATH) that records the
target of every `socket.connect`, `socket.getaddrinfo` and `socket.bind` to a file. A
foreign-origin WebSocket to /_stcore/stream makes Streamlit 1.67 look up the machine's
external IP (checkip.amazonaws.com, DNS and HTTP) on every attempt; no setting prevents it, so
the launcher dashboard/serve.py seeds Streamlit's IP caches first (docs/reliability.md).

No browser is needed, so these tests run wherever the server can start.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import textwrap
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, serve, stop

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost", "localhost.", "0.0.0.0", "::"}

# Records (event, host, port) as JSON lines; the file is named by EXPLORER_SOCKET_AUDIT.
_SITECUSTOMIZE = textwrap.dedent('''
    import json, os, sys, threading

    _PATH = os.environ.get("EXPLORER_SOCKET_AUDIT")
    _LOCK = threading.Lock()

    def _target(event, args):
        if event in ("socket.connect", "socket.bind"):
            address = args[1]
            if isinstance(address, tuple):
                return address[0], address[1]
            return address, None          # AF_UNIX path or raw bytes
        return args[0], args[1]           # socket.getaddrinfo(host, port, ...)

    def _hook(event, args):
        if event not in ("socket.connect", "socket.getaddrinfo", "socket.bind") or not _PATH:
            return
        host, port = _target(event, args)
        if isinstance(host, bytes):
            host = host.decode("latin-1")
        line = json.dumps({"event": event, "host": host, "port": port,
                           "pid": os.getpid()}, default=repr)
        with _LOCK, open(_PATH, "a", encoding="utf-8") as out:
            out.write(line + "\\n")

    if _PATH:
        sys.addaudithook(_hook)
''')


def _is_local(record: dict) -> bool:
    host = record["host"]
    if host is None:
        return True                       # getaddrinfo(None, port): a local bind
    if record["event"] == "socket.bind":
        return str(host).lower() in LOOPBACK_HOSTS | {""}
    if record["event"] == "socket.connect" and record["port"] is None:
        return True                       # a Unix-domain socket path
    return str(host).lower() in LOOPBACK_HOSTS


def _ws_handshake(port: int, origin: str, host: str | None = None) -> str:
    """A raw WebSocket upgrade request to /_stcore/stream; returns the status line."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET /_stcore/stream HTTP/1.1\r\n"
               f"Host: {host or f'127.0.0.1:{port}'}\r\n"
               f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Protocol: streamlit\r\n"
               f"Origin: {origin}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


@pytest.fixture(scope="module")
def audited_server(tmp_path_factory):
    """The dashboard with the socket audit hook installed; yields (url, audit file)."""
    work = tmp_path_factory.mktemp("hardening")
    hook_dir = work / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    audit = work / "socket-audit.jsonl"
    audit.touch()
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "EXPLORER_SOCKET_AUDIT")}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(hook_dir), saved["PYTHONPATH"]) if p)
    os.environ["EXPLORER_SOCKET_AUDIT"] = str(audit)
    try:
        proc, url = serve(work / "runs", ARTIFACTS / "streamlit-hardening.log", warm_up=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield url, audit
    finally:
        stop(proc)


def _records(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]


def test_audit_hook_is_live(audited_server):
    """The hook sees the server's own sockets (else the next test would prove nothing): the
    listening socket's bind to 127.0.0.1:<port> is recorded."""
    url, audit = audited_server
    port = int(url.rsplit(":", 1)[1])
    records = _records(audit)
    assert any(r["event"] == "socket.bind" and r["port"] == port for r in records), (
        f"the audit hook did not see the server bind port {port}: {records}")


def test_foreign_origin_websocket_is_refused(audited_server):
    """CORS stays on: a page on another origin gets no session; the app's own origin does."""
    url, _ = audited_server
    port = int(url.rsplit(":", 1)[1])
    statuses = [_ws_handshake(port, "http://evil.example") for _ in range(3)]
    assert all(s.split()[1] == "403" for s in statuses), statuses
    assert _ws_handshake(port, url).split()[1] == "101", "same-origin WebSocket refused"


# Streamlit 1.67 cannot be configured out of this: for an Origin that is not localhost /
# 127.0.0.1 / 0.0.0.0 / browser.serverAddress, `server_util.is_url_from_allowed_origins` calls
# `net_util.get_internal_ip()` (a UDP connect to 8.8.8.8, cached) and then
# `net_util.get_external_ip()` (GET http and https://checkip.amazonaws.com, 1 s timeout each,
# cached only on success, so repeated on every refused attempt) before it reads
# server.corsAllowedOrigins; only server.enableCORS=false skips it, by accepting every origin.
# The fix is code: dashboard/serve.py (the launcher of `make run` and of these tests' serve())
# seeds both caches with "127.0.0.1" before the server accepts connections.
def test_foreign_origin_websocket_never_leaves_the_machine(audited_server):
    url, audit = audited_server
    port = int(url.rsplit(":", 1)[1])
    before = len(_records(audit))
    for _ in range(3):
        _ws_handshake(port, "http://evil.example")
    new = _records(audit)[before:]
    foreign = [r for r in new if not _is_local(r)]
    assert not foreign, (
        f"the server reached for non-loopback addresses during 3 foreign-origin "
        f"handshakes: {foreign}")


def test_dns_rebinding_host_is_refused_without_lookups(audited_server):
    """A page on evil.example whose name now resolves to 127.0.0.1 is same-origin with its
    own WebSocket (Origin and Host both evil.example:<port>); server.allowedHosts refuses it,
    before any origin check, so nothing is looked up either."""
    url, audit = audited_server
    port = int(url.rsplit(":", 1)[1])
    before = len(_records(audit))
    status = _ws_handshake(port, f"http://evil.example:{port}", host=f"evil.example:{port}")
    assert status.split()[1] == "403", status
    for host in (f"localhost:{port}", f"[::1]:{port}"):
        status = _ws_handshake(port, f"http://{host}", host=host)
        assert status.split()[1] == "101", (host, status)
    assert [r for r in _records(audit)[before:] if not _is_local(r)] == []


def test_embedding_sites_get_no_control(audited_server):
    """/_stcore/host-config lists the origins whose postMessage may control the app when it
    is framed (rerun, stop, auth tokens); Streamlit's default trusts *.streamlit.app."""
    url, _ = audited_server
    with urllib.request.urlopen(f"{url}/_stcore/host-config", timeout=10) as resp:
        host_config = json.load(resp)
    assert host_config["allowedOrigins"] == []
