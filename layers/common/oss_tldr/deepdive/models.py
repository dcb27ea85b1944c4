"""The deep dive's value types and bounds."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

EXPLANATION_WORDS = 50
MAX_FILE_CHARS = 1024  # the longest file path accepted from a client (GitHub's are shorter)
MAX_PATCH_CHARS = 200_000  # a longer patch was never served (github.threads.MAX_PATCH_CHARS)
# What a deep-dive request body may weigh: a patch of MAX_PATCH_CHARS, JSON-escaped (at most 6 bytes a
# character for control characters, far fewer in practice), under Lambda's 6 MB.
MAX_BODY_BYTES = 2 * 1024 * 1024
# 1 to 2^31-1 (a Postgres integer, as GitHub's numbers), as a pattern: what the OpenAPI description says and
# what the logic accepts (deepdive.service.parse_number).
NUMBER_PATTERN = (
    r"^(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$"
)
# What the patches of one /patches answer may weigh, encoded as the Lambda response carries them (the JSON
# body, itself a JSON string of the envelope): under Lambda's 6 MB with room for the file names and headers.
# The files past it are listed without their patch, like GitHub's own huge files.
MAX_PATCHES_RESPONSE_BYTES = 5 * 1024 * 1024
NO_PATCH = ""  # the patch text of a file GitHub shows without a line diff (binary, huge, renamed as is)
NO_PATCH_EXPLANATION = (
    "GitHub shows no line diff for this file (a binary file, a rename without changes, or a diff too large "
    "to display)."
)


def patch_hash(patch: str) -> str:
    """The content hash a patch is known by (SHA-256 of its UTF-8 text)."""
    return hashlib.sha256(patch.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Patch:
    file: str
    patch: str  # NO_PATCH when GitHub gave none


@dataclass(frozen=True)
class PatchSource:
    """Where a served patch came from: its file, its repository and whether the caller may see it."""

    file: str
    repository_id: int
    full_name: str
    owner: str
    name: str
    is_private: bool
    access_ok: bool


@dataclass(frozen=True)
class StoredDeepDive:
    body: str
    item_updated_at: dt.datetime
