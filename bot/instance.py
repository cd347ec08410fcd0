"""One Herald per SQLite database: an OS lock held for the life of the process.

The lock is `flock` on `<database>.lock`, a file beside the database that
nothing else opens. Not on the database itself: SQLite takes its own POSIX
locks there, and where `flock` is emulated with POSIX locks (NFS) the two
would meet; a separate file keeps them apart. The kernel drops the lock when
the process ends however it ends, `kill -9` included, so a crash never leaves
a stale lock behind, and the file is never deleted (a deleted lock file lets
two processes lock two different files of the same name).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from bot.errors import StartError


class InstanceLocked(StartError):
    """Another process holds the database's lock; `holder` is its pid as it wrote it."""

    def __init__(self, database: Path, holder: str) -> None:
        super().__init__(
            f"another Herald (pid {holder}) is already running on {database};"
            " stop it first, or give this one its own DATABASE_URL"
        )
        self.holder = holder


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def hold_instance_lock(database: Path) -> BinaryIO | None:
    """Lock `database` for this process; the returned file must stay open while it runs.

    Raises `InstanceLocked` naming the process that holds it already. An in-memory
    database needs no lock (None).
    """
    import fcntl  # POSIX only, as running Herald is (signal handlers); `check` needs none

    if str(database) == ":memory:":
        return None
    path = lock_path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+b")
    except OSError as error:
        raise StartError(f"cannot create the lock file {path}: {error}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().decode(errors="replace").strip() or "unknown"
        handle.close()
        raise InstanceLocked(database, holder) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle
