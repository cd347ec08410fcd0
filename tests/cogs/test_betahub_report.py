"""/report end to end: slash command, modal, "Report as bug" menu, duplicates, channel rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartHerald, betahub_env, discord_env, unmarked
from tests.fakes.betahub import PROJECT_ID, FakeBetaHub
from tests.fakes.discord import ADMIN, CHANNEL_ID, EPHEMERAL, USER_ID, FakeDiscord

BUG = "The game crashes when I open the map after loading a save"
STEPS = "1. Load a save\n2. Press M"


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> FakeDiscord:
    await herald(**discord_env(discord), **betahub_env(betahub))
    return discord


async def report(discord: FakeDiscord, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction("report", options)
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def test_report_creates_a_bug_with_source_discord_and_answers_publicly(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    answer = await report(bot, description=BUG, steps=STEPS, title="Map crash")

    (call,) = betahub.find("POST", "/issues.json")
    assert call.path == f"/projects/{PROJECT_ID}/issues.json"
    form = dict(call.form)
    assert unmarked(form.pop("issue[description]")) == BUG
    assert form == {
        "issue[unformatted_steps_to_reproduce]": STEPS,
        "issue[title]": "Map crash",
        "issue[source]": "discord",
        "user[discord_id]": str(USER_ID),
        "user[discord_username]": "ada",
        "user[discord_discriminator]": "0",
    }
    assert not answer.get("flags", 0) & EPHEMERAL, "a bug report card is public"
    embed = answer["embeds"][0]
    assert embed["title"] == "Bug report received: Map crash"
    assert embed["url"] == f"https://app.betahub.io/projects/{PROJECT_ID}/issues/1"
    assert embed["fields"][0]["name"] == "Steps to reproduce"
    assert answer["components"][0]["components"][0]["url"] == embed["url"]


async def test_report_without_steps_tells_the_reporter_what_helps(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    answer = await report(bot, description=BUG)
    assert "issue[unformatted_steps_to_reproduce]" not in betahub.created[0]
    field = answer["embeds"][0]["fields"][0]
    assert field["name"] == "Help us fix it faster"
    assert "steps to reproduce" in field["value"]


async def test_user_text_is_escaped_and_mentions_are_disabled(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    answer = await report(bot, description="@everyone the **boss** fight _never_ ends")
    sent = unmarked(betahub.created[0]["issue[description]"])
    assert sent == "@everyone the **boss** fight _never_ ends"
    embed = answer["embeds"][0]
    assert embed["description"] == "@everyone the \\*\\*boss\\*\\* fight \\_never\\_ ends"
    assert answer["allowed_mentions"] == {"parse": []}


async def test_report_title_autocomplete_offers_existing_bugs(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Crash when opening the map")
    betahub.seed("issues", "Sound stutters in menus")

    choices = await bot.autocomplete("report", "title", "map crash", description=BUG)

    (search,) = betahub.find("GET", "/issues/search.json")
    assert search.query == {"query": "map crash", "partial": "true"}
    assert choices == [
        {"name": "map crash", "value": "map crash"},
        {"name": "Existing: Crash when opening the map", "value": "Crash when opening the map"},
    ]


async def test_close_matches_are_shown_before_creating_and_create_anyway_creates(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    existing = betahub.seed("issues", "Game crashes when opening the map")
    payload = bot.command_interaction("report", {"description": BUG, "title": "Crash opening map"})
    await bot.interact(payload)
    prompt = await bot.answer_to(payload)

    assert betahub.created == [], "nothing is created while the user decides"
    assert prompt["flags"] & EPHEMERAL, "the duplicate prompt is private"
    assert existing["url"] in prompt["embeds"][0]["description"]
    buttons = prompt["components"][0]["components"]
    assert [b["label"] for b in buttons] == [
        "Open: Game crashes when opening the map",
        "Create anyway",
        "Cancel",
    ]
    assert buttons[0]["url"] == existing["url"]

    press = bot.button_press(prompt, "Create anyway")
    await bot.interact(press)
    card = await bot.answer_to(press)

    (created,) = betahub.created_in("issues")
    assert unmarked(created["issue[description]"]) == BUG
    assert card["embeds"][0]["title"] == "Bug report received: Crash opening map"
    assert not card.get("flags", 0) & EPHEMERAL, "the card created anyway is public"
    (edited,) = await bot.wait_for("PATCH", press["token"])
    assert edited.json["content"] == "✅ Done."
    assert edited.json["components"] == [], "the prompt's buttons are removed"

    again = bot.button_press(prompt, "Create anyway")
    await bot.interact(again)
    second = await bot.answer_to(again)
    assert "already sent" in second["content"]
    assert len(betahub.created) == 1, "a second press creates nothing"


async def test_cancel_discards_the_draft(bot: FakeDiscord, betahub: FakeBetaHub) -> None:
    betahub.seed("issues", "Game crashes when opening the map")
    payload = bot.command_interaction("report", {"description": BUG, "title": "Crash opening map"})
    await bot.interact(payload)
    prompt = await bot.answer_to(payload)

    press = bot.button_press(prompt, "Cancel")
    await bot.interact(press)
    answer = await bot.answer_to(press)
    assert answer["content"].startswith("Not sent")

    late = bot.button_press(prompt, "Create anyway")
    await bot.interact(late)
    assert (await bot.answer_to(late))["content"] == answer["content"], "one outcome, told alike"
    assert betahub.created == []


async def test_only_the_author_can_create_their_draft(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Game crashes when opening the map")
    payload = bot.command_interaction("report", {"description": BUG, "title": "Crash opening map"})
    await bot.interact(payload)
    prompt = await bot.answer_to(payload)

    press = bot.button_press(prompt, "Create anyway", user=bot.user(777, "mallory"))
    await bot.interact(press)
    assert "Only the person who wrote it" in (await bot.answer_to(press))["content"]
    assert betahub.created == []


async def test_unrelated_search_results_do_not_stop_the_report(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Map markers are too small on 4K screens")
    answer = await report(bot, description=BUG, title="Crash opening map")
    assert betahub.find("GET", "/issues/search.json"), "the duplicate search ran"
    assert answer["embeds"][0]["title"] == "Bug report received: Crash opening map"


async def test_a_failing_search_never_blocks_the_report(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script_search(500)
    answer = await report(bot, description=BUG, title="Crash opening map")
    assert answer["embeds"][0]["title"] == "Bug report received: Crash opening map"
    assert len(betahub.created) == 1


async def test_bare_report_opens_a_modal_and_its_submission_creates_the_bug(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = bot.command_interaction("report", {})
    modal = await bot.opened_modal(payload)

    assert modal["title"] == "/report"
    fields = [(c["label"], c["component"]["custom_id"]) for c in modal["components"]]
    assert fields == [
        ("Description", "description"),
        ("Steps", "steps"),
        ("Title", "title"),
        ("Screenshot", "screenshot"),
        ("Video", "video"),
    ], "a modal holds five fields: the log is left out"
    assert modal["components"][0]["component"]["style"] == 2, "the description is a paragraph"

    submit = bot.modal_submit(payload, {"description": BUG, "steps": STEPS, "title": "Map crash"})
    await bot.interact(submit)
    answer = await bot.answer_to(submit)

    assert betahub.created[0]["issue[unformatted_steps_to_reproduce]"] == STEPS
    assert answer["embeds"][0]["title"] == "Bug report received: Map crash"


async def test_a_modal_with_too_short_text_gives_the_text_back(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = bot.command_interaction("report", {"title": "Crash"})
    modal = await bot.opened_modal(payload)
    title_field = modal["components"][2]["component"]
    assert title_field["value"] == "Crash", "what was given is prefilled"

    submit = bot.modal_submit(payload, {"description": "it broke"})
    await bot.interact(submit)
    (callback,) = await bot.wait_for("POST", f"/interactions/{submit['id']}/")
    content = callback.json["data"]["content"]
    assert "at least 10 characters" in content
    assert "> it broke" in content
    assert betahub.created == []


async def test_report_as_bug_menu_prefills_the_message_and_replies_to_it(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    message = bot.message_payload("After the patch my save won't load, it says *corrupt*")
    payload = bot.message_command_interaction("Report as bug", message)
    modal = await bot.opened_modal(payload)

    assert modal["title"] == "Report as bug"
    description = modal["components"][0]["component"]
    assert description["value"] == message["content"]

    submit = bot.modal_submit(payload, {"title": "Save will not load"})
    await bot.interact(submit)
    (posted,) = await bot.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")

    link = f"https://discord.com/channels/222222222222222222/{CHANNEL_ID}/{message['id']}"
    sent = unmarked(betahub.created[0]["issue[description]"])
    assert sent.startswith(message["content"])
    assert sent.endswith(f"From a message by Grace: {link}")
    assert str(posted.json["message_reference"]["message_id"]) == message["id"]
    assert posted.json["embeds"][0]["title"] == "Bug report received: Save will not load"
    assert posted.json["allowed_mentions"] == {"parse": []}
    assert await bot.wait_for("DELETE", submit["token"]), "the placeholder answer is removed"


async def test_channel_rules_limit_report_to_chosen_channels(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    bugs = {"id": "999999999999999999", "name": "bugs", "type": 0, "permissions": "0"}
    admin = bot.command_interaction(
        "herald",
        {"change": "add", "feedback": "report", "channel": bugs["id"]},
        subcommand="channels",
        permissions=ADMIN,
        option_types={"channel": 7},
    )
    admin["data"]["resolved"] = {"channels": {bugs["id"]: bugs}}
    await bot.interact(admin)
    confirmation = await bot.answer_to(admin)
    assert confirmation["content"] == "/report: #bugs"

    refused = await report(bot, description=BUG)
    assert refused["content"] == "⚠️ /report can be used in #bugs on this server."
    assert betahub.created == []

    suggestion = bot.command_interaction("suggest", {"description": "A photo mode, please!"})
    await bot.interact(suggestion)
    assert (await bot.answer_to(suggestion))["embeds"], "/suggest is not limited"


async def test_channel_rules_need_an_admin(bot: FakeDiscord) -> None:
    payload = bot.command_interaction("herald", {"change": "clear"}, subcommand="channels")
    await bot.interact(payload)
    answer = await bot.answer_to(payload)
    assert answer["content"] == "⚠️ Only admins can use /herald channels."


async def test_admin_commands_are_hidden_from_members_by_default(bot: FakeDiscord) -> None:
    herald = next(c for c in bot.commands["global"] if c["name"] == "herald")
    assert int(herald["default_member_permissions"]) == ADMIN
    report = next(c for c in bot.commands["global"] if c["name"] == "report")
    assert report.get("default_member_permissions") is None
    assert not any(o.get("required") for o in report["options"]), "bare /report opens a form"
