"""A real PostgreSQL for the tests: an existing server, or a throwaway cluster.

HERALD_TEST_POSTGRES_URL names an existing server (its user needs CREATEDB); otherwise
the first test that asks for PostgreSQL starts a cluster from the machine's server
binaries (the newest /usr/lib/postgresql/*/bin, else initdb on PATH): initdb into a
temporary directory, then pg_ctl start listening on 127.0.0.1 only, a free port, its
socket in that directory, fsync off, a random password for TCP. Run as root, both run
as the `postgres` OS user (PostgreSQL refuses root).

With pytest-xdist, every worker shares that one cluster: the controller makes the
directory, the first worker to need the server starts it under a file lock, and the
controller stops and deletes it when the run ends, passing or failing. Each worker has
its own database (`postgres_url`); a test that needs an empty one of its own creates it
from template0 (`fresh_postgres_url`, `new_postgres_database`) and it is dropped after.

Without binaries the PostgreSQL tests skip with the reason, except under CI=true,
where they fail.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import asyncpg
import pytest

EXTERNAL_URL = os.environ.get("HERALD_TEST_POSTGRES_URL")
RUN_DIR = pytest.StashKey[Path]()
WORKER_INPUT = "herald_postgres_dir"
USER = "herald"
START_ATTEMPTS = 3  # a free port can be taken by someone else before the server binds it
_numbers = itertools.count(1)

NewDatabase = Callable[[], Awaitable[str]]
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is None:
        config.stash[RUN_DIR] = Path(tempfile.mkdtemp(prefix="herald-pg-"))
    else:
        config.stash[RUN_DIR] = Path(workerinput[WORKER_INPUT])


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker where the run's cluster lives."""
    node.workerinput[WORKER_INPUT] = str(node.config.stash[RUN_DIR])


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None:
        Cluster(config.stash[RUN_DIR]).remove()


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl: the newest Debian-style install, else PATH."""
    installed = Path("/usr/lib/postgresql").glob("*/bin/initdb")
    newest = max(installed, key=lambda path: version_key(path.parent.parent.name), default=None)
    on_path = shutil.which("initdb")
    found = newest or (Path(on_path) if on_path else None)
    return found.parent if found else None


def version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in name.split("."))


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true the PostgreSQL tests may not skip", pytrace=False)
    pytest.skip(reason)


class Cluster:
    """The run's throwaway cluster in `root`: data/, its socket, log and port file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port_file = root / "port"
        self.password_file = root / "password"
        self.log = root / "server.log"

    def url(self) -> str:
        """The admin URL, starting the cluster first if no worker has yet."""
        with (self.root / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.port_file.exists():
                self.start()
            port = self.port_file.read_text()
            password = self.password_file.read_text()
        return f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"

    def start(self) -> None:
        binaries = server_binaries()
        if binaries is None:
            missing(
                "no PostgreSQL server binaries (initdb under /usr/lib/postgresql/*/bin or on "
                "PATH): install PostgreSQL or set HERALD_TEST_POSTGRES_URL"
            )
        as_postgres = os.geteuid() == 0
        if as_postgres:
            shutil.chown(self.root, "postgres")
        shutil.rmtree(self.data, ignore_errors=True)  # what a failed start left behind
        password = secrets.token_hex(16)
        pwfile = self.root / "initdb-password"
        pwfile.write_text(password)
        if as_postgres:
            shutil.chown(pwfile, "postgres")
        self.run(
            binaries / "initdb",
            f"--pgdata={self.data}",
            f"--username={USER}",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        )
        pwfile.unlink()
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.root} "
            options += "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            pg_ctl = [binaries / "pg_ctl", "start", "--wait", "--timeout=30"]
            try:
                self.run(*pg_ctl, f"--pgdata={self.data}", f"--log={self.log}", "-o", options)
                break
            except subprocess.CalledProcessError:
                if attempt == START_ATTEMPTS:
                    log = self.log.read_text() if self.log.exists() else "(no log)"
                    raise RuntimeError(f"PostgreSQL did not start; its log:\n{log}") from None
        self.password_file.write_text(password)
        self.port_file.write_text(str(port))

    def run(self, *command: str | Path) -> None:
        """Run a server binary, as the postgres OS user when we are root."""
        argv = [str(part) for part in command]
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            su = shutil.which("su")
            if runuser:
                argv = [runuser, "-u", "postgres", "--", *argv]
            elif su:
                argv = [su, "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
            else:
                missing("running as root, but neither runuser nor su can switch to postgres")
        try:
            subprocess.run(argv, cwd=self.root, capture_output=True, text=True, check=True)
        except subprocess.CalledProcessError as error:
            print(f"{shlex.join(argv)} failed:\n{error.stdout}{error.stderr}")
            raise

    def remove(self) -> None:
        """Stop the cluster if it was started, then delete its directory."""
        binaries = server_binaries()
        if self.port_file.exists() and binaries:
            self.run(binaries / "pg_ctl", "stop", f"--pgdata={self.data}", "--mode=immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_url(server: str, name: str) -> str:
    """`server`'s URL pointing at database `name` instead."""
    return urlsplit(server)._replace(path=f"/{name}").geturl()


def on_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` on a private loop: session fixtures run outside any test's loop, and
    asyncio.run would unset the loop pytest-asyncio keeps for the thread."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(work)
    finally:
        loop.close()


async def admin(server: str, *statements: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_server(pytestconfig: pytest.Config) -> str:
    """The URL of a server where the tests may create and drop databases."""
    return EXTERNAL_URL or Cluster(pytestconfig.stash[RUN_DIR]).url()


@pytest.fixture(scope="session")
def database_prefix(pytestconfig: pytest.Config) -> str:
    """Unique to this run and worker, so runs sharing an external server never collide."""
    run = pytestconfig.stash[RUN_DIR].name.removeprefix("herald-pg-").lower()
    return f"herald_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


@pytest.fixture(scope="session")
def postgres_url(postgres_server: str, database_prefix: str) -> Iterator[str]:
    """This worker's own database, for the whole session."""
    on_own_loop(admin(postgres_server, f'CREATE DATABASE "{database_prefix}"'))
    yield database_url(postgres_server, database_prefix)
    on_own_loop(admin(postgres_server, f'DROP DATABASE "{database_prefix}" WITH (FORCE)'))


@pytest.fixture
async def new_postgres_database(
    postgres_server: str, database_prefix: str
) -> AsyncIterator[NewDatabase]:
    """Creates empty databases for one test (from template0), all dropped after it."""
    names: list[str] = []

    async def create() -> str:
        name = f"{database_prefix}_{next(_numbers)}"
        await admin(postgres_server, f'CREATE DATABASE "{name}" TEMPLATE template0')
        names.append(name)
        return database_url(postgres_server, name)

    yield create
    if names:
        await admin(postgres_server, *(f'DROP DATABASE "{name}" WITH (FORCE)' for name in names))


@pytest.fixture
async def fresh_postgres_url(new_postgres_database: NewDatabase) -> str:
    """An empty database of this test's own."""
    return await new_postgres_database()
