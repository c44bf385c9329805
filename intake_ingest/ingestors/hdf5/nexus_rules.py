"""The NeXus plot rules: which entry, which NXdata group, which signal, which axes.

Shared by every ingestor that reads NeXus structure (generic NeXus, NXmx masters,
Bluesky's own NeXus files, BLISS). The rules are those of the NeXus manual
(https://manual.nexusformat.org/datarules.html, "Find the plottable data"; the NXdata
base class) and of the older conventions still found in files, as
:mod:`silx.io.nxdata` reads them:

- the root's ``@default`` names the NXentry, the NXentry's ``@default`` its NXdata;
- the NXdata's ``@signal`` names the plotted dataset; older files flag it with a
  ``signal=1`` attribute on the dataset; a group holding a single dataset plots it;
- ``@axes`` lists a coordinate per dimension of the signal (``'.'`` for none),
  ``<axis>_indices`` the dimensions each spans; older files list them in the signal's
  own ``axes`` attribute (``'x:y'``), or flag each coordinate with ``axis=N``
  (1-based dimension) and ``primary=1`` for the preferred one; canSAS files use
  ``<signal>_axes``;
- ``@interpretation`` on the signal (``'spectrum'``, ``'image'``) says how to read
  its dimensions.

Reads attributes and shapes only: never data.
"""


import h5py
import numpy as np

from ...errors import IngestError
from .._common import unique_key
from .tree import member, nx_class
from .values import natural_key, plain, text, texts

__all__ = [
    "LAYOUT_IMAGE",
    "LAYOUT_POINTS",
    "NexusOutline",
    "axes_of",
    "choose_entry",
    "dataset_names",
    "entry_names",
    "find_nxdata",
    "has_nxdata",
    "key_name",
    "member_attrs",
    "nexus_outline",
    "point_layout",
    "signal_name",
]

#: One event per index of the signal's first dimension (scan points, frames).
LAYOUT_POINTS = "points"
#: One event holding the whole signal (a single image or 2-D histogram).
LAYOUT_IMAGE = "image"


def entry_names(h5, with_data=False):
    """Names of the NXentry groups at the top of the file, in natural order.

    With ``with_data``, only those holding an NXdata group (a file of detector frames
    linked from another has entries with nothing to plot).
    """
    names = []
    for name in h5:
        group = member(h5, name)
        if isinstance(group, h5py.Group) and nx_class(group) == "NXentry":
            if not with_data or has_nxdata(group):
                names.append(name)
    return sorted(names, key=natural_key)


def has_nxdata(entry_group):
    """Whether an NXentry holds an NXdata group (directly or through ``@default``)."""
    try:
        find_nxdata(entry_group, "")
    except IngestError:
        return False
    return True


def choose_entry(h5, entry, url):
    """The entry to read: ``entry`` if given, else the root's ``@default``, else the first with data."""
    names = entry_names(h5)
    if entry is not None:
        if not isinstance(member(h5, entry), h5py.Group):
            raise IngestError(url, f"has no entry {entry!r}; its NXentry groups are {names}")
        return entry
    default = text(h5.attrs.get("default"))
    if default and isinstance(member(h5, default), h5py.Group):
        return default.strip("/")
    if not names:
        raise IngestError(url, "is not a NeXus file: it has no NXentry group at the top level")
    return (entry_names(h5, with_data=True) or names)[0]


def find_nxdata(entry_group, url):
    """The NXdata group to read: follow ``@default`` from the entry, else its first NXdata."""
    group = entry_group
    for _ in range(8):  # @default chains are short; a cycle must not hang the ingestor
        if nx_class(group) == "NXdata":
            return group
        default = text(group.attrs.get("default"))
        target = member(group, default) if default else None
        if not isinstance(target, h5py.Group):
            break
        group = target
    for name in sorted(entry_group, key=natural_key):
        child = member(entry_group, name)
        if isinstance(child, h5py.Group) and nx_class(child) == "NXdata":
            return child
    raise IngestError(url, f"entry {entry_group.name!r} has no NXdata group: nothing to plot")


def member_attrs(group, name):
    """The attributes of a member, or an empty dict where it is absent or a dangling link."""
    found = member(group, name)
    return found.attrs if found is not None else {}


def _flag(value):
    """A NeXus 1 flag attribute (``signal=1``, ``primary=1``) as an int, 0 when unreadable."""
    try:
        return int(plain(value))
    except (TypeError, ValueError):
        return 0


def dataset_names(nxdata):
    """Members that are (or link to) datasets, in natural order; external links count as datasets."""
    names = []
    for name in sorted(nxdata, key=natural_key):
        try:
            link = nxdata.get(name, getlink=True)
        except ValueError:  # h5py cannot decode a name that is not UTF-8: not a field to read
            continue
        if isinstance(link, h5py.ExternalLink) or isinstance(member(nxdata, name), h5py.Dataset):
            names.append(name)
    return names


def _shape(nxdata, name):
    """A member's shape, or None when it is in another file (not opened here) or unreadable."""
    if isinstance(nxdata.get(name, getlink=True), h5py.ExternalLink):
        return None
    found = member(nxdata, name)
    return tuple(found.shape) if isinstance(found, h5py.Dataset) else None


