"""The Host check on plain HTTP. Streamlit applies ``server.allowedHosts`` to its WebSocket
only: ``/``, ``/_stcore/health``, ``/_stcore/host-config``, static files and the components'
pages answer any Host, so a DNS-rebinding page (evil.example resolving to 127.0.0.1) could
read them. ``install`` puts one ASGI middleware in front of Streamlit's own that answers 403
to an HTTP request whose Host is not allowed, with Streamlit's own test (``is_host_allowed``,
the one its WebSocket uses), so the two can never disagree. Used by ``dashboard/serve.py``."""
from __future__ import annotations

from typing import Any, Callable

REFUSED = b"This server answers only the hosts in server.allowedHosts.\n"


class HostCheck:
    """ASGI middleware: HTTP requests with a Host outside ``server.allowedHosts`` get 403."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        from streamlit.web.server.starlette.starlette_websocket import is_host_allowed

        if scope["type"] == "http":
            raw = next((v for k, v in scope.get("headers", []) if k == b"host"), None)
            if not is_host_allowed(raw.decode("latin-1") if raw is not None else None):
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(REFUSED)).encode())]})
                await send({"type": "http.response.body", "body": REFUSED})
                return
        await self.app(scope, receive, send)


def install(*after: type) -> None:
    """Make Streamlit's app factory put ``HostCheck`` first in its middleware stack, then
    the middleware classes ``after`` (e.g. ``pagebase.PageBase``), then Streamlit's own."""
    from starlette.middleware import Middleware
    from streamlit.web.server.starlette import starlette_app

    original = starlette_app.create_streamlit_middleware

    def with_host_check() -> list:
        return [Middleware(HostCheck), *(Middleware(m) for m in after), *original()]

    starlette_app.create_streamlit_middleware = with_host_check
