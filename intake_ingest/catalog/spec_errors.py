"""Why a catalog spec is refused: one :class:`Problem` per offending place in the spec."""

from dataclasses import dataclass

__all__ = ["Problem", "UnsafeCatalogError"]


@dataclass(frozen=True)
class Problem:
    """Why one part of a spec is refused.

    Parameters
    ----------
    where : str
        The path in the spec, e.g. ``'sources.scan.args.storage_options.cache_storage'``
        (``'catalog'`` for the file as a whole).
    reason : str
        What is wrong there and, where one exists, what to write instead.
    """

    where: str
    reason: str

    def __str__(self):
        return f"{self.where}: {self.reason}"


class UnsafeCatalogError(ValueError):
    """A catalog spec is refused: nothing of it was used, no entry was made.

    Parameters
    ----------
    url : str
        The spec file (the nested one, for a catalog nested in another).
    problems : list of Problem
    """

    def __init__(self, url, problems):
        self.url = url
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{url}: refused, this catalog spec does not open safely:\n{lines}")
