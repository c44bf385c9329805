"""A catalog entry that makes its source only when asked, for intake's Catalog machinery."""

from intake.catalog.entry import CatalogEntry

__all__ = ["LazyEntry"]


class LazyEntry(CatalogEntry):
    """An intake catalog entry whose source is made by calling ``make_source()``.

    Parameters
    ----------
    name : str
        The entry's name in its catalog.
    make_source : callable
        Returns the data source; called on each access, never at construction.
    container : str
        The intake container of the source ('xarray', 'bluesky-run', ...).
    description : str, optional
    metadata : dict, optional
        Shown by ``describe()``; must be available without making the source.
    """

    def __init__(self, name, make_source, container, description="", metadata=None):
        super().__init__()
        self.name = name
        self._make_source = make_source
        self._container = container
        self._description = description
        self._metadata = metadata or {}
        self._user_parameters = []

    def describe(self):
        return {
            "name": self.name,
            "container": self._container,
            "plugin": [],
            "driver": [],
            "description": self._description,
            "direct_access": "forbid",
            "user_parameters": [],
            "metadata": self._metadata,
            "args": {},
        }

    def get(self, **user_parameters):
        return self._make_source(**user_parameters)
