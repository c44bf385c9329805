"""What detection found: the runs to make, and the files it could not place, with reasons."""

from dataclasses import dataclass, field

__all__ = ["Ambiguous", "Plan", "PlannedRun", "Unrecognised"]


@dataclass
class PlannedRun:
    """One run to make: which ingestor, from which files, how sure, and why.

    Attributes
    ----------
    ingestor : str
        Registry name of the ingestor.
    files : list of SourceFile
        What the ingestor is given (one file, or a series).
    kwargs : dict
        Extra arguments for the ingestor (``{'scan': '3.1'}`` for one scan of a SPEC file).
    confidence : float
        The sniffer's confidence (the lowest over the files of a series); 1.0 when forced.
    reason : str
        Which sniff matched, or that the user chose the ingestor.
    companions : list of SourceFile
        Files read by the ingestor through the main file (an Eiger master's data files,
        sidecar metadata), listed so that they are not reported as unrecognised.
    """

    ingestor: str
    files: list
    kwargs: dict = field(default_factory=dict)
    confidence: float = 0.0
    reason: str = ""
    companions: list = field(default_factory=list)

    @property
    def argument(self):
        """What to pass the ingestor: the file, or the list of files of a series."""
        return self.files[0] if len(self.files) == 1 else list(self.files)

    def to_dict(self):
        return {
            "ingestor": self.ingestor,
            "files": [source.url for source in self.files],
            "kwargs": dict(self.kwargs),
            "confidence": round(self.confidence, 3),
            "reason": self.reason,
            "companions": [source.url for source in self.companions],
        }


@dataclass
class Unrecognised:
    """A file no ingestor claims, and why."""

    url: str
    reason: str

    def to_dict(self):
        return {"file": self.url, "reason": self.reason}


@dataclass
class Ambiguous:
    """A file two or more ingestors claim about equally: reported, never guessed."""

    url: str
    candidates: list  # of (ingestor name, confidence), best first

    def to_dict(self):
        return {
            "file": self.url,
            "candidates": [{"ingestor": name, "confidence": round(c, 3)} for name, c in self.candidates],
        }


@dataclass
class Plan:
    """The result of :func:`~intake_ingest.detect.detect`: runs, and what was left out."""

    runs: list = field(default_factory=list)
    unrecognised: list = field(default_factory=list)
    ambiguous: list = field(default_factory=list)
    #: Every file detection looked at (SourceFile), placed or not.
    files: list = field(default_factory=list, repr=False)
    #: How many files were sniffed: the files of a numbered series that start like its
    #: first and last file, and are as large, take their verdict unsniffed (0 when the
    #: ingestor was chosen by the user).
    sniffed: int = 0
    #: How many files took the verdict of their series' first and last file unsniffed.
    followed: int = 0
    #: What sniffing found for the first file of each run: identity -> ``[(ingestor,
    #: confidence), ...]`` above zero, best first (what a user picks another ingestor
    #: from; empty when the ingestor was chosen by the user).
    candidates: dict = field(default_factory=dict, repr=False, compare=False)

    def places(self):
        """Where each file ended up: ``{url: [place, ...]}``, a place being ``'run'``,
        ``'companion'``, ``'unrecognised'`` or ``'ambiguous'``.

        Detection puts every file it finds in exactly one place (a file holding several
        runs, such as a SPEC file of many scans, is in each of them as ``'run'``); a
        file with none or two different places is a bug.
        """
        places = {source.url: [] for source in self.files}
        for run in self.runs:
            for source in run.files:
                if "run" not in places.setdefault(source.url, []):
                    places[source.url].append("run")
            for source in run.companions:
                if "companion" not in places.setdefault(source.url, []):
                    places[source.url].append("companion")
        for item in self.unrecognised:
            places.setdefault(item.url, []).append("unrecognised")
        for item in self.ambiguous:
            places.setdefault(item.url, []).append("ambiguous")
        return places

    def to_dict(self):
        """Plain data (for ``--json``): ``{'runs': [...], 'unrecognised': [...], 'ambiguous': [...]}``."""
        return {
            "runs": [run.to_dict() for run in self.runs],
            "unrecognised": [item.to_dict() for item in self.unrecognised],
            "ambiguous": [item.to_dict() for item in self.ambiguous],
        }

    def table(self):
        """A plain-text table: one line per run, then the files left out."""
        lines = [f"{'ingestor':20} {'conf':>5}  {'files':>5}  first file"]
        for run in self.runs:
            extra = "".join(f" {key}={value}" for key, value in run.kwargs.items())
            lines.append(
                f"{run.ingestor:20} {run.confidence:5.2f}  {len(run.files):5d}  {run.files[0].url}{extra}"
            )
        for item in self.ambiguous:
            names = ", ".join(f"{name} {confidence:.2f}" for name, confidence in item.candidates)
            lines.append(f"ambiguous: {item.url} ({names}); choose one with --ingestor")
        for item in self.unrecognised:
            lines.append(f"unrecognised: {item.url} ({item.reason})")
        lines.append(self.sniffing_summary())
        return "\n".join(lines)

    def sniffing_summary(self):
        """One line: how many of the files found were sniffed, e.g. for the command line."""
        line = f"{len(self.files)} file(s) found, {self.sniffed} sniffed"
        if self.followed:
            line += f", {self.followed} like the first and last file of their numbered series"
        return line
