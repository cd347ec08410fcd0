"""Sentry: an unexpected error in a command or a delivery reaches a fake Sentry with every
secret masked and its context as tags; without SENTRY_DSN nothing is set up or sent."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sentry_sdk

from bot.config import Settings, load_settings
from bot.error_reports import SDK_MISSING, start_error_reports, stop_error_reports
from bot.events import Mode
from bot.logs import MASK
from bot.store import INBOX_IGNORED, INBOX_ROUTED, Route, Verdict
from tests.announcing import said, subscribe
from tests.conftest import HACKNPLAN_SECRET, StartHerald, bot_env, discord_env, hacknplan_env
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.sentry import FakeSentry

LEAKY = "tests.bot.leaky_cogs"
KEY = "lk-9f/Key with spaces+plus"


@pytest.fixture
async def sentry() -> AsyncIterator[FakeSentry]:
    async with FakeSentry() as fake:
        yield fake


@pytest.fixture
def reports(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., bool]]:
    """Start error reports as `python -m bot` does, from settings in the environment;
    the client is closed after the test, so none outlives it."""

    def start(**env: str) -> bool:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return start_error_reports(load_settings(Settings, env_file=None))

    try:
        yield start
    finally:
        stop_error_reports()
    assert not sentry_sdk.get_client().is_active()


async def reported(sentry: FakeSentry, count: int = 1, timeout: float = 5) -> list[dict[str, Any]]:
    async def wait() -> list[dict[str, Any]]:
        while len(sentry.events) < count:  # noqa: ASYNC110 - the SDK posts from its own thread
            await asyncio.sleep(0.02)
        return sentry.events

    return await asyncio.wait_for(wait(), timeout)


async def test_a_command_failing_unexpectedly_is_reported_with_its_secret_masked(
    herald: StartHerald,
    discord: FakeDiscord,
    sentry: FakeSentry,
    reports: Callable[..., bool],
) -> None:
    assert reports(SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="staging")
    await herald(cog_package=LEAKY, **discord_env(discord), LEAKY_API_KEY=KEY)
    payload = discord.command_interaction("fetch")
    await discord.interact(payload)
    assert "Something went wrong while running /fetch" in said(await discord.answer_to(payload))

    (event,) = await reported(sentry)
    sent = json.dumps(event)
    for form in (KEY, quote(KEY, safe=""), quote(KEY)):
        assert form not in sent
    (error,) = event["exception"]["values"]
    assert error["type"] == "RuntimeError"
    assert error["value"] == f"https://leaky.example/items?key={MASK} answered 500"
    assert event["logentry"]["formatted"].startswith("/fetch failed for discord:")
    assert event["level"] == "error"
    assert event["environment"] == "staging"
    assert {"command": "fetch", "platform": "discord"}.items() <= event["tags"].items()
    assert all("vars" not in frame for frame in error["stacktrace"]["frames"])
    assert "user" not in event
    crumbs = [c.get("message") for c in event["breadcrumbs"]["values"]]
    assert f"GET https://leaky.example/items?key={MASK} is slow" in crumbs


async def test_a_delivery_failing_unexpectedly_is_reported_with_its_secret_masked(
    herald: StartHerald,
    discord: FakeDiscord,
    sentry: FakeSentry,
    reports: Callable[..., bool],
) -> None:
    assert reports(SENTRY_DSN=sentry.dsn)
    core = await herald(**discord_env(discord), **hacknplan_env())
    subscription = await subscribe(core, "hacknplan")
    # A row this version cannot read (a newer one wrote a mode it does not know).
    event = {"source": "hacknplan", "kind": "x", "card": {}, "line": "", "mode": HACKNPLAN_SECRET}
    inbox = await core.store.add_delivery("hacknplan", "x", "k1", "{}", INBOX_IGNORED)
    assert inbox is not None
    route = Route("discord", str(CHANNEL_ID), subscription)
    await core.store.record_routing([Verdict(inbox, INBOX_ROUTED, "", event, (route,))])
    core.announcements.worker.wake()

    report = (await reported(sentry))[0]
    assert HACKNPLAN_SECRET not in json.dumps(report)
    (error,) = report["exception"]["values"]
    assert error["value"] == f"'{MASK}' is not a valid {Mode.__name__}"
    assert report["logentry"]["formatted"] == (
        f"delivery to discord:{CHANNEL_ID} failed unexpectedly"
    )
    assert report["tags"]["platform"] == "discord"


async def test_without_a_dsn_nothing_is_set_up_or_sent(
    herald: StartHerald,
    discord: FakeDiscord,
    sentry: FakeSentry,
    reports: Callable[..., bool],
) -> None:
    assert not reports(SENTRY_ENVIRONMENT="staging")
    assert not sentry_sdk.get_client().is_active()
    await herald(cog_package=LEAKY, **discord_env(discord), LEAKY_API_KEY=KEY)
    payload = discord.command_interaction("fetch")
    await discord.interact(payload)
    assert "Something went wrong" in said(await discord.answer_to(payload))
    await asyncio.sleep(0.2)
    assert sentry.calls == []


def test_a_dsn_without_the_sdk_stops_start_up_with_one_line(tmp_path: Path) -> None:
    dsn = "http://0123456789abcdef@127.0.0.1:9/1"
    without_sdk = (
        "import sys; sys.modules['sentry_sdk'] = None; from bot.__main__ import main;"
        " sys.exit(main())"
    )
    for args in ([], ["check"]):
        result = subprocess.run(
            [sys.executable, "-c", without_sdk, *args],
            env=bot_env(tmp_path, SENTRY_DSN=dsn),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr == f"herald: cannot start: {SDK_MISSING}\n"
        assert result.stdout == ""
        assert not (tmp_path / "herald.db").exists()
