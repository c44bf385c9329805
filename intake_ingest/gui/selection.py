"""What the user selected, what detection made of it, and what the user changed.

:class:`SelectionModel` is plain Python (no panel): the app's Select tab shows it and
edits it, tests drive it directly.
"""

import os
import re
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field

from ..errors import IngestError
from ..registry import get_spec, ingestor_names

__all__ = ["GroupRow", "SelectionModel"]


@dataclass
class GroupRow:
    """One planned run of the plan, as the Select tab shows and edits it.

    Attributes
    ----------
    group : int
        Stable id of the group (its position in the detected plan, then added groups).
    run : PlannedRun
        What detection (or the user, for an added group) planned.
    ingestor : str
        The ingestor chosen now (detection's choice until the user changes it).
    candidates : list of (str, float)
        Ingestors whose sniffer gives the group's first file a confidence above zero,
        best first.
    include : bool
        False when the user excluded the group.
    """

    group: int
    run: object
    ingestor: str
    candidates: list = field(default_factory=list)
    include: bool = True

    @property
    def changed(self):
        return self.ingestor != self.run.ingestor

    @property
    def confidence(self):
        if not self.changed:
            return self.run.confidence
        return dict(self.candidates).get(self.ingestor, 0.0)

    @property
    def reason(self):
        if not self.changed:
            return self.run.reason
        return f"chosen by the user: {self.ingestor} (detected: {self.run.ingestor})"

    def to_dict(self):
        files = self.run.files
        return {
            "group": self.group,
            "include": self.include,
            "ingestor": self.ingestor,
            "files": len(files),
            "first": files[0].url,
            "kwargs": " ".join(f"{key}={value}" for key, value in self.run.kwargs.items()),
            "candidates": ", ".join(f"{name} {score:.2f}" for name, score in self.candidates),
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
        }


def _sniffing_specs():
    specs = []
    for name in ingestor_names():
        try:
            spec = get_spec(name)
        except Exception:  # a plugin that cannot load must not hide the others
            continue
        if spec.sniff is not None:
            specs.append(spec)
    return specs


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ +-]")


