"""`python -m bot migrate-db --to postgresql://…`: copy the SQLite database into PostgreSQL.

The SQLite database `DATABASE_URL` names is the source. The copy holds its instance
lock throughout (`bot.instance`), so it refuses while a Herald runs on it and no Herald
can start on it midway; it first brings the file to SQLite's newest schema, as Herald
would at start. The target is migrated to PostgreSQL's newest schema and must hold no
data yet: the only row it may have is the `instance_id` its baseline seeds, which the
copy replaces with the SQLite database's own, so that idempotency keys stay those the
platforms already saw.

Every table is copied, in SQLite's creation order (a table referenced before the
tables referring to it), columns as `PRAGMA table_info` lists them, in batches, all
inside one PostgreSQL transaction: an error leaves the target as it was. SQLite's 0/1
flags become BOOLEAN where PostgreSQL's column is, REAL stays a float, BLOBs become
BYTEA. SQLite's `schema_migrations` stays behind: PostgreSQL numbers its own. Each
identity sequence then continues after the highest id SQLite ever handed out (its
`sqlite_sequence`, which counts deleted rows too), so no id is given twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from bot.instance import InstanceLocked, hold_instance_lock
from bot.store import POSTGRESQL
from bot.store.postgres.migrations import migrate
from bot.store.sqlite import SqliteStore

BATCH_ROWS = 500
# The row PostgreSQL's baseline seeds (schema.py); the SQLite database brings its own.
SEEDED = ("herald", "instance_id")
# Exit codes: the copy was made (0), failed with the target unchanged (1), was asked for
# wrongly (2: DATABASE_URL not SQLite, no such file, --to not PostgreSQL), or refused
# (3: a Herald runs on the SQLite database, or the target holds data already).
FAILED, WRONG, REFUSED = 1, 2, 3


class MigrateError(Exception):
    """Nothing was copied; the message says why in one line, `code` is the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Table:
    """An SQLite table to copy: its name and its columns, each with a converter to the
    PostgreSQL column's type (None: the value goes as it is)."""

    name: str
    columns: list[tuple[str, Callable[[Any], Any] | None]]

    def rows(self, source: sqlite3.Connection) -> Iterator[list[tuple[Any, ...]]]:
        names = ", ".join(quoted(column) for column, _ in self.columns)
        # In the order SQLite stored them: PostgreSQL's posts.rowid numbers them the same.
        query = f"SELECT {names} FROM {quoted(self.name)} ORDER BY rowid"  # noqa: S608
        cursor = source.execute(query)
        while batch := cursor.fetchmany(BATCH_ROWS):
            yield [tuple(self.convert(row)) for row in batch]

    def convert(self, row: tuple[Any, ...]) -> Iterator[Any]:
        for value, (_, into) in zip(row, self.columns, strict=True):
            yield value if into is None or value is None else into(value)


# PostgreSQL's type for a column -> how an SQLite value becomes it.
CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "boolean": bool,
    "double precision": float,
    "bytea": bytes,
}


