"""Logging a database error without the values it carries.

The engine hides bound parameters (``hide_parameters=True``), but a DBAPI error's *message* still quotes
values (``Key (id)=(...)``, ``invalid input syntax for type bigint: "..."``) and a traceback prints it. So
a failure caused by the database is logged as its error class, SQLSTATE, the SQL with placeholders and our
frames that ran it — never with ``logger.exception``. Every code path that logs an unexpected exception
uses :func:`log_exception`.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

from sqlalchemy.exc import DBAPIError

from oss_tldr.observability import logger

_OUR_CODE = re.compile(r"[/\\](?:oss_tldr|functions)[/\\]")


def primary_message(exc: BaseException) -> str | None:
    """The driver's primary message of a database error (``diag.message_primary``: no SQL, no parameters),
    or None for anything else."""
    return getattr(getattr(getattr(exc, "orig", None), "diag", None), "message_primary", None)


def database_error_fields(exc: DBAPIError) -> dict[str, Any]:
    """What a log may say about a failed statement (not its message, which quotes values)."""
    orig = exc.orig
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames if _OUR_CODE.search(f.filename)
    ]
    return {
        "error": type(orig).__name__ if orig is not None else type(exc).__name__,
        "sqlstate": getattr(orig, "sqlstate", None),
        "statement": (exc.statement or "")[:2000],
        "frames": ours[-10:],
    }


def database_cause(exc: BaseException) -> DBAPIError | None:
    """The database error ``exc`` was raised from (its ``__cause__``/``__context__`` chain), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DBAPIError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def log_exception(message: str, exc: BaseException, **extra: Any) -> None:
    """``logger.exception`` for an unexpected error, unless the database caused it: then the safe fields."""
    cause = database_cause(exc)
    if cause is None:
        logger.exception(message, extra=extra)
    else:
        logger.error(
            message, extra={**extra, "exception": type(exc).__name__, **database_error_fields(cause)}
        )
