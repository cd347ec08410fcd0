"""`python -m bot`: run Herald; `check` validates the settings; `slack-manifest` prints
the Slack app manifest for the loaded commands; `backup PATH` copies the database, live;
`migrate-db --to postgresql://…` copies the SQLite database into PostgreSQL (Herald stopped;
exit codes: 0 copied, 1 failed with the target unchanged, 2 asked wrongly, 3 refused: a
Herald runs on the database or the target holds data)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bot.backup import BackupError, backup
from bot.config import NotConfigured, Settings, SettingsError, load_settings
from bot.core import Core
from bot.error_reports import sentry_sdk_for, start_error_reports, stop_error_reports
from bot.errors import StartError
from bot.instance import hold_instance_lock
from bot.logs import logs_as_json, setup_logging
from bot.migrate_db import MigrateError, migrate_database, shown

log = logging.getLogger("herald")


async def _run(settings: Settings) -> int:
    core = Core(settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, core.stop)
    return await core.run()


async def _check(settings: Settings) -> int:
    """Load every cog's settings without connecting anywhere, and say what would run."""
    reports = "Sentry" if sentry_sdk_for(settings) else "off (set SENTRY_DSN)"
    core = Core(settings)
    try:
        await core.load_cogs()
    finally:
        await core.close()
    sqlite = settings.sqlite_path()
    print(f"settings ok; database {shown(settings.database_url) if sqlite is None else sqlite}")
    print(f"cogs: {', '.join(sorted(core.cogs)) or 'none'}")
    for name, needs in sorted(core.skipped.items()):
        print(f"  {name}: off (set {', '.join(needs)})")
    print(f"commands: {', '.join('/' + c for c in sorted(core.commands)) or 'none'}")
    print(f"error reports: {reports}")
    return 0


async def _slack_manifest(settings: Settings, url: str | None) -> int:
    """Print the Slack app manifest for the commands the current settings load."""
    from bot.platforms.slack_manifest import manifest, to_yaml

    core = Core(settings)
    try:
        await core.load_cogs()
    finally:
        await core.close()
    print(to_yaml(manifest(core.commands.values(), url)))
    return 0


def _backup(database: Path | None, target: Path) -> int:
    if database is None:
        print(
            "herald: cannot back up: `backup` copies an SQLite database; on PostgreSQL use"
            " pg_dump (pg_dump --format=custom --file=PATH DATABASE_URL)",
            file=sys.stderr,
        )
        return 1
    try:
        size = backup(database, target)
    except BackupError as error:
        print(f"herald: cannot back up: {error}", file=sys.stderr)
        return 1
    print(f"backed up {database} to {target} ({size:,} bytes)")
    return 0


def _migrate_db(settings: Settings, target: str) -> int:
    try:
        database = settings.sqlite_path()
        if database is None:
            raise SettingsError("DATABASE_URL names a PostgreSQL database")
    except SettingsError as error:
        print(f"herald: cannot migrate: migrate-db reads SQLite; {error}", file=sys.stderr)
        return 2
    try:
        counts = migrate_database(database, target)
    except MigrateError as error:
        print(f"herald: cannot migrate: {error}", file=sys.stderr)
        return error.code
    for table, count in counts.items():
        print(f"{table}: {count:,} {'row' if count == 1 else 'rows'}")
    print(f"copied {sum(counts.values()):,} rows from {database} to {shown(target)}")
    return 0


def _serve(settings: Settings, database: Path | None) -> int:
    """Run Herald until a signal stops it; an unexpected crash is logged (and reported).

    On SQLite the database is this process's alone (the instance lock); several
    processes may share a PostgreSQL database.
    """
    lock = None if database is None else hold_instance_lock(database)  # held until the end
    start_error_reports(settings)
    try:
        return asyncio.run(_run(settings))
    except (StartError, SettingsError, NotConfigured):
        raise
    except Exception:
        log.critical("Herald stopped on an unexpected error", exc_info=True)
        return 1
    finally:
        stop_error_reports()
        if lock is not None:
            lock.close()


def _refuse(error: Exception) -> None:
    """Say why Herald cannot start: one plain line on stderr, or a JSON log line once
    JSON logs are on (settings it cannot read are said in plain text either way)."""
    if logs_as_json():
        log.critical("cannot start: %s", error)
    else:
        print(f"herald: cannot start: {error}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="herald", description=__doc__)
    parser.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=("run", "check", "slack-manifest", "backup", "migrate-db"),
        help="default: run",
    )
    parser.add_argument("path", nargs="?", type=Path, help="backup: the file to write")
    parser.add_argument("--url", help="slack-manifest: Herald's public URL, for HTTP mode")
    parser.add_argument(
        "--to", metavar="URL", help="migrate-db: the empty PostgreSQL database to copy into"
    )
    args = parser.parse_args(argv)
    if (args.action == "backup") != (args.path is not None):
        parser.error("a PATH goes with `backup`, and only with it")
    if (args.action == "migrate-db") != (args.to is not None):
        parser.error("--to URL goes with `migrate-db`, and only with it")
    try:
        settings = load_settings(Settings)
        setup_logging(settings.log_level, settings.log_format)
        if args.action == "migrate-db":
            return _migrate_db(settings, args.to)
        if args.action == "backup":
            return _backup(settings.sqlite_path(), args.path)
        if args.action == "slack-manifest":
            return asyncio.run(_slack_manifest(settings, args.url))
        if args.action == "check":
            return asyncio.run(_check(settings))
        return _serve(settings, settings.sqlite_path())
    except (SettingsError, StartError, NotConfigured) as error:
        _refuse(error)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
