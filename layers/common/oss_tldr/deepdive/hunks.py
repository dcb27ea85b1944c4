"""A unified diff read as hunks: cut to the prompt budget at hunk boundaries, and the facts the offline
explanation is written from."""

from __future__ import annotations

import re
from dataclasses import dataclass

PROMPT_PATCH_CHARS = 12_000  # ≈ 3,000 tokens of a patch in one explanation request
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@ ?(?P<context>.*)$")


@dataclass(frozen=True)
class Excerpt:
    text: str
    hunks_total: int
    hunks_kept: int

    @property
    def cut(self) -> bool:
        return self.hunks_kept < self.hunks_total


def split_hunks(patch: str) -> list[str]:
    """The hunks of ``patch`` (each from its ``@@`` line; text before the first one is a hunk of its own)."""
    hunks: list[list[str]] = []
    for line in patch.splitlines():
        if _HUNK.match(line) or not hunks:
            hunks.append([line])
        else:
            hunks[-1].append(line)
    return ["\n".join(lines) for lines in hunks]


def excerpt(patch: str, budget: int = PROMPT_PATCH_CHARS) -> Excerpt:
    """The whole hunks of ``patch`` that fit in ``budget`` characters, in order. A first hunk larger than the
    budget alone is kept up to its last whole line that fits (it still counts as cut)."""
    hunks = split_hunks(patch)
    kept: list[str] = []
    used = 0
    for hunk in hunks:
        if used + len(hunk) + 1 > budget:
            break
        kept.append(hunk)
        used += len(hunk) + 1
    if not kept and hunks:
        head = hunks[0][:budget]
        cut_at = head.rfind("\n")
        return Excerpt(head[:cut_at] if cut_at > 0 else head, len(hunks), 0)
    return Excerpt("\n".join(kept), len(hunks), len(kept))


@dataclass(frozen=True)
class PatchFacts:
    added: int
    removed: int
    hunks: int
    contexts: tuple[str, ...]  # the enclosing definitions git names in the hunk headers, in order, once each


def facts(patch: str) -> PatchFacts:
    added = removed = 0
    contexts: list[str] = []
    hunks = 0
    for line in patch.splitlines():
        match = _HUNK.match(line)
        if match:
            hunks += 1
            context = match["context"].strip()
            if context and context not in contexts:
                contexts.append(context[:80])
        elif line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return PatchFacts(added, removed, hunks, tuple(contexts))
