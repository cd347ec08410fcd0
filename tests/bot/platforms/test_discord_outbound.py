"""Posting, editing and DMs through the real discord.py client against the fake Discord."""

from __future__ import annotations

import pytest

from bot.errors import DeliveryError
from bot.models import Card, Destination, Reply
from tests.conftest import StartHerald, discord_env
from tests.fakes.discord import CHANNEL_ID, USER_ID, FakeDiscord


@pytest.fixture
async def discord_platform(herald: StartHerald, discord: FakeDiscord):
    core = await herald(**discord_env(discord))
    return core.platform("discord")


async def test_post_sends_a_card_with_mentions_disabled(discord_platform, discord: FakeDiscord):
    reply = Reply(text="@everyone look", card=Card(title="Build 42 passed"))
    posted = await discord_platform.post(Destination("discord", str(CHANNEL_ID)), reply)

    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["id"] == posted.message_id
    (call,) = discord.find("POST", f"/channels/{CHANNEL_ID}/messages")
    assert call.json["allowed_mentions"] == {"parse": []}
    assert call.json["embeds"][0]["title"] == "Build 42 passed"


async def test_a_retried_post_with_the_same_key_is_not_doubled(
    discord_platform, discord: FakeDiscord
):
    to = Destination("discord", str(CHANNEL_ID))
    first = await discord_platform.post(to, Reply(text="once"), key="event-7:channel-1")
    second = await discord_platform.post(to, Reply(text="once"), key="event-7:channel-1")

    assert first == second
    assert len(discord.channel_messages(CHANNEL_ID)) == 1
    nonces = {c.json["nonce"] for c in discord.find("POST", "/messages")}
    assert len(nonces) == 1
    assert len(nonces.pop()) <= 25
    assert all(c.json["enforce_nonce"] for c in discord.find("POST", "/messages"))


async def test_edit_replaces_the_message(discord_platform, discord: FakeDiscord):
    posted = await discord_platform.post(
        Destination("discord", str(CHANNEL_ID)), Reply(text="running")
    )
    await discord_platform.edit(posted, Reply(card=Card(title="passed")))

    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "passed"
    assert message["edited_timestamp"] is not None


async def test_direct_message_and_closed_dms(discord_platform, discord: FakeDiscord):
    posted = await discord_platform.direct(str(USER_ID), Reply(text="Your report went through"))
    assert discord.dm_channels[int(posted.channel_id)] == USER_ID

    discord.closed_dms.add(USER_ID)
    with pytest.raises(DeliveryError) as refused:
        await discord_platform.direct(str(USER_ID), Reply(text="again"))
    assert refused.value.permanent


async def test_posting_to_a_deleted_channel_is_a_permanent_failure(
    discord_platform, discord: FakeDiscord
):
    discord.missing_channels.add(CHANNEL_ID)
    with pytest.raises(DeliveryError) as refused:
        await discord_platform.post(Destination("discord", str(CHANNEL_ID)), Reply(text="hi"))
    assert refused.value.permanent
