"""The HDF5 family: ingestors for the programs that write HDF5, on one shared layer.

- :mod:`.tree`: opening files through fsspec, following external links, walking
  groups, errors that name the file;
- :mod:`.values`: strings, units, scalars and dates as plain values;
- one module per producing software: :mod:`.nexus` (generic NeXus), :mod:`.eiger`
  (Dectris Eiger master and data files), and the others registered beside them.

Imported on first use, so that importing the package does not import h5py.
"""
