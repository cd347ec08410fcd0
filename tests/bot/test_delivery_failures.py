"""What the delivery worker does when Discord refuses: a refused message goes again as
plain text and then dies alone, rows die of age or attempts, lost access waits and tells
the admin, a deleted channel pauses until /subscribe replays it, and /herald deliveries
lists and retries what died."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot import delivery
from bot.core import Core
from tests.announcing import hacknplan, run, said, sample, settled
from tests.conftest import StartHerald, discord_env, hacknplan_env
from tests.fakes.discord import ADMIN, CHANNEL_ID, EVERYONE, GUILD_ID, USER_ID, FakeDiscord

POSTS = f"/channels/{CHANNEL_ID}/messages"
GUILD = str(GUILD_ID)


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord) -> Core:
    core = await herald(**discord_env(discord), **hacknplan_env())
    await run(discord, "subscribe", service="hacknplan")
    return core


@pytest.fixture
def quick_access_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lost access retried from 0.05 s doubling to 0.4 s instead of 5 s to an hour."""
    monkeypatch.setattr(delivery, "ACCESS_FIRST_SECONDS", 0.05)
    monkeypatch.setattr(delivery, "ACCESS_MAX_SECONDS", 0.4)


async def milestone(core: Core) -> None:
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))


async def board(core: Core) -> None:
    await hacknplan(core, "board.closed", sample("hacknplan", "board.closed"))


def posts_with(discord: FakeDiscord, text: str) -> list[dict[str, Any]]:
    """Every attempt to post a channel message holding `text` (refused ones included)."""
    return [c.json for c in discord.find("POST", POSTS) if text in str(c.json)]


def dms(discord: FakeDiscord) -> list[dict[str, Any]]:
    return [m for m in discord.messages.values() if int(m["channel_id"]) in discord.dm_channels]


async def eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    async def wait() -> None:
        while not condition():  # noqa: ASYNC110 - the fake's state, polled
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def herald_command(discord: FakeDiscord, name: str, **options: Any) -> str:
    """`/herald <name>` run by an admin; the text of its private answer."""
    channels = {"channel": options.pop("channel")} if "channel" in options else None
    payload = discord.command_interaction(
        "herald", options, subcommand=name, permissions=EVERYONE | ADMIN, channels=channels
    )
    await discord.interact(payload)
    return said(await discord.answer_to(payload))


async def test_an_embed_discord_refuses_is_posted_again_as_plain_text(
    core: Core, discord: FakeDiscord
):
    discord.refuse("Milestone: Alpha")
    await milestone(core)
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"] == []
    assert message["content"].startswith("**🏁 Milestone: Alpha**")
    refused, plain = posts_with(discord, "Milestone: Alpha")
    assert refused["embeds"]
    assert not plain["embeds"]
    assert plain["allowed_mentions"] == {"parse": []}
    assert await core.store.dead_letters("discord", GUILD) == []


async def test_refused_as_plain_text_too_it_dies_alone_and_the_channel_moves_on(
    core: Core, discord: FakeDiscord
):
    discord.refuse("Milestone: Alpha", plain_too=True)
    await milestone(core)
    await board(core)
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "📋 Board: Sprint 4"
    assert len(posts_with(discord, "Milestone: Alpha")) == 2, "rich, then plain"
    (dead,) = await core.store.dead_letters("discord", GUILD)
    assert dead.count == 1
    assert "as plain text" in (dead.error or "")
    (subscription,) = await core.store.subscriptions("discord", GUILD)
    assert subscription.paused is None

    listed = await run(discord, "subscriptions")
    assert "1 announcement(s) could not be delivered" in said(listed)


async def test_a_row_failing_too_often_dies_and_only_it_counts_its_attempts(
    herald: StartHerald, discord: FakeDiscord
):
    core = await herald(**discord_env(discord), **hacknplan_env(), DELIVERY_MAX_ATTEMPTS="3")
    await run(discord, "subscribe", service="hacknplan")
    discord.fail(503, count=5)  # 3 for the milestone (then dead), 2 for the board
    await milestone(core)
    await board(core)
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "📋 Board: Sprint 4"
    assert len(posts_with(discord, "Milestone: Alpha")) == 3
    assert len(posts_with(discord, "Board: Sprint 4")) == 3
    (dead,) = await core.store.dead_letters("discord", GUILD)
    assert dead.count == 1
    assert (dead.error or "").startswith("gave up after 3 attempts: Discord did not take")


async def test_rows_older_than_the_maximum_age_die(herald: StartHerald, discord: FakeDiscord):
    core = await herald(**discord_env(discord), **hacknplan_env(), DELIVERY_MAX_AGE_HOURS="0.0001")
    await run(discord, "subscribe", service="hacknplan")
    discord.fail(503, count=1000)
    await milestone(core)
    await board(core)
    await settled(core)
    (dead,) = await core.store.dead_letters("discord", GUILD)
    assert dead.count == 2
    assert (dead.error or "").startswith("not delivered within 0.0001 h: Discord did not take")
    assert discord.channel_messages(CHANNEL_ID) == []


