"""Plain HTTP answers only the hosts of ``server.allowedHosts`` (README: "answers only
127.0.0.1 / localhost hosts"): a DNS-rebinding Host gets 403 on the page, the health check,
the host config and a component's page, while 127.0.0.1 and localhost are served."""
from __future__ import annotations

import http.client

import pytest

from .conftest import ARTIFACTS, serve, stop

PATHS = ["/", "/_stcore/health", "/_stcore/host-config", "/static/index.html"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("host-check") / "runs"
    root.mkdir()
    proc, url = serve(root, ARTIFACTS / "streamlit-host.log", warm_up=False)
    try:
        yield int(url.rsplit(":", 1)[1])
    finally:
        stop(proc)


def _status(port: int, path: str, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host)
    conn.endheaders()
    status = conn.getresponse().status
    conn.close()
    return status


@pytest.mark.parametrize("path", PATHS)
def test_a_foreign_host_is_refused_on_plain_http(server, path):
    assert _status(server, path, f"evil.example:{server}") == 403
    assert _status(server, path, "203.0.113.9") == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_hosts_are_served(server, host):
    assert _status(server, "/_stcore/health", f"{host}:{server}") == 200
    assert _status(server, "/", f"{host}:{server}") == 200
