"""Text headed for PostgreSQL, cleaned of what it cannot store.

PostgreSQL ``text`` and ``jsonb`` refuse the NUL character (``\\u0000``), and UTF-8 cannot encode a lone
UTF-16 surrogate (``\\ud800``, which ``json.loads`` happily produces from ``"\\ud800"``). Either one in a
GitHub title, a model answer or an imported report made the write fail after the work was done. Every
string that comes from outside and is stored goes through :func:`pg_text` (one string) or :func:`pg_json`
(a JSON value, keys included) at the boundary where it is parsed or written.
"""

from __future__ import annotations

import re
from typing import Any

# NUL, and the surrogate code points (only ever lone in a Python str: a valid pair is one code point).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def has_unstorable(value: str) -> bool:
    return _UNSTORABLE.search(value) is not None


def pg_text(value: str) -> str:
    """``value`` without NUL (dropped) and with each lone surrogate replaced by U+FFFD."""
    if not has_unstorable(value):
        return value
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, value)


def pg_json(value: Any) -> Any:
    """A copy of a JSON value (dicts, lists, scalars) with every string, keys too, :func:`pg_text`."""
    if isinstance(value, str):
        return pg_text(value)
    if isinstance(value, dict):
        return {pg_text(str(k)): pg_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pg_json(v) for v in value]
    return value
