"""Helpers for announcement tests: sending signed webhooks to Herald and waiting for delivery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bot.core import Core
from bot.events import Source
from bot.filters import Filter
from bot.store.sqlite import SqliteStore
from tests.conftest import BUGHERD_SECRET, HACKNPLAN_SECRET, USERECHO_KEY
from tests.fakes.discord import ADMIN, CHANNEL_ID, EPHEMERAL, EVERYONE, GUILD_ID, FakeDiscord

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def sample(service: str, name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / service / f"{name}.json").read_text())


def fields(embed: dict[str, Any]) -> dict[str, str]:
    """An embed's fields as name -> value."""
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def post(
    core: Core,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST to Herald's own server; `body` may be JSON-able or raw bytes."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = f"http://127.0.0.1:{core.server.port}{path}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers or {}, params=params) as response,
    ):
        return response.status, await response.json()


async def hacknplan(
    core: Core, kind: str, body: Any, secret: str = HACKNPLAN_SECRET
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {secret}", "X-HacknPlan-Event": kind}
    return await post(core, "/webhooks/hacknplan", body, headers)


async def bugherd(
    core: Core, event: str, body: Any, token: str = BUGHERD_SECRET
) -> tuple[int, dict[str, Any]]:
    return await post(core, f"/webhooks/bugherd/{event}", body, params={"token": token})


async def userecho(core: Core, body: Any, key: str = USERECHO_KEY) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode()
    signature = hmac.new(key.encode(), raw, hashlib.sha1).hexdigest()
    return await post(core, "/webhooks/userecho", raw, {"X-UE-Signature": signature})


async def subscribe(
    core: Core,
    service: str,
    channel: int | str = CHANNEL_ID,
    platform: str = "discord",
    **filters: str,
) -> int:
    source = core.announcements.sources[service]
    wanted = Filter.parse(source, **filters)
    return await core.store.add_subscription(
        platform, str(GUILD_ID), str(channel), service, wanted.to_json(), None
    )


async def subscribe_ahead(
    database: Path, source: Source, channel: int | str = CHANNEL_ID, **filters: str
) -> int:
    """A Discord subscription stored before Herald starts, so a poller's first reading
    already finds it."""
    store = await SqliteStore.open(database)
    try:
        wanted = Filter.parse(source, **filters)
        return await store.add_subscription(
            "discord", str(GUILD_ID), str(channel), source.name, wanted.to_json(), None
        )
    finally:
        await store.close()


async def settled(core: Core, timeout: float = 10) -> None:
    """Wait until every accepted delivery is routed and every outbox row is done."""

    async def quiet() -> bool:
        return not await core.store.new_deliveries(1) and await core.store.pending_count() == 0

    async def wait() -> None:
        while not await quiet():  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    """Wait until `condition` (about a fake's state) holds."""

    async def wait() -> None:
        while not condition():  # noqa: ASYNC110 - polling a fake's state
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def run(
    discord: FakeDiscord,
    name: str,
    admin: bool = True,
    channels: dict[str, str] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run an admin command (/subscribe ...) through Discord; the private answer."""
    payload = discord.command_interaction(
        name, options, permissions=EVERYONE | (ADMIN if admin else 0), channels=channels
    )
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    (deferred,) = discord.callbacks_for(payload)
    assert deferred.json["data"]["flags"] & EPHEMERAL, "admin commands answer privately"
    return answer


def said(answer: dict[str, Any]) -> str:
    """The text of an answer: its content, or its card's description."""
    embeds = answer.get("embeds") or []
    return answer.get("content") or (embeds[0].get("description", "") if embeds else "")