def shown(url: str) -> str:
    """`url` with its password hidden, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def migrate_database(database: Path, target: str) -> dict[str, int]:
    """Copy the SQLite `database` into the PostgreSQL `target`; rows copied per table."""
    if not target.startswith(POSTGRESQL):
        raise MigrateError(WRONG, f"--to takes a postgresql:// URL (got {shown(target)})")
    if not database.is_file():
        raise MigrateError(WRONG, f"no SQLite database at {database} (check DATABASE_URL)")
    try:
        lock = hold_instance_lock(database)
    except InstanceLocked as error:
        raise MigrateError(
            REFUSED,
            f"a Herald (pid {error.holder}) is running on {database}; stop it first,"
            " so that nothing changes the database while it is copied",
        ) from None
    try:
        return asyncio.run(_migrate(database, f"{database.resolve().as_uri()}?mode=rw", target))
    finally:
        if lock is not None:
            lock.close()


async def _migrate(database: Path, uri: str, target: str) -> dict[str, int]:
    try:
        await (await SqliteStore.open(database)).close()  # SQLite's newest schema, as at start
        source = sqlite3.connect(uri, uri=True)  # mode=rw: never a new, empty database
    except sqlite3.Error as error:
        raise MigrateError(FAILED, f"cannot read the SQLite database {database}: {error}") from None
    try:
        return await _copy(source, target)
    finally:
        source.close()


async def _copy(source: sqlite3.Connection, target: str) -> dict[str, int]:
    try:
        conn = await asyncpg.connect(target)
    except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise MigrateError(FAILED, f"cannot connect to {shown(target)}: {error}") from None
    try:
        await migrate(conn)
        tables = await _tables(source, conn)
        async with conn.transaction():
            await _refuse_data(conn, tables)
            await conn.execute(
                "DELETE FROM settings WHERE scope = $1 AND key = $2", *SEEDED
            )  # replaced by the SQLite database's own
            counts = {}
            for table in tables:
                counts[table.name] = 0
                for batch in table.rows(source):
                    await conn.copy_records_to_table(
                        table.name, records=batch, columns=[c for c, _ in table.columns]
                    )
                    counts[table.name] += len(batch)
            await _continue_sequences(source, conn, [table.name for table in tables])
        return counts
    except (asyncpg.PostgresError, asyncpg.InterfaceError, sqlite3.Error) as error:
        raise MigrateError(FAILED, f"the copy failed, nothing was written: {error}") from None
    finally:
        await conn.close()


async def _tables(source: sqlite3.Connection, conn: asyncpg.Connection[Any]) -> list[Table]:
    """SQLite's tables in creation order, with PostgreSQL's column types."""
    names = [
        name
        for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY rowid"
        )
    ]
    types: dict[str, dict[str, str]] = {}
    for record in await conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
    ):
        types.setdefault(record["table_name"], {})[record["column_name"]] = record["data_type"]
    tables = []
    for name in names:
        columns = [row[1] for row in source.execute(f"PRAGMA table_info({quoted(name)})")]
        missing = [column for column in columns if column not in types.get(name, {})]
        if missing:
            raise MigrateError(
                FAILED,
                f"PostgreSQL's schema has no {name}.{missing[0]}: this Herald's SQLite"
                " and PostgreSQL schemas disagree; nothing was copied",
            )
        converted = [(column, CONVERTERS.get(types[name][column])) for column in columns]
        tables.append(Table(name, converted))
    return tables


async def _refuse_data(conn: asyncpg.Connection[Any], tables: list[Table]) -> None:
    for table in tables:
        query = f"SELECT EXISTS (SELECT 1 FROM {quoted(table.name)})"  # noqa: S608
        if table.name == "settings":
            query = "SELECT EXISTS (SELECT 1 FROM settings WHERE (scope, key) <> ($1, $2))"
        if await conn.fetchval(query, *(SEEDED if table.name == "settings" else ())):
            raise MigrateError(
                REFUSED,
                f"the PostgreSQL database already holds data (table {table.name});"
                " migrate into an empty database",
            )


async def _continue_sequences(
    source: sqlite3.Connection, conn: asyncpg.Connection[Any], tables: list[str]
) -> None:
    """Each identity goes on after the highest id SQLite handed out, deleted rows included."""
    handed_out = dict(source.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    for record in await conn.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        " AND table_name = ANY($1::text[])",
        tables,
    ):
        table, column = record["table_name"], record["column_name"]
        highest = await conn.fetchval(
            f"SELECT COALESCE(MAX({quoted(column)}), 0) FROM {quoted(table)}"  # noqa: S608
        )
        await conn.execute(
            "SELECT setval(pg_get_serial_sequence($1, $2), $3, false)",
            quoted(table),
            column,
            max(highest, handed_out.get(table, 0)) + 1,
        )
