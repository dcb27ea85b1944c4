"""The Makefile is the project's vocabulary: ``make help`` lists every target it has, and the README's first
screen shows the two commands and the offline demo with what to paste next."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = re.compile(r"^([a-z][a-z0-9-]*):", re.MULTILINE)  # rules; variables (`X :=`) do not match


def targets() -> set[str]:
    return set(TARGET.findall((ROOT / "Makefile").read_text()))


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_target():
    make = shutil.which("make")
    assert make is not None
    shown = subprocess.run(  # noqa: S603 - make itself, on our own Makefile
        [make, "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    listed = set(re.findall(r"^\s*make ([a-z][a-z0-9-]*)", shown, re.MULTILINE))
    assert targets() - listed == set(), "targets make help does not list"
    assert listed - targets() == set(), "make help lists targets the Makefile does not have"


def test_every_target_is_phony():
    declared = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert declared is not None
    assert targets() - set(declared[1].split()) == set()


def test_the_readme_first_screen_has_the_two_commands_then_the_offline_demo():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:45])
    dev, test, demo = (first_screen.find(f"make {name}") for name in ("dev", "test", "demo"))
    assert -1 < dev < demo and -1 < test < demo, "make dev and make test come first, then make demo"
    assert "Try it offline" in first_screen
    for pasted in ("DEMO_TOKEN", "DEMO_REPO", "curl", "PORT"):
        assert pasted in first_screen, pasted
