"""Errors a user can act on: each names the file (or pattern) and what is wrong with it."""


class IngestError(ValueError):
    """A source file (or a pattern of files) cannot be turned into documents.

    Parameters
    ----------
    path : str
        The file, URL or pattern the problem is about, as the user would recognise it.
    reason : str
        What is wrong, in words a user can act on.
    """

    def __init__(self, path, reason):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")

    def __reduce__(self):
        # Keep the error picklable so it survives a trip through dask.distributed.
        return type(self), (self.path, self.reason)


class MissingFileError(IngestError, FileNotFoundError):
    """A file that a run needs does not exist (any more)."""

    def __init__(self, path, reason="no such file"):
        super().__init__(path, reason)


class IngestWarning(UserWarning):
    """Something was skipped, guessed or found incomplete while ingesting.

    What could be read is returned (e.g. a truncated file as a partial run); the
    message names the file and what was left out.
    """
