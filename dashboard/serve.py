"""Start the dashboard: ``python dashboard/serve.py [streamlit options]`` runs
``streamlit run dashboard/app.py`` with one change made first.

When a WebSocket arrives with an Origin it does not know, Streamlit 1.67 looks up this
machine's internal IP (a UDP connect to 8.8.8.8) and its external IP (HTTP to
checkip.amazonaws.com), on every attempt while offline, before refusing it. No request may
leave the machine and no setting turns this off, so both caches are seeded with 127.0.0.1
before the server starts: nothing new is allowed by it, since 127.0.0.1 is allowed already.

The second change: plain HTTP requests are held to ``server.allowedHosts`` too (Streamlit
checks it on the WebSocket only), by ``dashboard.hosts.install``; and a page's address is
the root plus the page (``dashboard.pagebase``: ``/data`` goes to ``/``, no 404s at load).

The projection engine starts with the server (``start_engine``), not with the first page:
a run trained from the command line on a freshly started server gets its views without any
page opened. (The first page still starts it if it died since.)
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from streamlit import net_util
from streamlit.web import cli

APP = Path(__file__).resolve().parent / "app.py"


def start_engine() -> bool:
    """Start the store's projection engine, tied to this server process; True if started."""
    from core.jobs.engine import ensure_engine
    from core.store.runstore import RunStore
    from dashboard import services

    if not services.warm_up_wanted():
        return False
    return ensure_engine(RunStore(services.store_root()), parent=os.getpid())


def main() -> int:
    net_util._internal_ip = net_util._external_ip = "127.0.0.1"  # noqa: SLF001 (see above)
    sys.path.insert(0, str(APP.parent.parent))  # the repository, for ``dashboard.hosts``
    from dashboard import hosts, pagebase

    hosts.install(pagebase.PageBase)
    start_engine()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
