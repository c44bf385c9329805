"""Handlers: read external data (frames in other files) that Resource/Datum documents point at.

One module per file family; each handler is registered under the
``intake_ingest.handlers`` entry point by its resource spec. See
:mod:`intake_ingest.run.filling` for the protocol.
"""
