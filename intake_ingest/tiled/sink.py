"""A tiled server as a sink of :class:`intake_ingest.detect.watching.Watcher`: ``serve --watch``.

The watcher decides what to make (files that stopped changing and open whole, runs
holding a new file, a series that grew); this sink writes those runs into the server
through :func:`.writing.write_plan` and removes, when asked, a run that a longer one
replaced.
"""

from .writing import with_data_sources, write_plan

__all__ = ["TiledSink"]


class TiledSink:
    """Runs written into a tiled container (a served catalog, or a container of one).

    Parameters
    ----------
    client : tiled.client.container.Container
        Where the runs go, as for :func:`.writing.write_plan`.
    external : bool
        Frames left in their files (default), as for :func:`.writing.write_plan`.
    """

    def __init__(self, client, external=True):
        self.client, self.external = with_data_sources(client), external

    def write(self, plan, replacing):
        """Write the plan's runs; a run of the same uid on the server is replaced.

        The watcher hands over only runs holding a new or changed file, so a run of the
        same uid already there is an older state of it (a scan that went on, a file
        rewritten): ``overwrite``. A new run costs no more for it (see :func:`.writing.write_run`).
        """
        return write_plan(plan, self.client, external=self.external, overwrite=True)

    def remove(self, uid):
        """Delete a run that a longer one replaced (its container and everything under it)."""
        if uid in self.client:
            self.client.delete_contents(uid, recursive=True, external_only=False)
