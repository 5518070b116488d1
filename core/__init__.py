"""Embedding Explorer core: data loading, tokenising, pretrained vectors, training with
snapshots, the run store, projections and comparison measures. Never imports streamlit."""

__version__ = "0.1.0"