async def test_lost_access_keeps_rows_tells_the_admin_once_and_resumes(
    quick_access_retries: None, fast_windows: None, core: Core, discord: FakeDiscord
):
    discord.forbidden_channels.add(CHANNEL_ID)
    await milestone(core)
    await board(core)
    await eventually(lambda: len(discord.find("POST", POSTS)) >= 4)
    assert await core.store.pending_count() == 2, "nothing is dropped"
    (subscription,) = await core.store.subscriptions("discord", GUILD)
    assert subscription.paused is None
    (dm,) = dms(discord)
    assert discord.dm_channels[int(dm["channel_id"])] == USER_ID, "the admin who subscribed"
    assert f"Herald can no longer post in <#{CHANNEL_ID}>" in dm["content"]
    listed = await run(discord, "subscriptions")
    assert "2 announcement(s) wait for access to come back" in said(listed)

    started = time.monotonic()
    tries = len(discord.find("POST", POSTS))
    await asyncio.sleep(1.0)
    assert len(discord.find("POST", POSTS)) - tries <= 1.0 / 0.05 / 2, "it backs off"
    assert len(dms(discord)) == 1, "told once"

    discord.forbidden_channels.clear()
    await settled(core, timeout=5)
    assert time.monotonic() - started < 3
    titles = [m["embeds"][0]["title"] for m in discord.channel_messages(CHANNEL_ID)]
    assert titles == ["🏁 Milestone: Alpha", "📋 Board: Sprint 4"]
    assert await core.store.dead_letters("discord", GUILD) == []

    # A later outage is a new one: the admin hears of it again.
    discord.fail(403, count=1, code=50013)
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await settled(core)
    assert len(dms(discord)) == 2
    assert len(discord.channel_messages(CHANNEL_ID)) == 3


async def test_a_deleted_channel_pauses_and_subscribe_replays_the_last_day(
    core: Core, discord: FakeDiscord
):
    discord.missing_channels.add(CHANNEL_ID)
    await milestone(core)
    await settled(core)
    (subscription,) = await core.store.subscriptions("discord", GUILD)
    assert subscription.paused == "Discord refused channel 333333333333333333: Unknown Channel"
    (dead,) = await core.store.dead_letters("discord", GUILD)
    assert dead.count == 1
    assert dms(discord) == []
    await board(core)
    await settled(core)
    assert len(discord.find("POST", POSTS)) == 1, "a paused subscription gets nothing"

    discord.missing_channels.clear()
    answer = await run(discord, "subscribe", service="hacknplan")
    assert "1 announcement(s) of the last 24 h go out again" in said(answer)
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "🏁 Milestone: Alpha"
    assert await core.store.dead_letters("discord", GUILD) == []


async def test_herald_deliveries_lists_dead_rows_and_retries_them(core: Core, discord: FakeDiscord):
    discord.refuse("Milestone: Alpha", plain_too=True)
    await milestone(core)
    await settled(core)

    listed = await herald_command(discord, "deliveries")
    assert f"<#{CHANNEL_ID}>" in listed
    assert "Alpha, 🆕 created" in listed
    assert "as plain text: Discord did not take" in listed
    assert await herald_command(discord, "deliveries", channel="999") == (
        "✅ Every announcement in <#999> was delivered."
    )

    discord.refusals.clear()
    retried = await herald_command(discord, "deliveries", action="retry")
    assert retried == "✅ 1 announcement(s) queued to be sent again."
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "🏁 Milestone: Alpha"
    assert await herald_command(discord, "deliveries") == "✅ Every announcement was delivered."


async def test_herald_deliveries_is_for_admins(core: Core, discord: FakeDiscord):
    payload = discord.command_interaction("herald", {}, subcommand="deliveries")
    await discord.interact(payload)
    assert said(await discord.answer_to(payload)) == "⚠️ Only admins can use /herald deliveries."
    herald = next(c for c in discord.commands["global"] if c["name"] == "herald")
    deliveries = next(o for o in herald["options"] if o["name"] == "deliveries")
    action, channel = deliveries["options"]
    assert [c["value"] for c in action["choices"]] == ["list", "retry"]
    assert not action.get("required")
    assert not channel.get("required")


async def test_two_databases_sharing_a_bot_token_use_different_nonces(
    herald: StartHerald, discord: FakeDiscord, tmp_path
):
    first = await herald(**discord_env(discord), **hacknplan_env())
    second = await herald(
        **discord_env(discord),
        **hacknplan_env(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'second.db'}",
    )
    for core in (first, second):
        await core.store.add_subscription("discord", GUILD, str(CHANNEL_ID), "hacknplan", {}, None)
        await milestone(core)
        await settled(core)
    assert len(discord.channel_messages(CHANNEL_ID)) == 2
    nonces = {c.json["nonce"] for c in discord.find("POST", POSTS)}
    assert len(nonces) == 2


async def test_cards_of_quiet_items_are_pruned_and_dead_rows_kept_longer(
    core: Core, discord: FakeDiscord
):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    discord.refuse("Milestone: Alpha", plain_too=True)
    await milestone(core)
    await settled(core)
    item = "hacknplan:128:workitem:42"
    assert await core.store.card("discord", str(CHANNEL_ID), item) is not None

    now = time.time()
    await core.store.prune(now + 1, dead_before=now - 60)
    assert await core.store.card("discord", str(CHANNEL_ID), item) is None
    assert await core.store.post("b1:card") is None
    (dead,) = await core.store.dead_letters("discord", GUILD)
    assert dead.count == 1, "dead rows are kept for their own retention"

    await core.store.prune(now + 1, dead_before=now + 1)
    assert await core.store.dead_letters("discord", GUILD) == []
    await hacknplan(core, "workitem.updated", sample("hacknplan", "workitem.updated"))
    await settled(core)
    assert len(discord.find("PATCH", POSTS)) == 0, "a forgotten card is posted anew"
