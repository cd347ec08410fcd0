"""Shared fixtures: isolated settings, loopback-only networking, fakes and a Herald runner."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.config import Settings, load_settings
from bot.core import Core
from bot.i18n import has_translation
from bot.platforms import discord_outbound
from tests.fakes import betahub as betahub_fake
from tests.fakes import butterstack as butterstack_fake
from tests.fakes import discord as discord_fake
from tests.fakes import userecho as userecho_fake
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.bugherd import FakeBugHerd
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.discord import FakeDiscord
from tests.fakes.hacknplan import FakeHacknPlan
from tests.fakes.slack import FakeSlack
from tests.fakes.userecho import FakeUserEcho

# A real PostgreSQL: the fixtures `postgres_url`, `fresh_postgres_url`, `new_postgres_database`.
pytest_plugins = ["tests.postgres"]

SETTING_PREFIXES = (
    "DISCORD_",
    "SLACK_",
    "BETAHUB_",
    "USERECHO_",
    "HACKNPLAN_",
    "BUGHERD_",
    "BUTTERSTACK_",
    "HTTP_",
    "DATABASE_URL",
    "LOG_",
    "SENTRY_",
    "HERALD_",
    "WEBHOOK_",
    "SHUTDOWN_",
    "FOLLOWUP_",
)
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
LOOPBACK = {"127.0.0.1", "localhost", "::1", None}
# and HERALD_TEST_POSTGRES_URL's server, when the PostgreSQL tests use one (tests/postgres.py)
ALLOWED_HOSTS = LOOPBACK | {urlsplit(os.environ.get("HERALD_TEST_POSTGRES_URL", "")).hostname}

StartHerald = Callable[..., Awaitable[Core]]


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the developer's shell or .env reaches a test, nor its locale
    (the console's language follows it)."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES) or name in LOCALE_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def empty_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console adapter reads stdin; in tests it reads an empty one."""
    monkeypatch.setattr(sys, "stdin", io.StringIO())


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve a host other than 127.0.0.1 fails the test loudly."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in ALLOWED_HOSTS:
            raise OSError(f"tests may only talk to 127.0.0.1, not {name!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@pytest.fixture
async def betahub() -> AsyncIterator[FakeBetaHub]:
    async with FakeBetaHub() as fake:
        yield fake


@pytest.fixture
async def butterstack() -> AsyncIterator[FakeButterStack]:
    """A fake ButterStack with room to spare: rate-limit tests make their own, stricter one."""
    async with FakeButterStack(limit=100_000, burst=10_000) as fake:
        yield fake


@pytest.fixture
def fast_windows(monkeypatch: pytest.MonkeyPatch, discord: FakeDiscord) -> None:
    """Discord's 5 messages per 5 s, squeezed into 1 s on both sides to keep tests short."""
    monkeypatch.setattr(discord_outbound, "CHANNEL_WINDOW_SECONDS", 1.0)
    discord.channel_limit = (5, 1.0)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def hacknplan_api() -> AsyncIterator[FakeHacknPlan]:
    async with FakeHacknPlan() as fake:
        yield fake


@pytest.fixture
async def bugherd_api() -> AsyncIterator[FakeBugHerd]:
    async with FakeBugHerd() as fake:
        yield fake


@pytest.fixture
async def userecho() -> AsyncIterator[FakeUserEcho]:
    async with FakeUserEcho() as fake:
        yield fake


def database_file(tmp_path: Path) -> Path:
    """Where a test's Herald keeps its database (it outlives a restart within the test)."""
    return tmp_path / "herald.db"


def base_env(tmp_path: Path) -> dict[str, str]:
    return {
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "DATABASE_URL": f"sqlite:///{database_file(tmp_path)}",
        # Saved submissions wait for a test that asks for retries (`fast_retries`):
        # the default's full jitter could otherwise retry one within a test's run.
        "HERALD_RETRY_FIRST_SECONDS": "3600",
    }


def discord_env(fake: FakeDiscord) -> dict[str, str]:
    return {"DISCORD_TOKEN": discord_fake.TOKEN, "DISCORD_API_BASE": fake.api_base}


HACKNPLAN_SECRET = "hp-webhook-secret-123"
BUGHERD_SECRET = "bh-webhook-secret-456"
USERECHO_KEY = "ue-webhook-key-789"


def hacknplan_env(**extra: str) -> dict[str, str]:
    return {"HACKNPLAN_WEBHOOK_SECRET": HACKNPLAN_SECRET, **extra}


def bugherd_env(**extra: str) -> dict[str, str]:
    return {"BUGHERD_WEBHOOK_SECRET": BUGHERD_SECRET, **extra}


def userecho_webhook_env(**extra: str) -> dict[str, str]:
    return {"USERECHO_WEBHOOK_KEY": USERECHO_KEY, **extra}


def betahub_env(fake: FakeBetaHub) -> dict[str, str]:
    return {
        "BETAHUB_URL": fake.url,
        "BETAHUB_TOKEN": betahub_fake.TOKEN,
        "BETAHUB_PROJECT_ID": betahub_fake.PROJECT_ID,
        "BETAHUB_TIMEOUT_SECONDS": "1",
        "BETAHUB_RELEASES_POLL_SECONDS": "0",  # the release tests turn it on
    }


def butterstack_env(fake: FakeButterStack, **overrides: str) -> dict[str, str]:
    """Herald watching the fake's first project, reading every 0.1 s, with a roomy plan."""
    return {
        "BUTTERSTACK_URL": fake.url,
        "BUTTERSTACK_TOKEN": butterstack_fake.TOKEN,
        "BUTTERSTACK_PROJECT_IDS": butterstack_fake.PROJECT,
        "BUTTERSTACK_POLL_SECONDS": "0.1",
        "BUTTERSTACK_RATE_LIMIT_PER_MINUTE": "6000",
        "BUTTERSTACK_TIMEOUT_SECONDS": "2",
        **overrides,
    }


def userecho_env(fake: FakeUserEcho) -> dict[str, str]:
    return {
        "USERECHO_URL": fake.api_url,
        "USERECHO_TOKEN": userecho_fake.TOKEN,
        "USERECHO_FORUM_ID": str(userecho_fake.FORUM_ID),
        "USERECHO_TIMEOUT_SECONDS": "1",
    }


REFERENCE_LINE = re.compile(r"\n\nRef: HRLD-[0-9A-F]{8}$")


def unmarked(text: str) -> str:
    """What Herald sent as an item's text, less the reference line every created item
    ends with (it finds an item again after an ambiguous failure)."""
    assert REFERENCE_LINE.search(text), f"no reference line at the end of {text!r}"
    return REFERENCE_LINE.sub("", text)


def fast_retries() -> dict[str, str]:
    """Saved submissions retried within a fraction of a second, for tests."""
    return {"HERALD_RETRY_FIRST_SECONDS": "0.2", "HERALD_RETRY_MAX_SECONDS": "0.5"}


@pytest.fixture
def herald_env(tmp_path: Path) -> dict[str, str]:
    return base_env(tmp_path)


@pytest.fixture
async def herald(
    monkeypatch: pytest.MonkeyPatch, herald_env: dict[str, str]
) -> AsyncIterator[StartHerald]:
    """Start a real Herald core with the given settings; it is closed after the test."""
    cores: list[Core] = []

    async def start(cog_package: str = "cogs", **env: str) -> Core:
        for name, value in {**herald_env, **env}.items():
            monkeypatch.setenv(name, value)
        core = Core(load_settings(Settings, env_file=None), env_file=None, cog_package=cog_package)
        cores.append(core)
        await core.start()
        return core

    yield start
    for core in reversed(cores):
        await core.close()


def bot_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """A clean environment for a `python -m bot` process: PATH, loopback server, tmp db."""
    return {"PATH": os.environ["PATH"], **base_env(tmp_path), **env}


def run_bot(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` to completion in `tmp_path` with only `env` set."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=bot_env(tmp_path, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def spawn_bot(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    """Start `python -m bot` with piped stdin, stdout and stderr."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tmp_path,
        env=bot_env(tmp_path, **env),
    )


def spoken_in(caplog: pytest.LogCaptureFixture, message: str, language: str) -> bool:
    """Whether Herald can have shown `message` in `language`: its catalog translates it, or
    Herald asked the catalog for it (the warning that it lacks it, logged at `WARNING` by
    `bot.i18n`). Pair it with the text equal to `translate(message, language, ...)`."""
    lacked = f"no {language} translation for {message!r}; showing it in English"
    return has_translation(message, language) or lacked in caplog.messages
