"""/ticket end to end: private answer, priority, attachments as multipart, size caps, modal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartHerald, betahub_env, discord_env, fast_retries, unmarked
from tests.fakes.betahub import PROJECT_ID, FakeBetaHub
from tests.fakes.discord import EPHEMERAL, USER_ID, FakeDiscord

HELP = "I bought the season pass but the new maps are still locked"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
LOG = b"ERROR save slot 3 unreadable\n" * 50


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> FakeDiscord:
    await herald(**discord_env(discord), **betahub_env(betahub))
    return discord


def ticket_interaction(
    discord: FakeDiscord, files: list[dict[str, Any]] | None = None, **options: Any
) -> dict[str, Any]:
    names = ["attachment", "attachment_2", "attachment_3"]
    types = {}
    for name, file in zip(names, files or [], strict=False):
        options[name] = file["id"]
        types[name] = 11
    attachments = {f["id"]: f for f in files or []}
    return discord.command_interaction(
        "ticket", options, attachments=attachments or None, option_types=types
    )


async def test_ticket_answers_privately_with_priority(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = ticket_interaction(bot, description=HELP, title="Season pass", priority="high")
    await bot.interact(payload)
    answer = await bot.answer_to(payload)

    (call,) = betahub.find("POST", "/tickets.json")
    assert call.path == f"/projects/{PROJECT_ID}/tickets.json"
    form = dict(call.form)
    assert unmarked(form.pop("ticket[description]")) == HELP
    assert form == {
        "ticket[title]": "Season pass",
        "ticket[priority]": "high",
        "user[discord_id]": str(USER_ID),
        "user[discord_username]": "ada",
        "user[discord_discriminator]": "0",
    }
    (callback,) = bot.callbacks_for(payload)
    assert callback.json["data"]["flags"] & EPHEMERAL, "the deferral is private too"
    embed = answer["embeds"][0]
    assert embed["title"] == "Support ticket created: Season pass"
    assert embed["url"] == f"{betahub.url}/projects/{PROJECT_ID}/tickets/1", "built from the id"
    assert {"name": "Priority", "value": "high", "inline": True} in embed["fields"]


async def test_priority_is_offered_as_choices(bot: FakeDiscord) -> None:
    ticket = next(c for c in bot.commands["global"] if c["name"] == "ticket")
    priority = next(o for o in ticket["options"] if o["name"] == "priority")
    assert [c["value"] for c in priority["choices"]] == ["low", "medium", "high", "critical"]
    assert [o["type"] for o in ticket["options"] if o["name"].startswith("attachment")] == [11] * 3


async def test_attachments_reach_betahub_as_multipart_bytes(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    files = [
        bot.attachment("shot.png", PNG, "image/png"),
        bot.attachment("save.log", LOG, "text/plain"),
    ]
    payload = ticket_interaction(bot, files, description=HELP)
    await bot.interact(payload)
    answer = await bot.answer_to(payload)

    (call,) = betahub.find("POST", "/tickets.json")
    assert call.headers["Content-Type"].startswith("multipart/form-data")
    assert call.files["ticket[attachments][]"] == [("shot.png", PNG), ("save.log", LOG)]
    assert unmarked(call.form["ticket[description]"]) == HELP
    assert call.form["user[discord_id]"] == str(USER_ID)
    attachments = next(f for f in answer["embeds"][0]["fields"] if f["name"] == "Attachments")
    assert attachments["value"] == "shot.png (1 KB), save.log (1 KB)"


async def test_a_file_over_25_mb_is_refused_before_downloading(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    huge = bot.attachment("gameplay.mp4", b"tiny", "video/mp4", size=30 * 1024 * 1024)
    payload = ticket_interaction(bot, [huge], description=HELP)
    await bot.interact(payload)
    answer = await bot.answer_to(payload)

    assert answer["content"] == (
        "⚠️ gameplay.mp4 is 30.0 MB; files can be at most 25.0 MB."
        " Put a link to it in the description instead."
    )
    assert not bot.find("GET", "/attachments/"), "nothing was downloaded"
    assert betahub.calls == []


async def test_a_file_bigger_than_it_claims_is_cut_off_while_downloading(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    liar = bot.attachment("small.bin", b"\0" * (26 * 1024 * 1024), "application/zip", size=10)
    payload = ticket_interaction(bot, [liar], description=HELP)
    await bot.interact(payload)
    answer = await bot.answer_to(payload, timeout=15)

    assert answer["content"].startswith("⚠️ small.bin is more than 25.0 MB")
    assert betahub.calls == []


async def test_a_missing_attachment_is_explained(bot: FakeDiscord, betahub: FakeBetaHub) -> None:
    gone = bot.attachment("shot.png", PNG)
    bot.files.clear()
    payload = ticket_interaction(bot, [gone], description=HELP)
    await bot.interact(payload)
    answer = await bot.answer_to(payload)
    assert answer["content"] == "⚠️ Could not fetch shot.png (HTTP 404); please attach it again."
    assert betahub.calls == []


async def test_bare_ticket_opens_a_modal_with_a_priority_select_and_file_upload(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    payload = ticket_interaction(bot)
    modal = await bot.opened_modal(payload)

    kinds = [(c["component"]["custom_id"], c["component"]["type"]) for c in modal["components"]]
    assert kinds == [("description", 4), ("title", 4), ("priority", 3), ("attachment", 19)]
    upload = modal["components"][3]["component"]
    assert upload["max_values"] == 3
    assert upload["required"] is False

    shot = bot.attachment("shot.png", PNG)
    submit = bot.modal_submit(
        payload, {"description": HELP, "priority": "critical", "attachment": [shot]}
    )
    await bot.interact(submit)
    answer = await bot.answer_to(submit)

    (call,) = betahub.find("POST", "/tickets.json")
    assert call.form["ticket[priority]"] == "critical"
    assert call.files["ticket[attachments][]"] == [("shot.png", PNG)]
    (deferral,) = bot.callbacks_for(submit)
    assert deferral.json["data"]["flags"] & EPHEMERAL, "the answer is private"
    assert answer["embeds"][0]["title"].startswith("Support ticket created")


async def test_files_given_with_the_command_survive_the_modal(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    log = bot.attachment("save.log", LOG, "text/plain")
    payload = ticket_interaction(bot, [log], priority="medium")
    modal = await bot.opened_modal(payload)
    select = modal["components"][2]["component"]
    assert [o["value"] for o in select["options"] if o.get("default")] == ["medium"]

    submit = bot.modal_submit(payload, {"description": HELP})
    await bot.interact(submit)
    await bot.answer_to(submit)
    (call,) = betahub.find("POST", "/tickets.json")
    assert call.files["ticket[attachments][]"] == [("save.log", LOG)]
    assert call.form["ticket[priority]"] == "medium"


async def test_a_ticket_with_files_is_saved_with_them_during_an_outage(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())
    betahub.script(502, 502, 502)
    shot = discord.attachment("shot.png", PNG)
    payload = ticket_interaction(discord, [shot], description=HELP)
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    assert answer["content"].startswith("💾 BetaHub is not answering right now (HTTP 502).")
    assert "Your support ticket is saved" in answer["content"]

    discord.files.clear()  # the CDN link has expired by the time BetaHub is back
    await discord.wait_for("POST", "/messages")
    (created,) = betahub.created
    assert created["_files"] == [("shot.png", PNG)]
