"""Every HacknPlan event family, from webhook to the card in a Discord channel."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import Core
from bot.models import Colour
from tests.announcing import fields, hacknplan, sample, settled, subscribe
from tests.conftest import StartHerald, discord_env, hacknplan_env
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.hacknplan import API_KEY, FakeHacknPlan

ITEM_URL = "https://app.hacknplan.com/p/128/kanban?boardId=7&taskId=42"


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord) -> Core:
    core = await herald(**discord_env(discord), **hacknplan_env())
    await subscribe(core, "hacknplan")
    return core


async def card_for(core: Core, discord: FakeDiscord, kind: str, body: Any = None) -> dict[str, Any]:
    assert (await hacknplan(core, kind, body or sample("hacknplan", kind)))[0] == 200
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    return message["embeds"][0]


async def test_a_new_work_item_card(core, discord):
    embed = await card_for(core, discord, "workitem.created")
    assert embed["title"] == "#42 Double jump feels floaty"
    assert embed["url"] == ITEM_URL
    assert embed["color"] == Colour.INFO
    assert embed["author"]["name"] == "Ada Lovelace"
    assert embed["footer"]["text"] == "HacknPlan · project 128 · workitem.created"
    assert embed["timestamp"].startswith("2026-03-02T10:00:00")
    assert embed["description"] == "Hang time at the apex is too long; try 0.8 gravity."
    assert fields(embed) == {
        "Stage": "Planned",
        "Category": "Programming",
        "Board": "Sprint 4",
        "Assigned": "Ada Lovelace",
        "Importance": "High",
        "Estimate": "3 h",
        "Tags": "gameplay",
        "Due": "Mar 9, 2026",
    }


@pytest.mark.parametrize(
    ("kind", "title", "colour", "expected"),
    [
        ("workitem.deleted", "🗑 Deleted: #42 Double jump feels floaty", Colour.NEUTRAL, {}),
        ("workitem.blocked", "#42 Double jump feels floaty", Colour.ERROR, {"Blocked": "yes"}),
        ("workitem.unblocked", "#42 Double jump feels floaty", Colour.INFO, {}),
        (
            "workitem.user.assigned",
            "#42 Double jump feels floaty",
            Colour.INFO,
            {"Assigned": "Ada Lovelace, bob"},
        ),
        ("workitem.user.unassigned", "#42 Double jump feels floaty", Colour.INFO, {}),
        (
            "milestone.created",
            "🏁 Milestone: Alpha",
            Colour.WARN,
            {"Starts": "Mar 1, 2026", "Due": "Apr 30, 2026"},
        ),
        ("board.closed", "📋 Board: Sprint 4", Colour.OK, {"Closed": "Mar 14, 2026"}),
        (
            "designelement.created",
            "🎨 Mechanic: Grappling hook",
            Colour.PINK,
            {"Parent": "Traversal"},
        ),
        ("projectuser.added", "👋 Cy Twombly joined the project", Colour.TEAL, {"Role": "Artist"}),
        ("project.updated", "📁 Project: Skyward", Colour.NAVY, {}),
    ],
)
async def test_each_family_has_its_card(core, discord, kind, title, colour, expected):
    embed = await card_for(core, discord, kind)
    assert embed["title"] == title
    assert embed["color"] == colour
    assert expected.items() <= fields(embed).items()
    assert embed["footer"]["text"].endswith(kind)
    assert embed.get("url", "").startswith("https://app.hacknplan.com/p/128")


@pytest.mark.parametrize(
    ("kind", "line", "colour"),
    [
        (
            "workitem.comment.created",
            "💬 **bob**: Tried 0.8 gravity: much better. @everyone have a look",
            Colour.ACCENT,
        ),
        ("workitem.subtask.created", "☐ subtask added: Tune apex gravity", Colour.TEAL),
        (
            "workitem.worklog.created",
            "⏱ **Ada Lovelace** logged 1.5 h: Prototype in the test level",
            Colour.NAVY,
        ),
        (
            "workitem.dependency.added",
            "🔗 now depends on #17 Character controller rewrite",
            Colour.BROWN,
        ),
        (
            "workitem.attachment.added",
            "📎 **Ada Lovelace** attached"
            " [jump-curve.png](https://files.hacknplan.com/128/jump-curve.png)",
            Colour.ORANGE,
        ),
    ],
)
async def test_a_follow_up_about_an_unseen_item_posts_a_card_naming_the_item(
    core, discord, kind, line, colour
):
    embed = await card_for(core, discord, kind)
    assert embed["title"] == "Work item #42"
    assert embed["url"] == "https://app.hacknplan.com/p/128/kanban?taskId=42"
    assert embed["description"] == line
    assert embed["color"] == colour
    (call,) = discord.find("POST", f"/channels/{CHANNEL_ID}/messages")
    assert call.json["allowed_mentions"] == {"parse": []}


async def test_follow_ups_name_an_item_seen_before(core, discord):
    await hacknplan(core, "board.closed", sample("hacknplan", "board.closed"))
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await settled(core)
    discord.messages.clear()
    await core.store.forget_card(
        (await core.store.card("discord", str(CHANNEL_ID), "hacknplan:128:workitem:42")).key
    )
    embed = await card_for(core, discord, "workitem.comment.created")
    assert embed["title"] == "#42 Double jump feels floaty"
    assert embed["url"] == ITEM_URL


async def test_user_text_is_escaped_and_missing_or_huge_fields_never_fail(core, discord):
    body = {
        "WorkItemId": 7,
        "ProjectId": 1,
        "Title": "**Bold** claim " + "x" * 5000,
        "Description": "# not a heading\n> nor a quote " + "y" * 9000,
        "Tags": [{"Name": "a" * 3000}],
        "AssignedUsers": "not a list",
        "Stage": None,
        "EstimatedCost": "lots",
    }
    embed = await card_for(core, discord, "workitem.updated", body)
    assert embed["title"].startswith("#7 \\*\\*Bold\\*\\* claim xxx")
    assert embed["title"].endswith("…")
    assert len(embed["title"]) <= 256
    assert embed["description"].startswith("\\# not a heading\n\\> nor a quote")
    assert len(fields(embed)["Tags"]) <= 1024


async def test_metadata_events_are_not_announced(core, discord):
    for kind in ("category.created", "stage.updated", "tag.deleted", "role.created"):
        assert (await hacknplan(core, kind, {"ProjectId": 1, "Name": "x"}))[0] == 202
    await settled(core)
    assert discord.channel_messages(CHANNEL_ID) == []


async def test_with_an_api_key_names_come_from_hacknplan_once(
    herald: StartHerald, discord: FakeDiscord, hacknplan_api: FakeHacknPlan
):
    core = await herald(
        **discord_env(discord),
        **hacknplan_env(HACKNPLAN_API_KEY=API_KEY, HACKNPLAN_URL=hacknplan_api.url),
    )
    await subscribe(core, "hacknplan", where="category:programming")
    comment = sample("hacknplan", "workitem.comment.created")
    await hacknplan(core, "workitem.comment.created", comment)
    await hacknplan(core, "workitem.comment.created", {**comment, "CommentId": 901, "Text": "+1"})
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    embed = card["embeds"][0]
    assert embed["title"] == "#42 Double jump feels floaty"
    assert embed["footer"]["text"] == "HacknPlan · Skyward · workitem.comment.created"
    assert len(hacknplan_api.find("GET", "/projects/128/workitems/42")) == 1
    assert len(hacknplan_api.find("GET", "/projects/128")) >= 1
    assert all(c.headers["Authorization"] == f"ApiKey {API_KEY}" for c in hacknplan_api.calls)


async def test_assignments_edit_the_card_or_follow_up_when_only_the_user_is_sent(core, discord):
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await discord.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")
    await hacknplan(core, "workitem.user.assigned", sample("hacknplan", "workitem.user.assigned"))
    bare = {"ProjectId": 128, "WorkItemId": 42, "User": {"Id": 9, "Username": "dee"}}
    await hacknplan(core, "workitem.user.unassigned", bare)
    await settled(core)
    (card,) = discord.channel_messages(CHANNEL_ID)
    assert fields(card["embeds"][0])["Changed"] == "Assignee: Ada Lovelace → Ada Lovelace, bob"
    (line,) = discord.channel_messages(int(card["id"]))
    assert line["content"] == "👤 dee unassigned"
