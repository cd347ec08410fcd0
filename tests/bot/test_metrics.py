"""`GET /metrics`: what a scripted run counts, bounded labels, and METRICS_TOKEN."""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.core import Core
from bot.metrics import herald_version
from tests.announcing import hacknplan, post, run, sample, settled, subscribe
from tests.conftest import (
    HACKNPLAN_SECRET,
    StartHerald,
    betahub_env,
    discord_env,
    hacknplan_env,
)
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.slack import FakeSlack, form_body, sign

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]
TOKEN = "metrics-token-0123456789"
HACKNPLAN_HEADERS = (
    f"Authorization: Bearer {HACKNPLAN_SECRET}\r\nX-HacknPlan-Event: workitem.created"
)


async def scrape(core: Core, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"http://127.0.0.1:{core.server.port}/metrics"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers) as response,
    ):
        return response.status, await response.text()


def parse(text: str) -> Series:
    """Every sample, by name and labels, through prometheus_client's own parser."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def metrics(core: Core) -> Series:
    status, text = await scrape(core)
    assert status == 200
    return parse(text)


def value(series: Series, name: str, **labels: str) -> float | None:
    return series.get((name, frozenset(labels.items())))


async def status_line(core: Core, head: str, body: bytes = b"") -> int:
    """Send a raw request (headers, and perhaps part of a body); the answer's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", core.server.port)
    try:
        writer.write(head.encode() + b"\r\n\r\n" + body)
        line = await asyncio.wait_for(reader.readline(), 5)
    finally:
        writer.close()
    return int(line.split(b" ", 2)[1])


def raw_webhook(length: int) -> str:
    return (
        "POST /webhooks/hacknplan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n{HACKNPLAN_HEADERS}"
    )


