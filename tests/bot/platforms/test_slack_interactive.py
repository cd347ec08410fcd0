"""Slack modals, message shortcuts and buttons, through real slack-bolt over signed HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.core import Core
from tests.conftest import StartHerald, betahub_env, butterstack_env, userecho_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.slack import ADMIN_ID, CHANNEL_ID, FakeSlack, form_body, sign
from tests.fakes.userecho import FakeUserEcho

BUG = "The game crashes when I open the map after loading a save"
IDEA = "Add a photo mode with a free camera"


@pytest.fixture
async def core(herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub) -> Core:
    return await herald(**slack.env("http"), **betahub_env(betahub))


async def send(core: Core, body: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=sign(body)
        )


async def command(core: Core, slack: FakeSlack, name: str, text: str = "", **kw: Any) -> None:
    response = await send(core, form_body(slack.slash_command(name, text, **kw)))
    assert response.status_code == 200


async def submit(
    core: Core, slack: FakeSlack, view: dict[str, Any], **values: Any
) -> httpx.Response:
    return await send(core, slack.interactive(slack.view_submission(view, values)))


async def test_a_bare_command_opens_a_modal_and_its_submission_is_sent(
    core: Core, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    await command(core, slack, "/suggest")
    view = await slack.wait_for_view()
    assert [b["block_id"] for b in view["blocks"]] == ["description", "title"]
    description = view["blocks"][0]
    assert description["optional"] is False
    assert description["element"]["multiline"] is True

    response = await submit(core, slack, view, description=IDEA, title="Photo mode")
    assert response.status_code == 200
    (posted,) = await slack.wait_for_post()
    assert posted["channel"] == CHANNEL_ID
    assert "Suggestion received" in posted["attachments"][0]["blocks"][0]["text"]["text"]
    (created,) = betahub.created
    assert created["feature_request[title]"] == "Photo mode"
    assert created["user[email]"] == "ada@studio.example"


async def test_a_bad_field_is_shown_beside_it_and_the_modal_stays(
    core: Core, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    await command(core, slack, "/suggest")
    view = await slack.wait_for_view()
    response = await submit(core, slack, view, description="photos")
    assert response.json()["response_action"] == "errors"
    assert "at least 10 characters" in response.json()["errors"]["description"]
    assert betahub.calls == []


async def test_report_as_bug_shortcut_answers_in_the_messages_thread(
    core: Core, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    shortcut = slack.message_shortcut("herald:menu:report", BUG)
    await send(core, slack.interactive(shortcut))
    view = await slack.wait_for_view()
    assert view["title"]["text"] == "Report as bug"
    assert view["blocks"][0]["element"]["initial_value"] == BUG

    await submit(core, slack, view, description=BUG)
    (posted,) = await slack.wait_for_post()
    assert posted["thread_ts"] == shortcut["message"]["ts"]
    (created,) = betahub.created
    assert created["issue[source]"] == "slack"
    ts = shortcut["message"]["ts"].replace(".", "")
    assert (
        f"https://herald-studio.slack.com/archives/{CHANNEL_ID}/p{ts}"
        in (created["issue[description]"])
    )


async def test_report_as_bug_shortcut_attaches_the_files_shared_in_the_message(
    core: Core, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    shot = b"\x89PNG\r\n\x1a\n" + b"\x07" * 500
    log = b"WARN texture streaming stalled\n" * 20
    files = [slack.file("shot.png", shot, "image/png"), slack.file("game.log", log, "text/plain")]
    shortcut = slack.message_shortcut("herald:menu:report", BUG, files=files)
    await send(core, slack.interactive(shortcut))
    view = await slack.wait_for_view()

    await submit(core, slack, view, description=BUG)
    (posted,) = await slack.wait_for_post()

    assert len(betahub.created) == 1
    assert betahub.evidence == [
        ("screenshots", "screenshot[image]", "shot.png", shot),
        ("log_files", "log_file[file]", "game.log", log),
    ], "downloaded with the bot token, uploaded by kind"
    assert "attached" in json.dumps(posted["attachments"])


async def test_create_anyway_button_creates_the_duplicate(
    core: Core, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Game crashes when I open the map", BUG)
    await command(
        core, slack, "/report", f"description: {BUG} title: Game crashes when I open the map"
    )
    (prompt,) = await slack.wait_for_response()
    assert prompt["response_type"] == "ephemeral"
    buttons = [e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]]
    create = next(b for b in buttons if b["text"]["text"] == "Create anyway")
    assert betahub.created_in("issues") == []

    await send(core, slack.interactive(slack.block_action(create)))
    await slack.wait_for_post()
    assert len(betahub.created_in("issues")) == 1
    replaced = await slack.wait_for_response(2)
    assert replaced[-1]["replace_original"] is True


async def test_tickets_answer_privately_with_the_reporter_email(
    core: Core, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    await command(
        core, slack, "/ticket", "description: I bought the season pass but maps are locked"
    )
    (answer,) = await slack.wait_for_response()
    assert answer["response_type"] == "ephemeral"
    (created,) = betahub.created_in("tickets")
    assert created["ticket[reporter_email]"] == "ada@studio.example"


async def test_admin_commands_need_a_workspace_admin(core: Core, slack: FakeSlack) -> None:
    await command(core, slack, "/herald", "channels show")
    (refused,) = await slack.wait_for_response()
    assert "Only admins can use" in refused["blocks"][0]["text"]["text"]

    await command(core, slack, "/herald", "channels add feedback: report", user_id=ADMIN_ID)
    answers = await slack.wait_for_response(2)
    assert answers[-1]["blocks"][0]["text"]["text"] == f"/report: channel {CHANNEL_ID}"


async def test_topic_from_slack_reaches_userecho(
    herald: StartHerald, slack: FakeSlack, userecho: FakeUserEcho
) -> None:
    core = await herald(**slack.env("http"), **userecho_env(userecho))
    await command(
        core,
        slack,
        "/topic",
        "title: Free camera description: Please add a free camera to the game",
    )
    (answer,) = await slack.wait_for_post()  # a card follow-ups edit: posted by the bot
    assert answer["channel"] == CHANNEL_ID
    assert slack.responses == []
    (call,) = userecho.find("POST", "/topics.json")
    assert call.json["header"] == "Free camera"
    assert "Slack (herald-studio)" in call.json["description"]


async def butterstack_core(
    herald: StartHerald, slack: FakeSlack, butterstack: FakeButterStack
) -> Core:
    return await herald(**slack.env("http"), **butterstack_env(butterstack))


async def test_build_and_deploys_commands_on_slack(
    herald: StartHerald, slack: FakeSlack, butterstack: FakeButterStack
) -> None:
    core = await butterstack_core(herald, slack, butterstack)
    build = butterstack.add_build(status="running", platform="win64")
    butterstack.add_deployment(build["id"], status="live", platform="steam")

    await command(core, slack, "/build", "list")
    (builds,) = await slack.wait_for_response()
    assert "win64" in str(builds)

    await command(core, slack, "/deploys")
    deploys = (await slack.wait_for_response(2))[-1]
    assert "steam" in str(deploys)


async def test_a_user_group_is_a_build_role_on_slack(
    herald: StartHerald, slack: FakeSlack, butterstack: FakeButterStack
) -> None:
    core = await butterstack_core(herald, slack, butterstack)
    slack.usergroups["S0BUILD"] = ["U0ADA"]

    await command(core, slack, "/build", "trigger platform: win64 configuration: shipping")
    (refused,) = await slack.wait_for_response()
    assert "can start builds" in str(refused)
    assert butterstack.triggered == []

    role = "<!subteam^S0BUILD|@builders>"
    await command(core, slack, "/herald", f"config build-role role: {role}", user_id=ADMIN_ID)
    (await slack.wait_for_response(2))

    await command(core, slack, "/build", "trigger platform: win64 configuration: shipping")
    started = (await slack.wait_for_response(3))[-1]
    assert started["response_type"] == "ephemeral"
    assert len(butterstack.triggered) == 1
