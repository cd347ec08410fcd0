"""The Slack adapter through real slack-bolt: signed commands, Socket Mode, posting."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.errors import DeliveryError
from bot.models import Card, Colour, Destination, Reply
from tests.conftest import StartHerald, betahub_env, discord_env, unmarked
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import (
    ADMIN_ID,
    APP_TOKEN,
    CHANNEL_ID,
    USER_ID,
    FakeSlack,
    form_body,
    sign,
)

IDEA = "Add a photo mode with a free camera"


async def post_command(core, body: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=headers
        )


async def test_signed_slash_command_acks_and_answers_in_channel(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    core = await herald(**slack.env("http"), **betahub_env(betahub))
    body = form_body(slack.slash_command("/suggest", IDEA))

    started = time.monotonic()
    response = await post_command(core, body, sign(body))
    assert response.status_code == 200
    assert time.monotonic() - started < 3, "Slack needs the ack within 3 seconds"

    # A card follow-ups will edit: posted by the bot in the channel, as response_url
    # answers have no ts to edit.
    (answer,) = await slack.wait_for_post()
    assert answer["channel"] == CHANNEL_ID
    (posted,) = slack.channel_messages(CHANNEL_ID)
    assert posted["thread_ts"] is None
    assert slack.responses == []
    card = answer["attachments"][0]
    assert card["color"] == f"#{int(Colour.OK):06x}"
    assert "Suggestion received" in card["blocks"][0]["text"]["text"]
    (created,) = betahub.created
    assert (
        unmarked(created["feature_request[description]"])
        == f"{IDEA}\n\n— sent from Slack (herald-studio) by Ada"
    )
    assert "user[discord_id]" not in created


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Slack-Signature": "v0=" + "0" * 64}, "bad signature"),
        ({"timestamp": str(int(time.time()) - 600)}, "older than 5 minutes"),
        ({}, "no signature headers at all"),
    ],
)
async def test_unsigned_or_stale_requests_are_refused(
    herald: StartHerald,
    slack: FakeSlack,
    betahub: FakeBetaHub,
    headers: dict[str, str],
    reason: str,
) -> None:
    core = await herald(**slack.env("http"), **betahub_env(betahub))
    body = form_body(slack.slash_command("/suggest", IDEA))
    signed = sign(body, timestamp=int(headers.pop("timestamp", time.time())))
    signed.update(headers)
    if not headers and reason.startswith("no"):
        signed = {"Content-Type": "application/x-www-form-urlencoded"}
    response = await post_command(core, body, signed)
    assert response.status_code == 401, reason
    assert betahub.calls == []


async def test_a_validation_error_is_answered_privately(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    core = await herald(**slack.env("http"), **betahub_env(betahub))
    body = form_body(slack.slash_command("/suggest", "photos"))
    await post_command(core, body, sign(body))
    (answer,) = await slack.wait_for_response()
    assert answer["response_type"] == "ephemeral"
    assert "at least 10 characters" in answer["blocks"][0]["text"]["text"]
    assert betahub.calls == []


async def test_socket_mode_connects_with_the_app_token_and_serves_commands(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    await herald(**slack.env("socket"), **betahub_env(betahub))
    (opened,) = slack.find("POST", "/api/apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {APP_TOKEN}"

    envelope = await slack.send_envelope("slash_commands", slack.slash_command("/suggest", IDEA))
    (answer,) = await slack.wait_for_post()
    assert answer["channel"] == CHANNEL_ID
    assert "Suggestion received" in str(answer["attachments"])
    assert slack.responses == []
    await slack.wait_for_ack(envelope)
    assert len(betahub.created) == 1


async def test_post_edit_and_direct_through_the_web_api(
    herald: StartHerald, slack: FakeSlack
) -> None:
    core = await herald(**slack.env("http"))
    platform = core.platform("slack")
    reply = Reply(card=Card(title="Build <!everyone> **42**", url="https://ci.example/42"))

    posted = await platform.post(Destination("slack", CHANNEL_ID), reply)
    (message,) = slack.channel_messages()
    heading = message["attachments"][0]["blocks"][0]["text"]["text"]
    assert heading == "*<https://ci.example/42|Build &lt;!everyone&gt; *42*>*"

    await platform.edit(posted, Reply(card=Card(title="Build 42 passed")))
    assert slack.messages[CHANNEL_ID, posted.message_id]["edited"] is True

    dm = await platform.direct(USER_ID, Reply(text="Your report went through"))
    assert dm.channel_id == f"D0{USER_ID}"


async def test_delivery_errors_and_429s(herald: StartHerald, slack: FakeSlack) -> None:
    core = await herald(**slack.env("http"))
    platform = core.platform("slack")
    with pytest.raises(DeliveryError) as refused:
        await platform.post(Destination("slack", "C0GONE"), Reply(text="hello"))
    assert refused.value.permanent

    slack.ratelimit_next = 1
    await platform.post(Destination("slack", CHANNEL_ID), Reply(text="after a 429"))
    assert slack.ratelimited == 1
    assert len(slack.channel_messages()) == 1


async def test_posts_to_one_channel_keep_slacks_pace(herald: StartHerald, slack: FakeSlack) -> None:
    core = await herald(**slack.env("http"))
    platform = core.platform("slack")
    slack.enforce_pace = True
    for number in range(3):
        await platform.post(Destination("slack", CHANNEL_ID), Reply(text=f"message {number}"))
    assert slack.ratelimited == 0
    assert len(slack.channel_messages()) == 3


async def test_admin_rights_come_from_slack(herald: StartHerald, slack: FakeSlack) -> None:
    core = await herald(**slack.env("http"), SLACK_ADMIN_GROUP_IDS="S0LEADS")
    platform = core.platform("slack")
    slack.usergroups["S0LEADS"] = ["U0LEAD"]
    slack.users["U0LEAD"] = {"id": "U0LEAD", "name": "lead", "is_admin": False}
    boss = await platform.invocation("subscribe", ADMIN_ID, {})
    lead = await platform.invocation("subscribe", "U0LEAD", {})
    member = await platform.invocation("subscribe", USER_ID, {})
    assert boss.is_admin
    assert lead.is_admin
    assert lead.roles == {"S0LEADS"}
    assert not member.is_admin
    assert member.user.email == "ada@studio.example"


async def test_discord_and_slack_run_in_one_process(
    herald: StartHerald, slack: FakeSlack, discord: FakeDiscord
) -> None:
    core = await herald(**slack.env("socket"), **discord_env(discord))
    async with httpx.AsyncClient() as client:
        health = (await client.get(f"http://127.0.0.1:{core.server.port}/healthz")).json()
    assert health["platforms"] == {"discord": "connected", "slack": "connected"}


async def test_a_user_is_answered_in_the_language_they_read_slack_in(
    herald: StartHerald, slack: FakeSlack
) -> None:
    core = await herald("tests.bot.sample_cogs", **slack.env("http"))
    slack.locales[USER_ID] = "es-ES"
    body = form_body(slack.slash_command("/echo", "text: hola"))
    await post_command(core, body, sign(body))
    await slack.wait_for_response()

    (seen,) = core.cogs["sample"].seen  # type: ignore[attr-defined]
    assert seen.locale == "es", "the handler speaks the user's Spanish"
    (lookup,) = [c for c in slack.calls if c.path == "/api/users.info"]
    asked = {**lookup.query, **dict(lookup.form)}
    assert asked["user"] == USER_ID
    assert asked["include_locale"] in ("1", "true"), "Slack tells the locale only when asked"
    platform = core.platform("slack")
    assert (await platform.profile(USER_ID)).language == "es"  # type: ignore[attr-defined]
    assert [c.path for c in slack.calls].count("/api/users.info") == 1, "kept in the cache"
