"""The one template a shared catalog spec may use: ``{{ CATALOG_DIR }}``, by plain substitution.

intake renders every string of a spec with an unsandboxed Jinja environment, where an
expression reaches into Python. This package renders nothing with Jinja: the only
template that exists is ``{{ CATALOG_DIR }}`` (the folder or URL of the spec file), it is
allowed only in an entry's ``args``, and it is replaced as text. Any other ``{{ }}``,
``{% %}`` or ``{# #}`` anywhere in a spec, keys included, is refused, so that neither this
package nor another reader of the same file (plain ``intake.open_catalog``) renders it.
"""

import re

from .spec_errors import Problem

__all__ = ["CATALOG_DIR_TEMPLATE", "render", "template_problems"]

CATALOG_DIR_TEMPLATE = re.compile(r"{{\s*CATALOG_DIR\s*}}")
_JINJA_OPENERS = ("{{", "{%", "{#")


def _strings(value, where):
    """Every string of a parsed spec value, keys included, with its path in the spec."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            key_where = f"{where}.{key}" if where else str(key)
            if isinstance(key, str):
                yield f"{key_where} (key)", key
            yield from _strings(item, key_where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")


def template_problems(spec):
    """Every template other than ``{{ CATALOG_DIR }}`` in an entry's ``args``, by path.

    Parameters
    ----------
    spec : object
        The parsed spec (plain values only, from :func:`.spec_loader.parse_spec`).

    Returns
    -------
    list of Problem
    """
    in_args, elsewhere = [], []
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "sources" and isinstance(value, dict):
                elsewhere += _strings(list(value), "sources (entry names)")
                for name, entry in value.items():
                    for entry_key, item in entry.items() if isinstance(entry, dict) else ():
                        where = f"sources.{name}.{entry_key}"
                        elsewhere += [(f"{where} (key)", entry_key)] if isinstance(entry_key, str) else []
                        (in_args if entry_key == "args" else elsewhere).extend(_strings(item, where))
                    if not isinstance(entry, dict):
                        elsewhere += _strings(entry, f"sources.{name}")
            else:
                elsewhere += [(f"{key} (key)", key)] if isinstance(key, str) else []
                elsewhere += _strings(value, str(key))
    else:
        elsewhere += _strings(spec, "catalog")
    problems = []
    for where, text in in_args:
        if any(opener in CATALOG_DIR_TEMPLATE.sub("", text) for opener in _JINJA_OPENERS):
            reason = (f"template in {text!r} is not {{{{ CATALOG_DIR }}}}, the only template a "
                      "shared spec may use (nothing else is rendered)")
            problems.append(Problem(where, reason))
    for where, text in elsewhere:
        if any(opener in text for opener in _JINJA_OPENERS):
            reason = (f"{text!r} holds a template; templates ({{{{ CATALOG_DIR }}}} only) are "
                      "allowed only in an entry's args")
            problems.append(Problem(where, reason))
    return problems


def render(value, catalog_dir):
    """``value`` with ``{{ CATALOG_DIR }}`` replaced by ``catalog_dir`` in every string.

    Parameters
    ----------
    value : object
        Plain values (strings, numbers, lists, mappings) already checked by
        :func:`template_problems`.
    catalog_dir : str
        The folder or URL of the spec file, without a trailing slash.
    """
    if isinstance(value, str):
        return CATALOG_DIR_TEMPLATE.sub(lambda match: catalog_dir, value)
    if isinstance(value, dict):
        return {key: render(item, catalog_dir) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, catalog_dir) for item in value]
    return value
