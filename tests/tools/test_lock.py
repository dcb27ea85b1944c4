"""The lock and the layer's requirements say what their sources say (`make lock` writes both).

Offline checks on the files: every requirement of layers/common/pyproject.toml (extras included) and
requirements-dev.txt is locked at a version its bounds allow, with hashes, and nothing is locked as a
top-level requirement that the sources no longer name; the layer pins exactly the lock's versions and
hashes, the package's runtime dependencies and nothing that only development or migrations need. When uv
and its cache are at hand, both files are also regenerated offline into a temporary directory, by the
Makefile's own commands, and must come out identical.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "layers/common/pyproject.toml"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
LOCK = ROOT / "requirements/dev.lock"
LAYER = ROOT / "layers/common/requirements.txt"
MIGRATE = ROOT / "functions/migrate/requirements.txt"  # the migration function's alembic

# What `via` says for a requirement named by a source itself (uv's annotations).
PYPROJECT_VIA = "oss-tldr-common (layers/common/pyproject.toml)"
DEV_VIA = "-r requirements-dev.txt"

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)
_HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


@dataclass
class Pin:
    version: str
    marker: str | None
    hashes: set[str] = field(default_factory=set)
    via: set[str] = field(default_factory=set)


def parse_lock(path: Path) -> dict[str, list[Pin]]:
    pins: dict[str, list[Pin]] = {}
    current: Pin | None = None
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if match := _PIN.match(line):
            current = Pin(match["version"], match["marker"])
            pins.setdefault(canonicalize_name(match["name"]), []).append(current)
            continue
        assert current is not None and line.startswith("    "), f"{path.name}: unexpected line {line!r}"
        if hashed := _HASH.search(line):
            current.hashes.add(hashed[1])
        elif line.strip().startswith("# via"):
            rest = line.strip().removeprefix("# via").strip()
            if rest:
                current.via.add(rest)
        elif line.strip().startswith("#   "):
            current.via.add(line.strip().removeprefix("#").strip())
        else:
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    return pins


def _pyproject() -> dict[str, list[Requirement]]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    groups = {"runtime": [Requirement(r) for r in project["dependencies"]]}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        groups[extra] = [Requirement(r) for r in requirements]
    return groups


def _dev_requirements() -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in DEV_REQUIREMENTS.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def _names(requirements: list[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


def _assert_locked(requirements: list[Requirement], pins: dict[str, list[Pin]], where: str) -> None:
    for requirement in requirements:
        locked = pins.get(canonicalize_name(requirement.name))
        assert locked, f"{requirement} ({where}) is not in {LOCK.name}: run `make lock`"
        for pin in locked:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{LOCK.name} pins {requirement.name}=={pin.version}, outside {requirement} ({where}): "
                "run `make lock`"
            )


def test_every_requirement_of_the_sources_is_locked_within_its_bounds_with_hashes() -> None:
    pins = parse_lock(LOCK)
    for group, requirements in _pyproject().items():
        _assert_locked(requirements, pins, f"pyproject.toml {group}")
    _assert_locked(_dev_requirements(), pins, "requirements-dev.txt")
    unhashed = sorted(name for name, entries in pins.items() if any(not pin.hashes for pin in entries))
    assert not unhashed, f"locked without hashes: {unhashed}"


def test_the_lock_names_as_top_level_only_what_the_sources_name() -> None:
    pins = parse_lock(LOCK)
    from_pyproject = {name for name, entries in pins.items() if any(PYPROJECT_VIA in p.via for p in entries)}
    from_dev = {name for name, entries in pins.items() if any(DEV_VIA in p.via for p in entries)}
    assert from_pyproject == set().union(*map(_names, _pyproject().values())), "run `make lock`"
    assert from_dev == _names(_dev_requirements()), "run `make lock`"


def test_the_layer_ships_the_locked_versions_of_the_runtime_dependencies_only() -> None:
    lock, layer = parse_lock(LOCK), parse_lock(LAYER)
    for name, entries in layer.items():
        assert len(entries) == 1, f"{LAYER.name}: {name} is pinned more than once"
        (pin,) = entries
        assert pin.marker is None, f"{LAYER.name}: {name} has a marker; the layer is for one platform"
        locked = {p.version: p for p in lock.get(name, [])}
        assert pin.version in locked, f"{LAYER.name} ships {name}=={pin.version}, tests ran {sorted(locked)}"
        assert pin.hashes and pin.hashes <= locked[pin.version].hashes, f"{name}: hashes differ from the lock"

    groups = _pyproject()
    missing = _names(groups["runtime"]) - set(layer)
    assert not missing, f"runtime dependencies missing from {LAYER.name}: {sorted(missing)}"
    extras = (_names(requirements) for group, requirements in groups.items() if group != "runtime")
    dev_only = set().union(*extras, _names(_dev_requirements()))
    dev_only |= {"mako", "markupsafe"}  # alembic's templates
    shipped = sorted(dev_only & set(layer))
    assert not shipped, f"{LAYER.name} ships what only development or migrations need: {shipped}"


def _uv() -> str:
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            pytest.skip("uv is not installed in this environment (make install puts it in .venv)")
        return found
    return str(find_uv_bin())


def _make_lock_commands() -> list[list[str]]:
    """The three `uv pip compile` lines of the Makefile's lock target, as make would run them."""
    make = shutil.which("make") or "make"
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    out = subprocess.run(  # noqa: S603 - the project's own Makefile
        [make, "-s", "-n", "-o", ".venv/.installed", "lock", "BIN=.venv/bin"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    joined = out.replace("\\\n", " ")
    return [shlex.split(line) for line in joined.splitlines() if " pip compile " in line]


def test_the_lock_regenerates_identically_offline(tmp_path: Path) -> None:
    uv = _uv()
    commands = _make_lock_commands()
    assert len(commands) == 3, commands
    outputs = {
        str(LOCK.relative_to(ROOT)): tmp_path / "dev.lock",
        str(LAYER.relative_to(ROOT)): tmp_path / "layer.txt",
        str(MIGRATE.relative_to(ROOT)): tmp_path / "migrate.txt",
    }
    for command in commands:
        target = command[command.index("-o") + 1]
        shutil.copy(ROOT / target, outputs[target])  # the current pins are the preferences, as in `make lock`
        command = [uv, *command[1:]]
        command[command.index("-o") + 1] = str(outputs[target])
        result = subprocess.run(  # noqa: S603 - uv, with the Makefile's own arguments
            [*command, "--offline"], cwd=ROOT, capture_output=True, text=True
        )
        if result.returncode != 0:
            pytest.skip(f"uv cannot resolve offline here (no cache of a `make lock`): {result.stderr[-300:]}")
    assert outputs[str(LOCK.relative_to(ROOT))].read_text() == LOCK.read_text(), "run `make lock`"
    assert outputs[str(LAYER.relative_to(ROOT))].read_text() == LAYER.read_text(), "run `make lock`"
    assert outputs[str(MIGRATE.relative_to(ROOT))].read_text() == MIGRATE.read_text(), "run `make lock`"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from package import module
    return names


def test_the_migration_function_ships_the_locked_alembic_and_nothing_the_layer_lacks_besides() -> None:
    """functions/migrate/requirements.txt: alembic and what it needs, at the lock's versions and hashes;
    beyond alembic and its templates (mako, markupsafe) only what the layer ships at the same version."""
    lock, migrate, layer = parse_lock(LOCK), parse_lock(MIGRATE), parse_lock(LAYER)
    assert "alembic" in migrate
    for name, (pin,) in migrate.items():
        locked = {p.version: p for p in lock.get(name, [])}
        assert pin.version in locked, f"{MIGRATE.name}: {name}=={pin.version}, tests ran {sorted(locked)}"
        assert pin.hashes and pin.hashes <= locked[pin.version].hashes, f"{name}: hashes differ from the lock"
        if name not in {"alembic", "mako", "markupsafe"}:
            assert [p.version for p in layer[name]] == [pin.version], f"{name}: not the layer's version"


def test_no_function_reaches_alembic_which_the_layer_does_not_ship() -> None:
    """Only the migration modules import alembic, and no function but the migration function (which ships
    alembic itself, functions/migrate/requirements.txt) nor other layer module imports them."""
    migration_modules = {
        "oss_tldr.db.migrate",
        "oss_tldr.db.migration_helpers",
        "oss_tldr.maintenance.migration",
    }
    layer = ROOT / "layers/common"
    shipping_alembic = ROOT / "functions/migrate"
    for path in sorted(
        [*layer.joinpath("oss_tldr").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]
    ):
        if path.is_relative_to(shipping_alembic):
            continue
        module = ".".join(
            path.relative_to(layer if path.is_relative_to(layer) else ROOT).with_suffix("").parts
        )
        if module in migration_modules:
            continue
        imported = _imports(path)
        assert not {n for n in imported if n.split(".")[0] in {"alembic", "mako"}}, (
            f"{module} imports alembic"
        )
        assert not imported & migration_modules, f"{module} imports a migration module"
