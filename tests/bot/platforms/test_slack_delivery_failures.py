"""Slack's refusals, through slack_sdk and the fake Web API: a message Slack refuses goes
again as plain text and then dies alone, a lost answer is looked up in the history instead
of posting twice, lost access waits and tells the admin, an archived channel pauses, and
/herald deliveries is typed on Slack."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bot import delivery
from bot.core import Core
from bot.platforms import slack_outbound
from tests.announcing import hacknplan, sample, settled
from tests.conftest import StartHerald, hacknplan_env
from tests.fakes.slack import ADMIN_ID, CHANNEL_ID, TEAM_ID, FakeSlack, form_body, sign

POSTS = "/api/chat.postMessage"


@pytest.fixture
async def core(herald: StartHerald, slack: FakeSlack) -> Core:
    core = await herald(**slack.env("http"), **hacknplan_env())
    await command(core, slack, "/subscribe", "service: hacknplan")
    return core


async def command(core: Core, slack: FakeSlack, name: str, text: str) -> str:
    """A slash command typed by the workspace admin; the text of its private answer."""
    answered = len(slack.responses)
    body = form_body(slack.slash_command(name, text, user_id=ADMIN_ID))
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=sign(body)
        )
    assert response.status_code == 200
    answer = (await slack.wait_for_response(answered + 1))[-1]
    assert answer["response_type"] == "ephemeral"
    return str(answer)


async def milestone(core: Core) -> None:
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))


async def board(core: Core) -> None:
    await hacknplan(core, "board.closed", sample("hacknplan", "board.closed"))


def posts_with(slack: FakeSlack, text: str, channel: str = CHANNEL_ID) -> list[dict[str, Any]]:
    """Every attempt to post a message holding `text` in `channel` (refused ones included)."""
    calls = [c.json for c in slack.find("POST", POSTS) if c.json["channel"] == channel]
    return [c for c in calls if text in str(c)]


def dms(slack: FakeSlack) -> list[dict[str, Any]]:
    return slack.channel_messages(f"D0{ADMIN_ID}")


@pytest.mark.parametrize("code", ["invalid_blocks", "invalid_attachments", "msg_blocks_too_long"])
async def test_a_message_slack_refuses_is_posted_again_as_plain_text(
    core: Core, slack: FakeSlack, code: str
):
    slack.refuse("Milestone: Alpha", code)
    await milestone(core)
    await settled(core)
    (message,) = slack.channel_messages()
    assert not message["blocks"]
    assert not message["attachments"]
    assert message["text"].startswith("🏁 Milestone: Alpha\nhttps://app.hacknplan.com/")
    assert len(posts_with(slack, "Milestone: Alpha")) == 2
    assert await core.store.dead_letters("slack", TEAM_ID) == []


async def test_refused_as_plain_text_too_it_dies_and_the_channel_moves_on(
    core: Core, slack: FakeSlack
):
    slack.refuse("Milestone: Alpha", "invalid_blocks", plain_too=True)
    await milestone(core)
    await board(core)
    await settled(core)
    (message,) = slack.channel_messages()
    assert "Board: Sprint 4" in message["text"]
    assert len(posts_with(slack, "Milestone: Alpha")) == 2, "rich, then plain"
    (dead,) = await core.store.dead_letters("slack", TEAM_ID)
    assert dead.count == 1
    assert "1 announcement(s) could not be delivered" in await command(
        core, slack, "/subscriptions", ""
    )


async def test_a_lost_answer_is_looked_up_in_the_history_not_posted_twice(
    core: Core, slack: FakeSlack
):
    slack.lose_answers = 1  # the message is posted, but Slack's answer is a 502
    await milestone(core)
    await settled(core)
    (message,) = slack.channel_messages()
    assert message["metadata"]["event_type"] == "herald_post"
    assert message["metadata"]["event_payload"]["key"].endswith(":b1:card")
    assert len(posts_with(slack, "Milestone: Alpha")) == 1
    (looked,) = slack.find("GET", "/api/conversations.history")
    assert looked.query["include_all_metadata"] in ("1", "true")

    await board(core)
    await settled(core)
    assert len(slack.channel_messages()) == 2
    assert len(slack.find("GET", "/api/conversations.history")) == 1, "only after a lost answer"


async def test_a_post_whose_connection_dropped_is_looked_up_not_sent_twice(
    core: Core, slack: FakeSlack
):
    slack.drop_after["chat.postMessage"] = 1  # Slack posts it; the answer never comes
    await milestone(core)
    await settled(core)
    assert len(posts_with(slack, "Milestone: Alpha")) == 1
    assert len(slack.find("POST", "/api/chat.postMessage")) == 1, "slack-sdk did not repeat it"
    assert slack.find("GET", "/api/conversations.history"), "Herald looked for its key instead"


async def test_lost_access_keeps_rows_tells_the_admin_once_and_resumes(
    monkeypatch: pytest.MonkeyPatch, core: Core, slack: FakeSlack
):
    monkeypatch.setattr(delivery, "ACCESS_FIRST_SECONDS", 0.05)
    monkeypatch.setattr(delivery, "ACCESS_MAX_SECONDS", 0.2)
    # The refused tries use up the channel's one-a-second allowance; with it, the two rows
    # waiting when access comes back could be folded into a digest, depending on timing.
    monkeypatch.setattr(slack_outbound, "CHANNEL_MESSAGES", 100)
    slack.channel_errors[CHANNEL_ID] = "not_in_channel"
    await milestone(core)
    await board(core)

    async def refused_thrice() -> None:
        while len(posts_with(slack, "Milestone")) < 3:  # noqa: ASYNC110 - the fake's state
            await asyncio.sleep(0.02)

    await asyncio.wait_for(refused_thrice(), 5)
    assert await core.store.pending_count() == 2
    (subscription,) = await core.store.subscriptions("slack", TEAM_ID)
    assert subscription.paused is None
    (dm,) = dms(slack)
    assert f"Herald can no longer post in <#{CHANNEL_ID}>" in dm["text"]

    del slack.channel_errors[CHANNEL_ID]
    await settled(core)
    assert [m["text"][:20] for m in slack.channel_messages()] == [
        "🏁 Milestone: Alpha",
        "📋 Board: Sprint 4",
    ]
    assert len(dms(slack)) == 1


async def test_an_archived_channel_drops_its_rows_and_pauses(core: Core, slack: FakeSlack):
    slack.channel_errors[CHANNEL_ID] = "is_archived"
    await milestone(core)
    await settled(core)
    (subscription,) = await core.store.subscriptions("slack", TEAM_ID)
    assert subscription.paused == f"Slack refused channel {CHANNEL_ID}: is_archived"
    (dead,) = await core.store.dead_letters("slack", TEAM_ID)
    assert dead.count == 1
    assert dms(slack) == []


async def test_herald_deliveries_typed_on_slack_lists_and_retries(core: Core, slack: FakeSlack):
    slack.refuse("Milestone: Alpha", "invalid_blocks", plain_too=True)
    await milestone(core)
    await settled(core)
    listed = await command(core, slack, "/herald", f"deliveries <#{CHANNEL_ID}|general>")
    assert "Alpha" in listed
    assert "invalid_blocks" in listed

    slack.refusals.clear()
    retried = await command(core, slack, "/herald", f"deliveries retry <#{CHANNEL_ID}|general>")
    assert f"1 announcement(s) in <#{CHANNEL_ID}> queued to be sent again" in retried
    await settled(core)
    (message,) = slack.channel_messages()
    assert "Milestone: Alpha" in str(message["attachments"])


async def test_an_edit_slack_refuses_is_made_again_as_plain_text(core: Core, slack: FakeSlack):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await settled(core)
    slack.refuse("In progress", "invalid_attachments")
    await hacknplan(core, "workitem.updated", sample("hacknplan", "workitem.updated"))
    await settled(core)
    (card,) = slack.channel_messages()
    assert card["edited"] is True
    assert card["attachments"] == []
    assert card["blocks"] == []
    assert "Stage: In progress" in card["text"]
    assert len(slack.find("POST", "/api/chat.update")) == 2
