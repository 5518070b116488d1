"""Foundation shared by every layer: config checks, atomic file writes and the read-through disk cache.

May import: ``core.errors`` only."""
