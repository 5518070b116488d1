"""The product's own error types.

Every problem a user can cause (a bad file, a bad setting, an unknown run) is raised as an
``ExplorerError`` with a message written for that user. The CLI turns it into exit code 2 and
one line on stderr; the dashboard shows it with ``st.error``. Anything else escaping ``core`` is
a bug.
"""


class ExplorerError(ValueError):
    """Base class: a user-readable problem with the input or the request."""


class DataError(ExplorerError):
    """A labelled-text file that cannot be used (format, encoding, columns, size, classes)."""


class VectorsError(ExplorerError):
    """A word-vector file that cannot be used (format, header, size, pickle-based)."""


class StoreError(ExplorerError):
    """A run that does not exist, or a run id / path that is not allowed."""


class CancelledError(ExplorerError):
    """Training was cancelled by the caller between batches."""
