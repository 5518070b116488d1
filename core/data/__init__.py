"""Labelled text in: file loading with its caps, the tokenizer, the vocabulary.

Loading's rooms: ``dataset`` (LoadConfig, LoadReport, Dataset), ``sniffing`` (format,
encoding, delimiter), ``readers`` (one per format), ``limits`` (caps and bomb guards),
``columns`` (text/label detection), ``loading`` (dispatch, rows to a Dataset: load_dataset).

May import: ``core.errors``, ``core.common``, ``core.vectors`` (the tokenizer reads GloVe's word list)."""
