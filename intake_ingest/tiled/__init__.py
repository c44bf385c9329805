"""Runs into tiled: external data (pixels left in their files) and writing through bluesky's TiledWriter.

:mod:`.external` turns a run's inline image events into StreamResource/StreamDatum
documents that say where each frame lives; :mod:`.locators` knows, per ingestor, where
that is; :mod:`.consolidators` and :mod:`.adapters` teach bluesky's TiledWriter and a tiled
server the formats tiled cannot read itself (CBF, EDF). Importing this package imports
neither tiled nor bluesky: the submodules that need them import them.
"""
