"""Every page's address is the app's root plus the page: two things Streamlit's front end
gets wrong on its own, fixed by one ASGI middleware (installed by ``dashboard/serve.py``).

- Opened at ``/train``, the front end does not know where the server lives and asks
  ``/train/_stcore/health`` and ``/train/_stcore/host-config`` first (two 404s in the
  console on every page load) before trying ``/``. The page's HTML is given the answer
  (``window.__streamlit.BACKEND_BASE_URL``, which the front end reads before guessing).
- The first page (Data) lives at ``/``: ``/data`` answered "Page not found". It is redirected
  to ``/`` with its query (``?data=``, ``?run=``) kept.
"""
from __future__ import annotations

from typing import Any, Callable

MAIN_PAGE = "data"  # the url_path of the default page (app.PAGES' first entry)
SCRIPT = (b'<script>window.__streamlit=Object.assign({},window.__streamlit,'
          b'{BACKEND_BASE_URL:window.location.origin+"/"});</script>')


def _is_page(path: str) -> bool:
    """A page's address (``/``, ``/train``), not the server's API, a file or a component."""
    name = path.strip("/")
    return "/" not in name and "." not in name and not name.startswith("_stcore")


class PageBase:
    """ASGI middleware: ``/data`` -> ``/``; a page's HTML says where the server is."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or not _is_page(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["path"].strip("/") == MAIN_PAGE:
            query = scope.get("query_string", b"")
            location = b"/" + (b"?" + query if query else b"")
            await send({"type": "http.response.start", "status": 307,
                        "headers": [(b"location", location), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        # uncompressed, so the script can go in; the page is ~6 kB
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"accept-encoding"]
        await self.app({**scope, "headers": headers}, receive, _Injecting(send))


class _Injecting:
    """Holds an HTML response back until its body is whole, then sends it with the script
    first in its <head>; anything else passes unchanged."""

    def __init__(self, send: Callable) -> None:
        self.send, self.start, self.body = send, None, b""

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            kind = dict(message.get("headers", [])).get(b"content-type", b"")
            if message.get("status") == 200 and kind.startswith(b"text/html"):
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.body += message.get("body", b"")
            if message.get("more_body"):
                return
            body = self.body.replace(b"<head>", b"<head>" + SCRIPT, 1)
            headers = [(k, str(len(body)).encode() if k == b"content-length" else v)
                       for k, v in self.start.get("headers", [])]
            await self.send({**self.start, "headers": headers})
            await self.send({"type": "http.response.body", "body": body})
            return
        await self.send(message)
