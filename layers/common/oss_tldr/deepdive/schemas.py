"""The deep dive's HTTP shapes: exactly what the SPA sends and reads (docs/api.md, "Deep dive")."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from oss_tldr.deepdive.models import MAX_FILE_CHARS, MAX_PATCH_CHARS, NUMBER_PATTERN
from oss_tldr.repo_refs import REPO_REF_DOC

NUMBER_DOC = {
    "pattern": NUMBER_PATTERN,
    "description": 'The issue or pull request number, as a string (the SPA sends "123"): 1 to 2147483647, '
    "else 400 invalid_number.",
    "examples": ["123"],
}
RepoUrl = Annotated[StrictStr, Field(json_schema_extra=REPO_REF_DOC)]
Number = Annotated[StrictStr, Field(min_length=1, max_length=10, json_schema_extra=NUMBER_DOC)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PatchesRequest(_Request):
    repo_url: RepoUrl
    pull_request: Number


class FilePatchOut(BaseModel):
    file: str
    patch: str = Field(description="The unified diff hunks; empty for a file GitHub shows without one.")


class PatchesResponse(BaseModel):
    patches: list[FilePatchOut]


class DiffRequest(_Request):
    file: Annotated[StrictStr, Field(max_length=MAX_FILE_CHARS)]
    patch: Annotated[
        StrictStr,
        Field(max_length=MAX_PATCH_CHARS, description="A patch exactly as POST /patches returned it."),
    ]


class DiffResponse(BaseModel):
    explanation: str = Field(description="At most 50 words.")


class DeepDiveRequest(_Request):
    repo_url: RepoUrl
    issue: Number