def signal_name(nxdata, url):
    """The signal's name; None for a table of scan columns (equal-length 1-D fields, no signal).

    In order: the group's ``@signal``; the dataset flagged ``signal=1`` (NeXus 1; of
    several, the lowest flag number); the only dataset of the group.

    Raises
    ------
    IngestError
        If none of these names a signal and the fields are not a table.
    """
    name = text(nxdata.attrs.get("signal"))
    if name and name in nxdata:
        return name
    members = dataset_names(nxdata)
    flagged = [(_flag(member_attrs(nxdata, name).get("signal")), name) for name in members]
    flagged = sorted((flag, name) for flag, name in flagged if flag >= 1)
    if flagged:
        return flagged[0][1]
    if len(members) == 1:
        return members[0]
    shapes = {_shape(nxdata, name) for name in members}
    if members and len(shapes) == 1 and None not in shapes and len(next(iter(shapes))) == 1:
        return None  # columns of a scan written without a plot attribute
    raise IngestError(
        url,
        f"NXdata {nxdata.name!r} names no signal (no @signal attribute, no dataset "
        f"flagged signal=1) and its fields {members} are not columns of equal length",
    )


def _parse_indices(value):
    """``<axis>_indices``: an int, an array of ints, or a string ``'0,1'`` (canSAS); None if neither."""
    try:
        if isinstance(value, (str, bytes, np.bytes_)) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "OSU"
        ):
            return tuple(int(part) for part in texts(value))
        return tuple(int(index) for index in np.atleast_1d(value))
    except (TypeError, ValueError):
        return None


def axes_of(nxdata, signal, signal_ndim):
    """Each coordinate of the signal and the signal dimensions it spans: ``{name: (dims...)}``.

    ``signal`` None (a table): every column is a coordinate of the rows, none is named.
    """
    if signal is None:
        return {}
    names = texts(nxdata.attrs.get("axes"))
    if not names:  # canSAS ``I_axes`` on the group, or NeXus 1 ``axes`` on the signal
        names = texts(nxdata.attrs.get(f"{signal}_axes")) or texts(
            member_attrs(nxdata, signal).get("axes")
        )
    axes = {}
    for position, name in enumerate(names):
        if name == "." or name in axes or name not in nxdata or position >= max(signal_ndim, 1):
            continue
        indices = nxdata.attrs.get(f"{name}_indices")
        axes[name] = _parse_indices(indices) if indices is not None else (position,)
    # Coordinates may also be given only by their <axis>_indices attribute.
    for attribute in nxdata.attrs:
        name = attribute[: -len("_indices")]
        if attribute.endswith("_indices") and name not in axes and name in nxdata and name != signal:
            axes[name] = _parse_indices(nxdata.attrs[attribute])
    if not axes:
        axes = _flagged_axes(nxdata, signal, signal_ndim)
    return {name: dims for name, dims in axes.items() if dims}  # unreadable indices: not an axis


def _flagged_axes(nxdata, signal, signal_ndim):
    """NeXus 1: coordinates flagged ``axis=N`` (1-based), ``primary=1`` first for each dimension."""
    candidates = {}
    for name in dataset_names(nxdata):
        if name == signal:
            continue
        attributes = member_attrs(nxdata, name)
        dimension = _flag(attributes.get("axis")) - 1
        if 0 <= dimension < max(signal_ndim, 1):
            primary = _flag(attributes.get("primary"))
            candidates.setdefault(dimension, []).append((primary != 1, -primary, name))
    return {min(names)[2]: (dimension,) for dimension, names in sorted(candidates.items())}


def key_name(name):
    """A data key name event-model accepts (no dots or slashes), clear of the event's fields.

    A field named ``time``, ``seq_num`` or ``uid`` (an NXmonitor's or a scan's ``time`` is
    common) would hide the stream's own variable: it becomes ``time_2``..., as in every
    ingestor (:func:`.._common.unique_key`).
    """
    return unique_key(name, set())  # the shared rule: '2-theta' -> 'X2_theta'


def point_layout(nxdata, signal, signal_shape, axes):
    """How the signal makes events: :data:`LAYOUT_POINTS` or :data:`LAYOUT_IMAGE`.

    - a table, a scalar or a 1-D signal: one event per point;
    - 3-D and more: one event per index of the first dimension (a frame per point);
    - 2-D: one event holding the whole signal (an area detector image, a 2-D
      histogram), unless the rows are scan points: the signal's ``@interpretation`` is
      ``'spectrum'`` (silx's convention for a stack of spectra), or the group holds
      other 1-D fields of one value per row that are not coordinates (counters,
      monitors recorded at each point).

    ``signal_shape`` None (the signal is in another file, not opened yet) counts as
    one event per point.
    """
    if signal is None or signal_shape is None or len(signal_shape) != 2:
        return LAYOUT_POINTS
    interpretation = text(member_attrs(nxdata, signal).get("interpretation"))
    if interpretation == "spectrum":
        return LAYOUT_POINTS
    if interpretation == "image":
        return LAYOUT_IMAGE
    rows = signal_shape[0]
    for name in dataset_names(nxdata):
        if name == signal or name in axes:
            continue
        if _shape(nxdata, name) == (rows,):
            return LAYOUT_POINTS
    return LAYOUT_IMAGE


class NexusOutline:
    """What detection needs to know of an HDF5 file, from its group attributes only.

    Attributes
    ----------
    entries : list of str
        Its NXentry groups.
    entries_with_data : list of str
        Those holding an NXdata group.
    bluesky_entries : list of str
        Those holding ``instrument/bluesky/streams`` (written by apstools' NXWriter).
    """

    def __init__(self, h5):
        self.entries = entry_names(h5)
        self.entries_with_data = [name for name in self.entries if has_nxdata(h5[name])]
        self.bluesky_entries = [
            name
            for name in self.entries
            if isinstance(member(h5[name], "instrument/bluesky/streams"), h5py.Group)
        ]


def nexus_outline(h5):
    """The :class:`NexusOutline` of an open file (for :func:`~.tree.cached_read`)."""
    return NexusOutline(h5)
