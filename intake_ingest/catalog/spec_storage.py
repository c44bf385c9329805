"""The fsspec storage options a shared catalog spec may set, per protocol.

Only options that change how files are *read* are allowed, and only plain values:
no cache storage paths or caching layers (an fsspec caching filesystem writes the
"cached" file where its options say: a ``.pth`` file in site-packages runs at the next
Python start), no options that write (``auto_mkdir``, ``mode``), no other filesystems
(``target_protocol``, ``fo``, ``remote_protocol``), no endpoints (``endpoint_url``
would send the user's credentials elsewhere), no client objects. Options the *user*
passes to :func:`~intake_ingest.open_catalog` are the user's, and reach the entries
that read inside the spec's folder.
"""

__all__ = ["SAFE_STORAGE_OPTIONS", "storage_option_problems"]

#: Per protocol, the option names a spec may set, with the types of their values.
SAFE_STORAGE_OPTIONS = {
    "file": {},
    "memory": {},
    "http": {"block_size": int, "simple_links": bool, "same_scheme": bool},
    "https": {"block_size": int, "simple_links": bool, "same_scheme": bool},
    "s3": {"anon": bool, "requester_pays": bool, "default_block_size": int},
    "gcs": {"requester_pays": bool, "default_block_size": int},
}


def storage_option_problems(where, options, protocols):
    """Why ``options`` may not be used for files on ``protocols``; empty if they may.

    Parameters
    ----------
    where : str
        The path of the options in the spec.
    options : object
        The parsed ``storage_options`` value.
    protocols : set of str
        The protocols of the entry's paths (``'file'`` for local files).

    Returns
    -------
    list of Problem
    """
    from .spec_errors import Problem

    if options is None:
        return []
    if not isinstance(options, dict):
        return [Problem(where, f"must be a mapping of option names to values, not {type(options).__name__}")]
    allowed = None
    for protocol in protocols:
        names = SAFE_STORAGE_OPTIONS.get(protocol, {})
        allowed = dict(names) if allowed is None else {k: v for k, v in allowed.items() if k in names}
    allowed = allowed or {}
    problems = []
    for name, value in options.items():
        if name not in allowed:
            accepted = ", ".join(sorted(allowed)) or "none"
            problems.append(Problem(
                f"{where}.{name}",
                f"storage option {name!r} is not one a shared spec may set for "
                f"{'/'.join(sorted(protocols)) or 'these'} files (accepted: {accepted}); "
                "pass it yourself to open_catalog if you trust it"))
        elif not isinstance(value, allowed[name]) or (allowed[name] is int and isinstance(value, bool)):
            problems.append(Problem(f"{where}.{name}", f"must be a {allowed[name].__name__}, not {value!r}"))
    return problems
