"""Embedding Explorer dashboard: Streamlit views over ``core`` (no training or maths here)."""
