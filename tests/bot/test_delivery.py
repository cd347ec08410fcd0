"""Delivery through the real discord.py client to the fake Discord: cards, threads, digests,
rate limits, retries and restarts (refusals and dead channels: test_delivery_failures)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.core import Core
from bot.events import Event, Source
from bot.models import Card
from tests.announcing import fields, hacknplan, sample, settled, subscribe
from tests.conftest import StartHerald, discord_env, hacknplan_env
from tests.fakes.discord import CHANNEL_ID, FakeDiscord

POSTS = f"/channels/{CHANNEL_ID}/messages"


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord) -> Core:
    core = await herald(**discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan")
    return core


def work_item(number: int, **changes: Any) -> dict[str, Any]:
    body = sample("hacknplan", "workitem.created")
    return {**body, "WorkItemId": number, "Title": f"Burst item {number}", **changes}


def shown(discord: FakeDiscord, text: str) -> int:
    """In how many messages (channel and threads) a reader finds `text`."""
    return sum(text in discord.text_of(m) for m in discord.messages.values())


async def test_one_card_per_item_edited_in_place_with_follow_ups_in_a_thread(
    core: Core, discord: FakeDiscord
):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await discord.wait_for("POST", POSTS)
    await hacknplan(core, "workitem.updated", sample("hacknplan", "workitem.updated"))
    await discord.wait_for("PATCH", POSTS)
    await hacknplan(
        core, "workitem.comment.created", sample("hacknplan", "workitem.comment.created")
    )
    await hacknplan(
        core, "workitem.worklog.created", sample("hacknplan", "workitem.worklog.created")
    )
    await settled(core)

    (card,) = discord.channel_messages(CHANNEL_ID)
    embed = card["embeds"][0]
    assert embed["title"] == "#42 Double jump feels floaty"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Stage"] == "In progress"
    assert fields["Changed"] == "Stage: Planned → In progress"
    (thread,) = discord.threads.values()
    assert thread["id"] == card["id"]
    assert thread["name"] == "#42 Double jump feels floaty"
    lines = [m["content"] for m in discord.channel_messages(int(thread["id"]))]
    assert "".join(lines).count("💬 **bob**: Tried 0.8 gravity") == 1
    assert "".join(lines).count("⏱ **Ada Lovelace** logged 1.5 h") == 1
    assert len(discord.find("POST", "/threads")) == 1
    for call in [c for c in discord.find("POST", "/messages") if c.path.endswith("/messages")]:
        assert call.json["allowed_mentions"] == {"parse": []}
        assert call.json["enforce_nonce"] is True


async def test_a_deleted_item_keeps_its_card_marked_deleted(core: Core, discord: FakeDiscord):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await discord.wait_for("POST", POSTS)
    await hacknplan(core, "workitem.deleted", sample("hacknplan", "workitem.deleted"))
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    assert card["embeds"][0]["title"] == "🗑 Deleted: #42 Double jump feels floaty"
    assert card["embeds"][0]["color"] == 0x95A5A6


async def test_a_card_deleted_by_someone_is_posted_again_on_the_next_change(
    core: Core, discord: FakeDiscord
):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await discord.wait_for("POST", POSTS)
    discord.messages.clear()
    await hacknplan(core, "workitem.updated", sample("hacknplan", "workitem.updated"))
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    assert card["embeds"][0]["fields"][0] == {
        "name": "Stage",
        "value": "In progress",
        "inline": True,
    }
    assert len(discord.find("PATCH", POSTS)) == 1


async def test_a_channel_without_threads_gets_follow_ups_inline(core: Core, discord: FakeDiscord):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await discord.wait_for("POST", POSTS)
    discord.fail(403, on="/threads")
    await hacknplan(
        core, "workitem.comment.created", sample("hacknplan", "workitem.comment.created")
    )
    await settled(core)
    _, line = discord.channel_messages(CHANNEL_ID)
    assert "Tried 0.8 gravity" in line["content"]
    assert discord.threads == {}


async def test_a_deleted_thread_sends_follow_ups_to_the_channel(core: Core, discord: FakeDiscord):
    comment = sample("hacknplan", "workitem.comment.created")
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await discord.wait_for("POST", POSTS)
    await hacknplan(core, "workitem.comment.created", comment)
    await settled(core)
    (thread_id,) = discord.threads
    discord.missing_channels.add(thread_id)
    await hacknplan(core, "workitem.comment.created", {**comment, "CommentId": 2, "Text": "late"})
    await settled(core)
    _, line = discord.channel_messages(CHANNEL_ID)
    assert line["content"] == "💬 **bob**: late"
    (subscription,) = await core.store.subscriptions("discord", str(discord_guild()))
    assert subscription.paused is None


async def test_a_burst_folds_into_digests_without_loss_or_doubles(
    fast_windows, core: Core, discord: FakeDiscord
):
    for number in range(1, 6):
        await hacknplan(core, "workitem.created", work_item(number))
        await discord.wait_for("POST", POSTS, count=number)
    await asyncio.gather(*(hacknplan(core, "workitem.created", work_item(n)) for n in range(6, 46)))
    await settled(core)

    messages = discord.channel_messages(CHANNEL_ID)
    for number in range(1, 46):
        assert (
            shown(discord, f"Burst item {number}]")
            + shown(discord, f"#{number} Burst item {number}")
            >= 1
        )
        assert (
            shown(discord, f"Burst item {number}]")
            + sum(m["embeds"][0]["title"] == f"#{number} Burst item {number}" for m in messages)
            == 1
        ), number
    digests = [m for m in messages if m["embeds"][0]["title"].endswith(" updates")]
    assert digests
    assert len(messages) <= 5 + 3
    text = "\n".join(d["embeds"][0]["description"] for d in digests)
    assert (
        "**[#6 Burst item 6](https://app.hacknplan.com/p/128/kanban?boardId=7&taskId=6)**" in text
    )
    assert "\n• 🆕 created by Ada Lovelace" in text
    assert len(discord.rate_limited) <= 1


async def test_a_429_is_waited_out_and_the_message_posted_once(
    fast_windows, core: Core, discord: FakeDiscord
):
    # Discord's window for the channel is already spent (as it is right after a restart).
    discord._windows[CHANNEL_ID] = (time.monotonic(), 5)
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))
    await settled(core)
    (limited,) = discord.rate_limited
    assert limited.json["embeds"][0]["title"] == "🏁 Milestone: Alpha"
    assert len(discord.channel_messages(CHANNEL_ID)) == 1


async def test_server_errors_are_retried_until_discord_takes_the_message(
    core: Core, discord: FakeDiscord
):
    discord.fail(500)
    discord.fail(503, count=2)
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))
    await settled(core)
    assert len(discord.find("POST", POSTS)) == 4
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "🏁 Milestone: Alpha"
    nonces = {c.json["nonce"] for c in discord.find("POST", POSTS)}
    assert len(nonces) == 1


async def test_a_restart_mid_queue_loses_nothing_and_doubles_nothing(
    herald: StartHerald, discord: FakeDiscord
):
    core = await herald(**discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan")
    discord.hang_after_create = 1  # the first post is made, but its answer never arrives
    await hacknplan(core, "workitem.created", work_item(1))
    await asyncio.wait_for(until(lambda: bool(discord.messages)), 5)
    for number in range(2, 8):
        await hacknplan(core, "workitem.created", work_item(number))
    await hacknplan(
        core, "workitem.comment.created", sample("hacknplan", "workitem.comment.created")
    )
    await asyncio.wait_for(until_routed(core), 5)
    assert await core.store.pending_count() == 8, "all wait behind the post left hanging"
    await core.close()

    again = await herald(**discord_env(discord), **hacknplan_env())
    await settled(again)
    for number in range(1, 8):
        assert shown(discord, f"Burst item {number}") == 1, number
    assert shown(discord, "Tried 0.8 gravity") == 1


async def until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - the fake's state, polled
        await asyncio.sleep(0.01)


async def until_routed(core: Core) -> None:
    while await core.store.new_deliveries(1):  # noqa: ASYNC110 - polling the database
        await asyncio.sleep(0.01)


def discord_guild() -> int:
    from tests.fakes.discord import GUILD_ID

    return GUILD_ID


async def test_a_poller_submits_like_a_webhook_and_a_build_keeps_one_message(
    herald: StartHerald, discord: FakeDiscord
):
    core = await herald(**discord_env(discord))

    async def normalise(kind: str, build: dict[str, Any]) -> Event:
        title = f"Build {build['id']}"
        card = Card(title=f"{title}: {build['status']}")
        return Event(
            "builds",
            kind,
            card,
            build["status"],
            item=f"builds:{build['id']}",
            title=title,
            attributes={"status": [build["status"]]},
        )

    core.announcements.add_source(
        Source("builds", "Builds", ("build.updated",), ("status",), normalise)
    )
    await subscribe(core, "builds")
    submit = core.announcements.submit
    for status in ("pending", "running", "success"):
        build = {"id": 812, "status": status}
        assert await submit("builds", "build.updated", build, f"build:812:{status}") == "queued"
        await settled(core)
    assert await submit("builds", "build.updated", build, "build:812:success") == "duplicate"
    await settled(core)

    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "Build 812: success"
    assert fields(message["embeds"][0]) == {"Changed": "Status: running → success"}
    assert len(discord.find("PATCH", POSTS)) == 2
