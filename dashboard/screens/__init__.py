"""One short module per dashboard page (a screen: it reads the URL and session, calls
widgets, shows figures), registered by ``dashboard/app.py``. Called screens, not views: a
run's computed "views" are core's (``core.runs.views``, ``run.info["views"]``), and a folder
named ``pages/`` is Streamlit's legacy page mechanism."""
