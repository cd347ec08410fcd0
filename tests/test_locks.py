"""The lock files pin what pyproject.toml asks for, every entry with its hashes.

pyproject.toml names the direct dependencies; `python3 tasks.py lock` resolves
them into requirements.lock (runtime) and requirements-dev.lock (runtime and the
`dev` extra). A dependency changed in pyproject.toml without running it fails here.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.markers import Marker  # pytest's own dependency

ROOT = Path(__file__).resolve().parent.parent
ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([^\s;]+))?")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: str) -> dict[str, tuple[str, str | None]]:
    """The lock's entries: name -> (version, environment marker or None)."""
    entries: dict[str, tuple[str, str | None]] = {}
    lines = (ROOT / lock).read_text().splitlines()
    for number, line in enumerate(lines):
        match = ENTRY.match(line)
        if match:
            name, version, marker = match.groups()
            assert lines[number + 1].strip().startswith("--hash=sha256:"), f"{name} has no hash"
            entries[normalized(name)] = (version, marker)
    return entries


def direct(extra: str | None = None) -> dict[str, str | None]:
    """pyproject.toml's direct dependencies (or an extra's): name -> pinned version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["optional-dependencies"][extra] if extra else project["dependencies"]
    pins: dict[str, str | None] = {}
    for requirement in wanted:
        match = PINNED.match(requirement)
        assert match, requirement
        pins[normalized(match[1])] = match[2]
    return pins


def markers_apply(marker: str | None) -> bool:
    """Whether a lock entry's environment marker holds for this interpreter."""
    return marker is None or Marker(marker).evaluate()


def test_the_locks_pin_pyprojects_direct_dependencies_at_their_versions() -> None:
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    for lock, wanted in ((runtime, direct()), (dev, {**direct(), **direct("dev")})):
        for name, version in wanted.items():
            assert name in lock, f"{name} is not locked: run python3 tasks.py lock"
            if version is not None:
                assert lock[name][0] == version, f"{name}: run python3 tasks.py lock"
    for name, entry in runtime.items():
        assert dev.get(name) == entry, f"{name} differs between the two locks"


def test_the_locks_say_how_to_regenerate_them() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert "#    python3 tasks.py lock\n" in (ROOT / lock).read_text()
