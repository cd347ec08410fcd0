"""The Dockerfile's install steps, run outside Docker: a wheel built from what the
Dockerfile copies out of a clean `git archive`, installed into a fresh venv.

The dependencies are not downloaded again: the fresh venv installs Herald's wheel
with `--no-deps` (as the Dockerfile does) and borrows the test environment's
packages, which `tasks.py` installed from the same lock with `--require-hashes`;
the test checks that they are exactly the locked versions.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
from importlib import metadata
from pathlib import Path

from tests.test_locks import ROOT, locked, markers_apply

RUNTIME_LOCK = "requirements.lock"


def git(*args: str) -> bytes:
    # `stash create` writes a commit object, which needs a name even where none is configured.
    command = ["git", "-c", "user.name=Herald tests", "-c", "user.email=tests@localhost", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, check=True).stdout


def archive(into: Path) -> None:
    """The tracked files as `git archive` gives them, uncommitted edits to them included."""
    tree = git("stash", "create").strip() or b"HEAD"
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", tree.decode()))) as tar:
        tar.extractall(into, filter="data")


def dockerfile_steps() -> tuple[list[tuple[list[str], str]], list[str]]:
    """The Dockerfile's COPY steps (sources, destination) and RUN commands."""
    copies, runs = [], []
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["COPY"]:
            copies.append((words[1:-1], words[-1]))
        elif words[:1] == ["RUN"]:
            runs.append(" ".join(words[1:]))
    return copies, runs


def test_the_dockerfile_installs_the_locked_dependencies_then_herald_alone() -> None:
    _, runs = dockerfile_steps()
    assert f"pip install --require-hashes -r {RUNTIME_LOCK}" in runs
    # The last step compiles the translation catalogs, then installs Herald alone.
    assert runs[-1].split(" && ")[-1] == "pip install --no-deps ."


def test_the_test_environment_holds_exactly_the_locked_versions() -> None:
    for name, (version, marker) in locked("requirements-dev.lock").items():
        if markers_apply(marker):
            assert metadata.version(name) == version, name


def test_a_wheel_from_a_clean_archive_installs_and_runs_in_a_fresh_venv(tmp_path: Path) -> None:
    source, context, dist, fresh = (tmp_path / d for d in ("source", "context", "dist", "fresh"))
    archive(source)
    copies, _ = dockerfile_steps()
    for sources, destination in copies:
        for name in sources:
            target = (
                context / destination / name if destination.endswith("/") else context / destination
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            copy = shutil.copytree if (source / name).is_dir() else shutil.copy2
            copy(source / name, target)

    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    wheel = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist)]
    subprocess.run([*wheel, str(context)], check=True, timeout=120)
    (built,) = dist.glob("herald-*.whl")

    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    install = [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(built)]
    subprocess.run(install, check=True, timeout=120)
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # The test environment's packages, after the fresh venv's own: a path in a .pth file
    # adds that directory only, so the editable Herald installed there stays out of sight.
    Path(purelib, "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    workdir = tmp_path / "run"
    workdir.mkdir()
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": "sqlite:///herald.db"}
    where = subprocess.run(
        [python, "-c", "import bot, cogs; print(bot.__file__); print(cogs.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(path.startswith(purelib) for path in where)

    checked = subprocess.run(
        [fresh / "bin" / "herald", "check"],
        cwd=workdir,
        env={**env, "HACKNPLAN_WEBHOOK_SECRET": "x" * 16},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "cogs: hacknplan, subscriptions\n" in checked.stdout
