#!/usr/bin/env python3
"""Set up and run Herald, or its whole test suite, with nothing but Python 3.11+.

    python3 tasks.py run [check]   make .venv, install Herald, start it
    python3 tasks.py test [args]   make .venv, install Herald and its test tools,
                                   lint (ruff), type-check bot/ and cogs/ (mypy),
                                   then run every test (args go to pytest)
    python3 tasks.py bench NAME    run a benchmark and print its figures:
                                   ingest, end_to_end, burst, crash, butterstack, chaos,
                                   scale (or all)
    python3 tasks.py lock          rewrite requirements.lock and requirements-dev.lock from
                                   pyproject.toml (after changing a dependency there)
    python3 tasks.py translations extract       collect every message into bot/locales/herald.pot
                                   and add the new ones to each language's .po
    python3 tasks.py translations init LANG     start a catalog for a new language (e.g. it)
    python3 tasks.py translations compile       compile the .po catalogs Herald reads (.mo);
                                   run and test do this themselves

They install into .venv exactly what the lock files pin, hashes checked, then
Herald itself, and reinstall only when pyproject.toml or a lock file changed;
then they compile the translation catalogs that changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# Every transitive dependency, pinned with its hashes: the runtime set, and the runtime
# set plus the test tools (the `dev` extra).
LOCKS = {"": "requirements.lock", "dev": "requirements-dev.lock"}


def ensure_environment(extras: str) -> None:
    """Create .venv and install the project (with `extras`) unless already done."""
    if sys.version_info < (3, 11):
        sys.exit(f"Herald needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    inputs = ["pyproject.toml", *LOCKS.values()]
    digest = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in inputs)).hexdigest()
    digest = digest[:16]
    done = {
        p.name.removeprefix(f".installed-{digest}-") for p in VENV.glob(f".installed-{digest}-*")
    }
    # The dev install includes the plain one: running after testing needs nothing new.
    if extras in done or (not extras and "dev" in done):
        return
    print(f"installing {LOCKS[extras]} and Herald into .venv ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--require-hashes", "-r", LOCKS[extras]], cwd=ROOT, check=True)
    subprocess.run([*pip, "--no-deps", "--editable", "."], cwd=ROOT, check=True)
    for old in VENV.glob(".installed-*"):
        if not old.name.startswith(f".installed-{digest}-"):
            old.unlink()
    (VENV / f".installed-{digest}-{extras}").touch()


LOCALES = ROOT / "bot" / "locales"
TEMPLATE = LOCALES / "herald.pot"


def pybabel(*args: str) -> int:
    return subprocess.call([str(PYTHON), "-m", "babel.messages.frontend", *args], cwd=ROOT)


def compile_catalogs() -> int:
    """Compile each language's .po into the .mo Herald reads, where the .po is newer."""
    for source in sorted(LOCALES.glob("*/LC_MESSAGES/herald.po")):
        compiled = source.with_suffix(".mo")
        if compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime:
            continue
        language = source.parent.parent.name
        if pybabel("-q", "compile", "-D", "herald", "-d", str(LOCALES), "-l", language):
            return 1
    return 0


def prepare(extras: str) -> None:
    """The environment installed and the catalogs compiled: ready to run Herald."""
    ensure_environment(extras)
    if compile_catalogs():
        sys.exit("compiling the translation catalogs failed")


def translations(args: list[str]) -> int:
    """Extract messages from the source, start a language, or compile the catalogs."""
    ensure_environment("")
    if args[:1] == ["extract"]:
        extract = ["extract", "-F", "babel.cfg", "-k", "N_", "-k", "_n:1,2", "--no-location"]
        extract += ["--sort-output", "--project", "Herald", "-o", str(TEMPLATE), "bot", "cogs"]
        if pybabel(*extract):
            return 1
        update = ["update", "-D", "herald", "-i", str(TEMPLATE), "-d", str(LOCALES)]
        return pybabel(*update, "--no-fuzzy-matching", "--ignore-obsolete")
    if args[:1] == ["init"] and len(args) == 2:
        return pybabel(
            "init", "-D", "herald", "-i", str(TEMPLATE), "-d", str(LOCALES), "-l", args[1]
        )
    if args == ["compile"]:
        return compile_catalogs()
    print("usage: python3 tasks.py translations {extract,init LANG,compile}")
    return 2


def run(args: list[str]) -> int:
    prepare("")
    return subprocess.call([str(PYTHON), "-m", "bot", *args], cwd=Path.cwd())


def test(args: list[str]) -> int:
    prepare("dev")
    # mypy reads its settings (strict, over bot/ and cogs/) from pyproject.toml.
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        if subprocess.call([str(PYTHON), "-m", *check], cwd=ROOT) != 0:
            return 1
    return subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)


BENCHMARKS = ("ingest", "end_to_end", "burst", "crash", "butterstack", "chaos", "scale")


def bench(args: list[str]) -> int:
    names = BENCHMARKS if args == ["all"] else args
    if not names or any(name not in BENCHMARKS for name in names):
        print(f"usage: python3 tasks.py bench {{{','.join(BENCHMARKS)},all}}")
        return 2
    prepare("dev")
    for name in names:
        if subprocess.call([str(PYTHON), "-m", f"bench.{name}"], cwd=ROOT) != 0:
            return 1
    return 0


def lock(args: list[str]) -> int:
    """Resolve pyproject.toml's dependencies afresh (for Python 3.11, every platform)."""
    ensure_environment("dev")
    for extras, output in LOCKS.items():
        command = [str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--quiet"]
        command += ["--universal", "--python-version", "3.11", "--generate-hashes"]
        command += ["--custom-compile-command", "python3 tasks.py lock", "-o", output]
        if extras:
            command += ["--extra", extras]
        if subprocess.call([*command, *args], cwd=ROOT) != 0:
            return 1
    return 0


def main() -> int:
    tasks = {"run": run, "test": test, "bench": bench, "lock": lock, "translations": translations}
    if len(sys.argv) < 2 or sys.argv[1] not in tasks:
        print(__doc__)
        return 2
    return tasks[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
