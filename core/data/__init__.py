"""Labelled text in: file loading with its caps, the tokenizer, the vocabulary.

May import: ``core.errors``, ``core.common``, ``core.vectors`` (the tokenizer reads GloVe's word list)."""
