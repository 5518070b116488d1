"""One short module per dashboard page, registered by ``dashboard/app.py``."""
