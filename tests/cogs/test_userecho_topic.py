"""/topic end to end: a real discord.py bot, a fake Discord and a fake UserEcho."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartHerald, discord_env, fast_retries, unmarked, userecho_env
from tests.fakes.discord import EPHEMERAL, USER_ID, FakeDiscord
from tests.fakes.userecho import FORUM_ID, TOKEN, FakeUserEcho

TEXT = "Could we get a colour-blind mode for the minimap markers?"


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho) -> FakeDiscord:
    await herald(**discord_env(discord), **userecho_env(userecho))
    return discord


async def topic(discord: FakeDiscord, **options: Any) -> dict[str, Any]:
    payload = discord.command_interaction("topic", options)
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def test_topic_posts_json_with_the_first_type_and_names_the_user(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    answer = await topic(bot, title="Colour-blind minimap", description=TEXT)

    (call,) = userecho.find("POST", "/topics.json")
    assert call.path == f"/api/v2/forums/{FORUM_ID}/topics.json"
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["Content-Type"] == "application/json"
    body = dict(call.json)
    assert unmarked(body.pop("description")) == f"{TEXT}\n\n— posted from Discord by Ada"
    assert body == {"header": "Colour-blind minimap", "type": 1}
    embed = answer["embeds"][0]
    assert embed["title"] == "Topic posted: Colour-blind minimap"
    assert embed["url"] == f"{userecho.url}/topics/101/"
    assert not answer.get("flags", 0) & EPHEMERAL, "a forum topic is announced publicly"


async def test_type_and_category_by_name_become_ids_and_are_fetched_once(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    await topic(bot, title="Minimap", description=TEXT, kind="questions", category="Graphics")
    await topic(bot, title="Marker shapes", description=TEXT + " again", kind="2", category="11")

    first, second = userecho.find("POST", "/topics.json")
    assert (first.json["type"], first.json["category"]) == (3, 12)
    assert (second.json["type"], second.json["category"]) == (2, 11)
    assert len(userecho.find("GET", "/types.json")) == 1, "types are cached"
    assert len(userecho.find("GET", "/categories.json")) == 1, "categories are cached"


async def test_an_unknown_category_lists_the_real_ones(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    answer = await topic(bot, title="Minimap", description=TEXT, category="Sound")
    assert answer["content"] == (
        "⚠️ There is no category “Sound” on the forum. Choose one of: Gameplay, Graphics."
    )
    assert userecho.topics == []


async def test_types_and_categories_autocomplete(bot: FakeDiscord) -> None:
    assert await bot.autocomplete("topic", "kind", "") == [
        {"name": "Ideas", "value": "1"},
        {"name": "Problems", "value": "2"},
        {"name": "Questions", "value": "3"},
    ]
    assert await bot.autocomplete("topic", "category", "gra") == [
        {"name": "Graphics", "value": "12"}
    ]


async def test_bare_topic_opens_a_modal_with_the_forums_types_and_categories(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    payload = bot.command_interaction("topic", {})
    modal = await bot.opened_modal(payload)
    kinds = {c["component"]["custom_id"]: c["component"] for c in modal["components"]}
    assert [o["label"] for o in kinds["kind"]["options"]] == ["Ideas", "Problems", "Questions"]
    assert [o["value"] for o in kinds["category"]["options"]] == ["11", "12"]

    submit = bot.modal_submit(
        payload, {"title": "Minimap", "description": TEXT, "kind": "2", "category": "11"}
    )
    await bot.interact(submit)
    await bot.answer_to(submit)
    (created,) = userecho.topics
    assert (created["type"], created["category"]) == (2, 11)


async def test_topic_is_posted_as_the_forum_member_when_sso_knows_them(
    herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho
) -> None:
    userecho.sso_users[f"discord-{USER_ID}"] = 42
    await herald(
        **discord_env(discord), **userecho_env(userecho), USERECHO_SSO_GUID_FORMAT="discord-{id}"
    )
    await topic(discord, title="Minimap", description=TEXT)

    (lookup,) = userecho.find("GET", "/users/sso/")
    assert lookup.path == f"/api/v2/users/sso/discord-{USER_ID}.json"
    (created,) = userecho.topics
    assert created["user_id"] == 42
    assert unmarked(created["description"]) == TEXT, "no signature when posted as the member"


async def test_an_unknown_sso_user_is_named_instead(
    herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho
) -> None:
    await herald(
        **discord_env(discord), **userecho_env(userecho), USERECHO_SSO_GUID_FORMAT="discord-{id}"
    )
    await topic(discord, title="Minimap", description=TEXT)
    (created,) = userecho.topics
    assert "user_id" not in created
    assert unmarked(created["description"]).endswith("— posted from Discord by Ada")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (401, "UserEcho did not accept Herald's credentials (UserEcho: Invalid access token)."),
        (400, "UserEcho: Scripted failure 400"),
        ("error-200", "UserEcho: Header is too long"),
    ],
)
async def test_refusals_show_the_reason_and_the_text_back(
    bot: FakeDiscord, userecho: FakeUserEcho, answer: Any, expected: str
) -> None:
    userecho.script(answer)
    reply = await topic(bot, title="Minimap", description=TEXT)
    assert reply["content"].startswith(f"⚠️ {expected}")
    assert reply["content"].endswith(f"> {TEXT}")
    assert len(userecho.find("POST", "/topics.json")) == 1, "a refusal is not retried"


@pytest.mark.parametrize("outage", [500, 429, "hang"])
async def test_an_outage_saves_the_topic_and_the_worker_posts_it(
    herald: StartHerald, discord: FakeDiscord, userecho: FakeUserEcho, outage: Any
) -> None:
    userecho.retry_after = "0"
    userecho.script(*([outage] * 3))
    await herald(**discord_env(discord), **userecho_env(userecho), **fast_retries())
    reply = await topic(discord, title="Minimap", description=TEXT)
    assert reply["content"].startswith("💾 UserEcho ")
    assert "Your topic **Minimap** is saved" in reply["content"]

    await discord.wait_for("POST", "/messages", timeout=10)
    (created,) = userecho.topics
    assert created["header"] == "Minimap"
    (dm,) = [m for c in discord.dm_channels for m in discord.channel_messages(c)]
    assert dm["content"].startswith("✅ Your saved topic **Minimap** reached UserEcho: http")
