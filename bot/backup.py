"""`python -m bot backup PATH`: a consistent copy of the SQLite database, taken live.

SQLite's online backup API copies every page inside one read transaction, so
the copy is the database as of one instant, every transaction committed by
then included, while Herald (in WAL mode) goes on writing. It takes no instance
lock. The copy is checked, switched out of WAL mode so that it is one
self-contained file, and moved into place only once complete.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 10.0
LIVE_FILES = ("-wal", "-shm", "-journal", ".lock")


class BackupError(Exception):
    """No backup was written; the message says why, in one line."""


def backup(database: Path, target: Path) -> int:
    """Copy `database` to `target` (replacing it); the size of the copy in bytes."""
    if not database.is_file():
        raise BackupError(f"no database at {database} to back up (check DATABASE_URL)")
    live = database.resolve()
    if target.resolve() in {live, *(live.with_name(live.name + end) for end in LIVE_FILES)}:
        raise BackupError(f"{target} is one of the live database's files; name another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(database, partial)
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as error:
        raise BackupError(f"copying {database} to {target} failed: {error}") from error
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def _copy(database: Path, partial: Path) -> None:
    # mode=rw: never create a database where there was none.
    source = sqlite3.connect(
        f"{database.resolve().as_uri()}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS
    )
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise BackupError(f"the copy of {database} does not check out: {verdict}")
        finally:
            copy.close()
    finally:
        source.close()
