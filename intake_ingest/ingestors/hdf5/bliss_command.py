"""The command of a BLISS scan, from its ``title``: scan type, arguments, motors, points.

BLISS titles a scan with the command that ran it, its arguments as the user gave them
(``ascan sy 0 1 10 0.1``, ``a2scan psi -0.1 4 bg1 -0.05 2 410 1``, ``loopscan 10 0.1``).
For the standard step scans of ``bliss.common.scans`` the arguments are named here as
their signatures name them, and the number of points they ask for is derived: a step
scan of ``intervals`` intervals has ``intervals + 1`` points, a mesh the product of its
two. Any other command (``fscan``, ``trigscan``, site macros) keeps its words as
``{'args': [...]}``.
"""

import dataclasses

__all__ = ["SCAN_TYPES", "command_metadata"]


@dataclasses.dataclass(frozen=True)
class _ScanType:
    """The arguments of a standard scan, and which of them name motors or count points."""

    arguments: tuple
    optional: int = 0  # trailing arguments that may be left out
    motor_arguments: tuple = ()
    interval_arguments: tuple = ()  # points = product of (intervals + 1)
    points_argument: str | None = None  # points given directly (loopscan, timescan)


def _motor_scan(n_motors):
    """``ascan motor start stop intervals count_time``, ``a2scan m1 s1 e1 m2 s2 e2 ...``."""
    if n_motors == 1:
        names = ("motor", "start", "stop")
    else:
        names = sum(((f"motor{i}", f"start{i}", f"stop{i}") for i in range(1, n_motors + 1)), ())
    return _ScanType(
        names + ("intervals", "count_time"),
        motor_arguments=names[0::3],
        interval_arguments=("intervals",),
    )


_MESH = _ScanType(
    (
        "motor1", "start1", "stop1", "intervals1",
        "motor2", "start2", "stop2", "intervals2",
        "count_time",
    ),
    motor_arguments=("motor1", "motor2"),
    interval_arguments=("intervals1", "intervals2"),
)

#: The step scans of ``bliss.common.scans`` (step_by_step.py and ct.py), as their
#: signatures name their arguments.
SCAN_TYPES = {
    "ascan": _motor_scan(1),
    "dscan": _motor_scan(1),
    "lineup": _motor_scan(1),
    **{f"{kind}{n}scan": _motor_scan(n) for kind in "ad" for n in range(2, 6)},
    "amesh": _MESH,
    "dmesh": _MESH,
    "loopscan": _ScanType(("npoints", "count_time", "sleep_time"), optional=1, points_argument="npoints"),
    "timescan": _ScanType(("count_time", "npoints"), optional=1, points_argument="npoints"),
    "ct": _ScanType(("count_time",)),
    "sct": _ScanType(("count_time",)),
}
_SINGLE_POINT = ("ct", "sct")


def _argument_value(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _planned_points(scan_type, plan_args, name):
    if name in _SINGLE_POINT:
        return 1
    if scan_type.points_argument:
        points = plan_args.get(scan_type.points_argument)
        # timescan's npoints=0 (the default) runs until stopped: no number planned.
        return points if isinstance(points, int) and points > 0 else None
    if not scan_type.interval_arguments:
        return None
    total = 1
    for argument in scan_type.interval_arguments:
        intervals = plan_args.get(argument)
        if not isinstance(intervals, int) or intervals < 0:
            return None
        total *= intervals + 1
    return total


def command_metadata(title):
    """RunStart keys from a BLISS scan title.

    Parameters
    ----------
    title : str or None

    Returns
    -------
    dict
        ``command`` (the title), ``scan_type`` and ``plan_name`` (its first word),
        ``plan_args`` (named for the standard scans, else ``{'args': [...]}``), and for
        the standard scans ``motors`` and ``num_points`` (the points it asks for) where
        the arguments give them; empty for an empty title.

    Examples
    --------
    >>> command_metadata("ascan sy 0 1 10 0.1")["num_points"]
    11
    """
    words = (title or "").split()
    if not words:
        return {}
    name, args = words[0], words[1:]
    metadata = {"command": " ".join(words), "scan_type": name, "plan_name": name, "plan_args": {"args": args}}
    scan_type = SCAN_TYPES.get(name)
    if scan_type is None or not (
        len(scan_type.arguments) - scan_type.optional <= len(args) <= len(scan_type.arguments)
    ):
        return metadata
    plan_args = {
        argument: text if argument in scan_type.motor_arguments else _argument_value(text)
        for argument, text in zip(scan_type.arguments, args)
    }
    metadata["plan_args"] = plan_args
    if scan_type.motor_arguments:
        metadata["motors"] = [plan_args[argument] for argument in scan_type.motor_arguments]
    points = _planned_points(scan_type, plan_args, name)
    if points is not None:
        metadata["num_points"] = points
    return metadata
