"""Custom Streamlit components of the dashboard: each in its own folder (index.html and its
scripts, served by Streamlit from that folder only) with a Python wrapper in __init__.py."""
