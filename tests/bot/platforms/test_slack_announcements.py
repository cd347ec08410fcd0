"""Announcements on Slack: subscribe from Slack, cards posted, edited in place, threads, 429s."""

from __future__ import annotations

import httpx
import pytest

from bot.core import Core
from tests.announcing import hacknplan, sample, settled, subscribe
from tests.conftest import StartHerald, betahub_env, discord_env, hacknplan_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import CHANNEL_ID as DISCORD_CHANNEL
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import ADMIN_ID, CHANNEL_ID, TEAM_ID, FakeSlack, form_body, sign


@pytest.fixture
async def core(herald: StartHerald, slack: FakeSlack) -> Core:
    return await herald(**slack.env("http"), **hacknplan_env())


async def command(core: Core, slack: FakeSlack, name: str, text: str, user_id: str) -> None:
    body = form_body(slack.slash_command(name, text, user_id=user_id))
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=sign(body)
        )
    assert response.status_code == 200


def heading(message: dict) -> str:
    return message["attachments"][0]["blocks"][0]["text"]["text"]


async def test_an_admin_subscribes_a_channel_from_slack(core: Core, slack: FakeSlack) -> None:
    text = f"service: hacknplan channel: <#{CHANNEL_ID}|general> exclude: workitem.worklog.*"
    await command(core, slack, "/subscribe", text, ADMIN_ID)
    (answer,) = await slack.wait_for_response()
    assert answer["response_type"] == "ephemeral"

    (subscription,) = await core.store.subscriptions("slack", TEAM_ID)
    assert (subscription.service, subscription.channel_id) == ("hacknplan", CHANNEL_ID)

    created = sample("hacknplan", "workitem.created")
    assert (await hacknplan(core, "workitem.created", created))[0] == 200
    await settled(core)
    (message,) = slack.channel_messages()
    assert heading(message).startswith("*<https://app.hacknplan.com/p/128/")


async def test_a_card_is_edited_in_place_and_follow_ups_go_in_its_thread(
    core: Core, slack: FakeSlack
) -> None:
    await subscribe(core, "hacknplan", CHANNEL_ID, platform="slack")
    for kind in ("workitem.created", "workitem.updated", "workitem.comment.created"):
        assert (await hacknplan(core, kind, sample("hacknplan", kind)))[0] == 200
        await settled(core)

    card, *replies = slack.channel_messages()
    assert card["thread_ts"] is None
    assert card["edited"] is True
    assert "In progress" in str(card["attachments"])
    assert replies
    assert all(reply["thread_ts"] == card["ts"] for reply in replies)
    assert slack.find("POST", "/api/chat.update")


async def test_a_429_is_waited_out_and_nothing_is_lost_or_doubled(
    core: Core, slack: FakeSlack
) -> None:
    await subscribe(core, "hacknplan", CHANNEL_ID, platform="slack")
    slack.ratelimit_next = 2
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await settled(core)
    assert slack.ratelimited == 2
    assert len(slack.channel_messages()) == 1


async def test_one_event_is_announced_on_discord_and_slack(
    herald: StartHerald, slack: FakeSlack, discord: FakeDiscord
) -> None:
    core = await herald(**slack.env("socket"), **discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan", CHANNEL_ID, platform="slack")
    await subscribe(core, "hacknplan", DISCORD_CHANNEL, platform="discord")

    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await settled(core)

    (on_slack,) = slack.channel_messages()
    (on_discord,) = discord.channel_messages(DISCORD_CHANNEL)
    assert "Double jump feels floaty" in heading(on_slack)
    assert on_discord["embeds"][0]["title"] == "#42 Double jump feels floaty"


async def test_slack_escapes_in_command_text_are_undone(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    core = await herald(**slack.env("http"), **betahub_env(betahub))
    typed = "Show &lt;b&gt;ping&lt;/b&gt; &amp; FPS for <@U0BOSS|boss> in <#C0X|general>"
    await command(core, slack, "/suggest", typed, "U0ADA")
    await slack.wait_for_post()
    (created,) = betahub.created
    assert created["feature_request[description]"].startswith(
        "Show <b>ping</b> & FPS for @boss in #general"
    )


async def test_subscriptions_and_unsubscribe_from_slack(core: Core, slack: FakeSlack) -> None:
    await command(core, slack, "/subscribe", "service: hacknplan", ADMIN_ID)
    (subscribed,) = await slack.wait_for_response()
    assert f"<#{CHANNEL_ID}> will announce" in subscribed["blocks"][0]["text"]["text"]

    await command(core, slack, "/subscriptions", "", ADMIN_ID)
    listed = (await slack.wait_for_response(2))[-1]
    assert "HacknPlan" in str(listed)

    await command(core, slack, "/unsubscribe", "service: hacknplan", ADMIN_ID)
    stopped = (await slack.wait_for_response(3))[-1]
    assert "Stopped" in stopped["blocks"][0]["text"]["text"]
    assert await core.store.subscriptions("slack", TEAM_ID) == []


async def test_members_cannot_subscribe_on_slack(core: Core, slack: FakeSlack) -> None:
    await command(core, slack, "/subscribe", "service: hacknplan", "U0ADA")
    (refused,) = await slack.wait_for_response()
    assert "Only admins can use /subscribe" in refused["blocks"][0]["text"]["text"]
    assert await core.store.subscriptions("slack", TEAM_ID) == []