class SelectionModel:
    """Selected files, folders, globs and URLs; the plan detection makes of them; the user's edits.

    Parameters
    ----------
    paths : str or list of str, optional
        Selected to start with.
    scratch_dir : str, optional
        Where dropped files are saved. Default: a temporary folder this model creates
        (and removes in :meth:`close`, or when the model is garbage collected). Dropped
        files are never written beside the files the user selected.
    storage_options : dict, optional
        For fsspec URLs.

    Examples
    --------
    >>> model = SelectionModel(["beamtime/"])          # doctest: +SKIP
    >>> model.detect()                                 # doctest: +SKIP
    >>> model.rows()[0]["ingestor"]                    # doctest: +SKIP
    'tiff_series'
    >>> model.set_ingestor(0, "tiff_series_dask")      # doctest: +SKIP
    >>> model.set_included(1, False)                   # doctest: +SKIP
    >>> plan = model.selected_plan()                   # doctest: +SKIP
    """

    def __init__(self, paths=None, *, scratch_dir=None, storage_options=None):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(path) for path in paths or ()]
        self.storage_options = storage_options
        self.plan = None
        self.groups = []
        self._sniffed = {}
        self._scratch = scratch_dir
        self._finalizer = None

    # -- the selection -----------------------------------------------------------

    def add(self, *paths):
        """Select more files, folders, globs or fsspec URLs (blank entries are ignored)."""
        for path in paths:
            path = os.fspath(path).strip()
            if path and path not in self.paths:
                self.paths.append(path)

    def add_text(self, text):
        """Select each line (or ``;``-separated item) of text typed by the user."""
        self.add(*(item for line in text.splitlines() for item in line.split(";")))

    def remove(self, path):
        """Unselect one path (as it was added)."""
        self.paths = [item for item in self.paths if item != path]

    def clear(self):
        """Unselect everything and forget the plan (dropped files stay in the scratch folder)."""
        self.paths = []
        self.plan = None
        self.groups = []

    @property
    def scratch_dir(self):
        """The folder dropped files are saved in; created when first needed."""
        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="intake-ingest-dropped-")
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._scratch, True)
        os.makedirs(self._scratch, exist_ok=True)
        return self._scratch

    def add_bytes(self, name, data):
        """Save a dropped file's bytes in the scratch folder and select it.

        Parameters
        ----------
        name : str
            The file's name as the browser gave it; only its last component is used.
        data : bytes or str

        Returns
        -------
        str
            The path it was saved at.
        """
        base = _UNSAFE_NAME.sub("_", os.path.basename(str(name).replace("\\", "/")))
        if base.strip(". ") == "":
            raise ValueError(f"{name!r} is not a usable file name")
        path = os.path.join(self.scratch_dir, base)
        with open(path, "wb") as file:
            file.write(data.encode() if isinstance(data, str) else bytes(data))
        self.add(path)
        return path

    def close(self):
        """Remove the scratch folder, if this model created it."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
            self.paths = [path for path in self.paths if not path.startswith(self._scratch)]
            self._scratch = None

    # -- detection ---------------------------------------------------------------

    def detect(self, **kwargs):
        """Run :func:`~intake_ingest.detect.detect` on the selection; resets the user's edits.

        Parameters
        ----------
        **kwargs
            For ``detect`` (``ingestor=``, ``split_gaps=``, ...). Files are sniffed in a
            worker process (``isolate=True``) unless told otherwise: a file that crashes
            a parser is reported, not the end of the app.

        Returns
        -------
        Plan
        """
        from ..detect import detect

        if not self.paths:
            raise ValueError("nothing is selected: add files, folders, globs or URLs first")
        kwargs.setdefault("progress", False)
        kwargs.setdefault("isolate", True)
        kwargs.setdefault("storage_options", self.storage_options)
        self.plan = detect(self.paths, **kwargs)
        self._sniffed = {}
        self.groups = [
            GroupRow(index, run, run.ingestor, self.candidates_for(run.files[0]))
            for index, run in enumerate(self.plan.runs)
        ]
        return self.plan

    def candidates_for(self, source):
        """``[(ingestor, confidence), ...]`` above zero for one file, best first (sniffed once).

        What detection found, for the first file of a run it planned; other files are
        sniffed here, once.
        """
        from ..detect import sniff_file

        key = source.identity
        if key not in self._sniffed:
            found = self.plan.candidates.get(key) if self.plan is not None else None
            self._sniffed[key] = found if found is not None else sniff_file(source, _sniffing_specs())[0]
        return self._sniffed[key]

    # -- what the tables show ----------------------------------------------------

    def rows(self):
        """One dict per group: group, include, ingestor, files, first, kwargs, candidates, confidence, reason."""
        return [group.to_dict() for group in self.groups]

    def unrecognised_rows(self):
        """``{'file', 'reason'}`` for every file no ingestor recognised."""
        return [{"file": item.url, "reason": item.reason} for item in (self.plan.unrecognised if self.plan else [])]

    def ambiguous_rows(self):
        """``{'file', 'candidates'}`` for every file two ingestors claim about equally."""
        return [
            {"file": item.url, "candidates": ", ".join(f"{name} {score:.2f}" for name, score in item.candidates)}
            for item in (self.plan.ambiguous if self.plan else [])
        ]

    def summary(self):
        """One line: how many groups are included, and what was left out."""
        if self.plan is None:
            return "nothing detected yet"
        included = sum(group.include for group in self.groups)
        return (
            f"{included} of {len(self.groups)} run(s) included; "
            f"{len(self.plan.unrecognised)} file(s) unrecognised, {len(self.plan.ambiguous)} ambiguous"
        )

    # -- the user's edits ---------------------------------------------------------

    def group(self, group_id):
        for group in self.groups:
            if group.group == group_id:
                return group
        raise KeyError(f"no group {group_id!r}; groups are {[group.group for group in self.groups]}")

    def ingestor_choices(self, group_id):
        """The ingestors a group can be given: its candidates first, then every other registered one."""
        candidates = [name for name, _ in self.group(group_id).candidates]
        return candidates + [name for name in ingestor_names() if name not in candidates]

    def set_ingestor(self, group_id, name):
        """Read a group with another registered ingestor (its candidates, or any other)."""
        get_spec(name)  # UnknownIngestorError, naming the registered ones, if there is none
        self.group(group_id).ingestor = name

    def set_included(self, group_id, include=True):
        """Include a group in the selected plan, or exclude it."""
        self.group(group_id).include = bool(include)

    def exclude(self, group_id):
        self.set_included(group_id, False)

    def choose_for_file(self, url, name):
        """Make a group of one file detection left out (ambiguous or unrecognised), read by ``name``.

        Returns
        -------
        int
            The new group's id.
        """
        from ..detect import PlannedRun

        get_spec(name)
        if self.plan is None:
            raise ValueError("detect first")
        source = next((source for source in self.plan.files if source.url == url), None)
        if source is None:
            raise KeyError(f"{url} was not among the detected files")
        self.plan.ambiguous = [item for item in self.plan.ambiguous if item.url != url]
        self.plan.unrecognised = [item for item in self.plan.unrecognised if item.url != url]
        candidates = self.candidates_for(source)
        run = PlannedRun(name, [source], {}, dict(candidates).get(name, 0.0), f"chosen by the user: {name}")
        group_id = max((group.group for group in self.groups), default=-1) + 1
        self.groups.append(GroupRow(group_id, run, name, candidates))
        return group_id

    # -- the result --------------------------------------------------------------

    def selected_plan(self):
        """A :class:`~intake_ingest.detect.Plan` of the included groups, with the chosen ingestors.

        A group whose ingestor the user changed is planned again the way the new
        ingestor groups files: one run per file for an ingestor that reads single files,
        one run per scan for one that lists the runs in a file (SPEC). Runs that come
        out the same twice (the scans of one file, all given to a single-run ingestor)
        are listed once. The plan's ``files`` are all the files detection saw, so a
        catalog spec written from it uses globs only where they match nothing left out.
        """
        from ..detect import Plan

        plan = Plan(
            unrecognised=list(self.plan.unrecognised) if self.plan else [],
            ambiguous=list(self.plan.ambiguous) if self.plan else [],
            files=list(self.plan.files) if self.plan else [],
        )
        seen = set()
        for group in self.groups:
            if not group.include:
                continue
            for run in _replanned(group):
                key = (run.ingestor, tuple(source.identity for source in run.files), repr(sorted(run.kwargs.items())))
                if key not in seen:
                    seen.add(key)
                    plan.runs.append(run)
        return plan

    def save_catalog(self, path):
        """Write the selected plan as a YAML catalog spec, as ``intake-ingest catalog -o`` does.

        Returns
        -------
        dict
            The spec written.
        """
        from ..detect.catalog_spec import write_catalog_spec

        plan = self.selected_plan()
        if not plan.runs:
            raise ValueError("no runs are included: nothing to write")
        return write_catalog_spec(plan, os.fspath(path))


def _replanned(group):
    """The planned runs of a group read with its chosen ingestor."""
    from ..detect import PlannedRun

    run = group.run
    if not group.changed:
        return [run]
    spec = get_spec(group.ingestor)
    if spec.grouping == "file" and len(run.files) > 1:
        parts = [[source] for source in run.files]
    else:
        parts = [list(run.files)]
    runs = []
    for files in parts:
        per_run = [{}]
        if spec.runs_in is not None and len(files) == 1:
            try:
                per_run = spec.runs_in(files[0]) or [{}]
            except IngestError:
                per_run = [{}]  # ingesting will say what is wrong, naming the file
        runs.extend(
            PlannedRun(group.ingestor, files, dict(kwargs), group.confidence, group.reason, list(run.companions))
            for kwargs in per_run
        )
    return runs
