"""Foundation shared by every layer: config checks, atomic file writes and the read-through disk
cache, the decompression-bomb rule (``expansion``), width-capped lines of users' text files
(``lines``) and the cells of the CSV/TSV files the product writes (``cells``).

May import: ``core.errors`` only."""