async def report(discord: FakeDiscord, title: str) -> dict[str, Any]:
    description = f"{title}: it happens every time after loading a save"
    payload = discord.command_interaction("report", {"description": description, "title": title})
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def until(check: Any, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_scripted_run_counts_each_outcome(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    core = await herald(
        **discord_env(discord),
        **hacknplan_env(),
        **{**betahub_env(betahub), "BETAHUB_RELEASES_POLL_SECONDS": "3600"},  # read at start
        HERALD_SUBMISSION_LIMIT="10",
        WEBHOOK_READ_TIMEOUT_SECONDS="0.2",
    )
    await subscribe(core, "hacknplan")

    # Webhooks: one of each outcome. The delivery fails once, then goes through.
    discord.fail(503)
    created = sample("hacknplan", "workitem.created")
    assert (await hacknplan(core, "workitem.created", created))[0] == 200
    assert (await hacknplan(core, "workitem.created", created))[0] == 200
    assert (await hacknplan(core, "category.created", {"ProjectId": 1}))[0] == 202
    assert (await hacknplan(core, "workitem.created", created, secret="wrong" * 4))[0] == 401
    headers = {"Authorization": f"Bearer {HACKNPLAN_SECRET}", "X-HacknPlan-Event": "x"}
    assert (await post(core, "/webhooks/hacknplan", b"{not json", headers))[0] == 400
    assert await status_line(core, raw_webhook(2 * 1024 * 1024)) == 413
    assert await status_line(core, raw_webhook(1000), b"{") == 408
    await settled(core)
    assert len(discord.channel_messages(CHANNEL_ID)) == 1

    # Submissions: refused, saved after a 500, created, a duplicate prompt, and saved
    # after a 429 (last: BetaHub's quota then holds every request for 2 minutes).
    betahub.script(422, 500)
    assert "Scripted failure 422" in (await report(discord, "Vibration never stops"))["content"]
    assert "saved" in (await report(discord, "Audio cuts out during cutscenes"))["content"]
    assert betahub.created == []
    await report(discord, "Achievements unlock twice")
    assert len(betahub.created) == 1
    betahub.seed("issues", "Game crashes when opening the map")
    prompt = await report(discord, "Crash opening map")
    assert prompt["components"], "the similar-items prompt is shown"
    betahub.retry_after = "120"
    betahub.script(429)
    assert "busy" in (await report(discord, "Inventory icons overlap"))["content"]
    await run(discord, "subscribe", admin=False, service="hacknplan")  # admins only

    await until(lambda: _polled(core))
    series = await metrics(core)
    webhooks = {
        outcome: value(series, "herald_webhooks_total", source="hacknplan", outcome=outcome)
        for outcome in (
            "queued",
            "duplicate",
            "ignored",
            "unauthorized",
            "bad_request",
            "too_large",
            "timeout",
        )
    }
    assert webhooks == dict.fromkeys(webhooks, 1.0)
    assert value(series, "herald_webhook_seconds_count", source="hacknplan") == 7

    assert value(series, "herald_deliveries_total", platform="discord", outcome="posted") == 1
    assert value(series, "herald_deliveries_total", platform="discord", outcome="retried") == 1
    assert value(series, "herald_delivery_seconds_count", platform="discord") == 1
    assert value(series, "herald_outbox_pending", platform="discord") == 0
    assert value(series, "herald_outbox_oldest_seconds", platform="discord") == 0

    def submissions(outcome: str) -> float | None:
        labels = {"service": "betahub", "kind": "issue", "outcome": outcome}
        return value(series, "herald_submissions_total", **labels)

    assert submissions("saved_for_retry") == 2
    assert submissions("refused") == 1
    assert submissions("created") == 1
    assert submissions("duplicate_shown") == 1
    assert value(series, "herald_submissions_pending", service="betahub") == 2

    def requests(status_class: str) -> float:
        labels = {"service": "betahub", "status_class": status_class}
        return value(series, "herald_service_requests_total", **labels) or 0

    assert requests("5xx") == 1
    assert requests("4xx") == 2  # the 429 and the 422
    assert requests("2xx") == len(betahub.calls) - 3
    assert requests("error") == 0
    assert value(series, "herald_service_request_seconds_count", service="betahub") == len(
        betahub.calls
    )
    assert value(series, "herald_service_rate_limited_total", service="betahub") == 1

    def commands(name: str, outcome: str) -> float | None:
        labels = {"command": name, "platform": "discord", "outcome": outcome}
        return value(series, "herald_commands_total", **labels)

    assert commands("report", "ok") == 5
    assert commands("subscribe", "user_error") == 1
    assert value(series, "herald_interaction_ack_seconds_count", platform="discord") == 6
    assert value(series, "herald_platform_connected", platform="discord") == 1
    polled = value(series, "herald_poller_last_success_timestamp", source="betahub")
    assert polled is not None
    assert time.time() - 60 < polled <= time.time()
    assert value(series, "herald_info", version=herald_version()) == 1
    assert herald_version() == importlib.metadata.version("herald")


async def _polled(core: Core) -> bool:
    series = await metrics(core)
    return value(series, "herald_poller_last_success_timestamp", source="betahub") is not None


async def test_a_waiting_announcement_shows_in_the_outbox_gauges(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await herald(**discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan")
    discord.fail(503, count=1000)
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await until(lambda: _retried(core))
    await asyncio.sleep(0.2)
    series = await metrics(core)
    assert value(series, "herald_outbox_pending", platform="discord") == 1
    oldest = value(series, "herald_outbox_oldest_seconds", platform="discord")
    assert oldest is not None
    assert 0.2 <= oldest < 10


async def _retried(core: Core) -> bool:
    series = await metrics(core)
    labels = {"platform": "discord", "outcome": "retried"}
    return bool(value(series, "herald_deliveries_total", **labels))


async def test_labels_stay_bounded_whoever_runs_commands_and_wherever(
    herald: StartHerald, discord: FakeDiscord
) -> None:
    core = await herald(**discord_env(discord))

    async def command_from(number: int) -> None:
        payload = discord.command_interaction(
            "subscriptions", user=discord.user(10_000 + number, f"user{number}")
        )
        payload["channel_id"] = payload["channel"]["id"] = str(20_000 + number)
        await discord.interact(payload)
        await discord.answer_to(payload)

    await asyncio.gather(*(command_from(n) for n in range(10)))
    before = set(await metrics(core))
    for start in range(10, 1000, 90):
        await asyncio.gather(*(command_from(n) for n in range(start, start + 90)))
    series = await metrics(core)

    assert set(series) == before
    assert value(series, "herald_interaction_ack_seconds_count", platform="discord") == 1000
    ran = sum(v for (name, _), v in series.items() if name == "herald_commands_total")
    assert ran == 1000
    people = {str(10_000 + n) for n in range(1000)} | {f"user{n}" for n in range(1000)}
    places = {str(20_000 + n) for n in range(1000)}
    assert {v for _, labels in series for _, v in labels} & (people | places) == set()


async def test_metrics_token_is_required_when_set(herald: StartHerald) -> None:
    core = await herald(METRICS_TOKEN=TOKEN)
    assert (await scrape(core))[0] == 401
    assert (await scrape(core, "not-" + TOKEN))[0] == 401
    status, text = await scrape(core, TOKEN)
    assert status == 200
    assert TOKEN not in text
    assert value(parse(text), "herald_platform_connected", platform="console") == 1


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_slack_acknowledgements_are_timed_in_both_modes(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub, mode: str
) -> None:
    core = await herald(**slack.env(mode), **betahub_env(betahub))
    command = slack.slash_command("/suggest", "Add a photo mode with a free camera")
    if mode == "http":
        body = form_body(command)
        url = f"http://127.0.0.1:{core.server.port}/slack/events"
        async with aiohttp.ClientSession() as session:
            unsigned = await session.post(url, data=body, headers=sign(body, secret="x" * 20))
            assert unsigned.status == 401, "refused by bolt: no acknowledgement"
            signed = await session.post(url, data=body, headers=sign(body))
            assert signed.status == 200
    else:
        await slack.wait_for_ack(await slack.send_envelope("slash_commands", command))
    await slack.wait_for_post()  # the card, posted by the bot for follow-ups to edit

    series = await metrics(core)
    assert value(series, "herald_interaction_ack_seconds_count", platform="slack") == 1
    labels = {"command": "suggest", "platform": "slack", "outcome": "ok"}
    assert value(series, "herald_commands_total", **labels) == 1
    assert value(series, "herald_platform_connected", platform="slack") == 1
