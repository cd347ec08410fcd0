"""Follow-ups on Slack: the card posted from a form is edited, the DM goes through
conversations.open + chat.postMessage, Stop updates works, /mine answers privately."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from bot.core import Core
from tests.conftest import StartHerald, betahub_env
from tests.fakes.betahub import PROJECT_ID, FakeBetaHub
from tests.fakes.slack import CHANNEL_ID, USER_ID, FakeSlack, form_body, sign

BUG = "The game crashes when I open the map after loading a save"
URL = f"https://app.betahub.io/projects/{PROJECT_ID}/issues/1"
DM = f"D0{USER_ID}"


async def send(core: Core, body: str) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=sign(body)
        )
    assert response.status_code == 200


async def until(condition: Any, what: str, timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, f"no {what} within {timeout}s"
        await asyncio.sleep(0.05)


async def test_a_status_change_reaches_the_slack_user_and_mine_lists_it(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    core = await herald(
        **slack.env("http"), **betahub_env(betahub), BETAHUB_FOLLOWUP_POLL_SECONDS="0.2"
    )
    await send(core, form_body(slack.slash_command("/report")))
    view = await slack.wait_for_view()
    await send(core, slack.interactive(slack.view_submission(view, {"description": BUG})))
    await slack.wait_for_post()
    (card,) = slack.channel_messages(CHANNEL_ID)

    async def read() -> bool:
        items = await core.store.user_followups("slack", USER_ID, 10)
        return bool(items) and items[0].status == "new"

    await until(read, "the first reading")
    betahub.set_status("issues", 1, "in_progress")
    await until(lambda: _has(slack, DM), "the DM")

    (opened,) = slack.find("POST", "/api/conversations.open")
    assert {**opened.query, **dict(opened.form), **(opened.json or {})}["users"] == USER_ID
    (dm,) = slack.channel_messages(DM)
    assert "New → In progress" in dm["text"]
    assert "New → *In progress*" in str(dm["blocks"])
    assert URL in dm["text"]
    edited = slack.messages[CHANNEL_ID, card["ts"]]
    assert edited["edited"] is True
    assert "In progress" in str(edited["attachments"])

    stop = next(
        e
        for block in dm["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["text"]["text"] == "Stop updates"
    )
    await send(core, slack.interactive(slack.block_action(stop)))
    await until(lambda: _stopped(core), "Stop updates")
    (stopped,) = await slack.wait_for_response()
    assert "No more messages about" in str(stopped["blocks"])

    await send(core, form_body(slack.slash_command("/mine")))
    _, answer = await slack.wait_for_response(2)
    assert answer["response_type"] == "ephemeral"
    assert f"<{URL}|" in str(answer["blocks"])
    assert "In progress" in str(answer["blocks"])


async def _has(slack: FakeSlack, channel: str) -> bool:
    return bool(slack.channel_messages(channel))


async def _stopped(core: Core) -> bool:
    (item,) = await core.store.user_followups("slack", USER_ID, 10)
    return not item.wants_updates


async def _first_reading(core: Core) -> bool:
    items = await core.store.user_followups("slack", USER_ID, 10)
    return bool(items) and items[0].status == "new"


async def test_a_card_from_a_typed_slash_command_is_posted_by_the_bot_and_edited(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    """`/report` typed with all its options: a response_url answer has no ts to edit
    and expires after 30 minutes, so the card goes out with chat.postMessage."""
    core = await herald(
        **slack.env("http"), **betahub_env(betahub), BETAHUB_FOLLOWUP_POLL_SECONDS="0.2"
    )
    await send(core, form_body(slack.slash_command("/report", f"description: {BUG}")))
    (posted,) = await slack.wait_for_post()
    assert posted["channel"] == CHANNEL_ID
    (card,) = slack.channel_messages(CHANNEL_ID)
    assert "Bug report received" in str(card["attachments"])
    assert slack.responses == [], "no second answer through the response_url"

    await until(lambda: _first_reading(core), "the first reading")
    betahub.set_status("issues", 1, "in_progress")
    await until(lambda: _has(slack, DM), "the DM")
    await until(lambda: _edited(slack, card["ts"]), "the card's edit")

    (dm,) = slack.channel_messages(DM)
    assert "New → In progress" in dm["text"]
    (update,) = slack.find("POST", "/api/chat.update")
    assert (update.json["channel"], update.json["ts"]) == (CHANNEL_ID, card["ts"])
    edited = slack.messages[CHANNEL_ID, card["ts"]]
    assert "In progress" in str(edited["attachments"])
    assert slack.responses == []


async def test_a_typed_slash_command_outside_the_bots_channels_answers_through_response_url(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    """The bot cannot post where it is not a member: the card comes back through the
    response_url, in the channel, as before; only its later edits are lost."""
    core = await herald(
        **slack.env("http"), **betahub_env(betahub), BETAHUB_FOLLOWUP_POLL_SECONDS="0.2"
    )
    slack.channel_errors[CHANNEL_ID] = "not_in_channel"
    await send(core, form_body(slack.slash_command("/report", f"description: {BUG}")))
    (answer,) = await slack.wait_for_response()
    assert answer["response_type"] == "in_channel"
    assert "Bug report received" in str(answer["attachments"])
    assert len(slack.find("POST", "/api/chat.postMessage")) == 1, "tried once, refused"
    assert slack.channel_messages(CHANNEL_ID) == []
    assert len(betahub.created) == 1

    await until(lambda: _first_reading(core), "the first reading")
    betahub.set_status("issues", 1, "in_progress")
    await until(lambda: _has(slack, DM), "the DM")
    (dm,) = slack.channel_messages(DM)
    assert "New → In progress" in dm["text"]
    assert slack.find("POST", "/api/chat.update") == []
    assert len(slack.responses) == 1


async def _edited(slack: FakeSlack, ts: str) -> bool:
    return bool(slack.messages[CHANNEL_ID, ts].get("edited"))
