"""/subscribe, /unsubscribe and /subscriptions through real Discord interactions."""

from __future__ import annotations

import pytest

from bot.core import Core
from tests.announcing import hacknplan, run, said, sample, settled
from tests.conftest import StartHerald, discord_env, hacknplan_env
from tests.fakes.discord import ADMIN, CHANNEL_ID, FakeDiscord

OTHER_CHANNEL = 555555555555555555


@pytest.fixture
async def core(herald: StartHerald, discord: FakeDiscord) -> Core:
    return await herald(**discord_env(discord), **hacknplan_env())


async def test_subscribe_announces_in_this_channel_by_default(core, discord):
    answer = await run(discord, "subscribe", service="hacknplan")
    assert said(answer).startswith(f"✅ <#{CHANNEL_ID}> will announce every HacknPlan event.")
    assert "Authorization: Bearer <HACKNPLAN_WEBHOOK_SECRET>" in said(answer)
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))
    await settled(core)
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert message["embeds"][0]["title"] == "🏁 Milestone: Alpha"


async def test_the_commands_need_manage_server(core, discord):
    answer = await run(discord, "subscribe", admin=False, service="hacknplan")
    assert said(answer) == "⚠️ Only admins can use /subscribe."
    assert await core.store.subscriptions("discord", "222222222222222222") == []
    registered = {c["name"]: c for c in discord.commands["global"]}
    for name in ("subscribe", "unsubscribe", "subscriptions"):
        assert str(registered[name]["default_member_permissions"]) == str(ADMIN)
    channel = next(o for o in registered["subscribe"]["options"] if o["name"] == "channel")
    assert channel["type"] == 7
    assert channel["channel_types"] == [0, 5]


async def test_filters_choose_what_a_channel_gets(core, discord):
    answer = await run(
        discord,
        "subscribe",
        service="hacknplan",
        events="workitem.*",
        exclude="workitem.worklog.*",
        where="category:programming, category:art, tag:game*",
        channels={"channel": str(OTHER_CHANNEL)},
    )
    assert f"<#{OTHER_CHANNEL}> will announce HacknPlan events `workitem.*` except" in said(answer)
    item = sample("hacknplan", "workitem.created")
    await hacknplan(core, "workitem.created", item)
    await hacknplan(
        core, "workitem.worklog.created", sample("hacknplan", "workitem.worklog.created")
    )
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))
    design = {**item, "WorkItemId": 43, "Category": {"Name": "Design"}}
    await hacknplan(core, "workitem.created", design)
    untagged = {**item, "WorkItemId": 44, "Tags": []}
    await hacknplan(core, "workitem.created", untagged)
    art = {**item, "WorkItemId": 45, "Category": {"Name": "Art"}, "Tags": [{"Name": "Gameplay"}]}
    await hacknplan(core, "workitem.created", art)
    await settled(core)

    titles = [m["embeds"][0]["title"] for m in discord.channel_messages(OTHER_CHANNEL)]
    assert titles == ["#42 Double jump feels floaty", "#45 Double jump feels floaty"]
    assert discord.threads == {}, "the excluded worklog made no thread"
    assert discord.channel_messages(CHANNEL_ID) == []


async def test_overlapping_subscriptions_in_one_channel_post_once(core, discord):
    await run(discord, "subscribe", service="hacknplan")
    await run(discord, "subscribe", service="hacknplan", events="workitem.*")
    await run(discord, "subscribe", service="hacknplan", where="board:sprint 4")
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    await settled(core)
    assert len(discord.channel_messages(CHANNEL_ID)) == 1


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"events": "workitm.*"}, "No HacknPlan event matches `workitm.*`. Its events: board.*"),
        ({"exclude": "workitem created"}, "`workitem created` is not an event pattern"),
        ({"where": "colour:red"}, "HacknPlan events cannot be filtered on `colour`; use one of:"),
        ({"where": "category"}, "`category` is not a condition: write key:value"),
    ],
)
async def test_mistakes_in_filters_are_explained(core, discord, options, error):
    answer = await run(discord, "subscribe", service="hacknplan", **options)
    assert said(answer).startswith(f"⚠️ {error}")
    assert await core.store.subscriptions("discord", "222222222222222222") == []


async def test_a_service_that_is_not_set_up_says_what_to_set(core, discord):
    answer = await run(discord, "subscribe", service="bugherd")
    assert said(answer) == (
        "⚠️ BugHerd is not set up on this Herald. Set BUGHERD_WEBHOOK_SECRET and restart Herald."
    )


async def test_subscriptions_lists_dead_channels_and_subscribe_resumes(core, discord):
    await run(discord, "subscribe", service="hacknplan", events="milestone.*, board.*")
    discord.missing_channels.add(CHANNEL_ID)
    await hacknplan(core, "milestone.created", sample("hacknplan", "milestone.created"))
    await settled(core)

    listed = said(await run(discord, "subscriptions"))
    assert "**#1** HacknPlan → <#333333333333333333>: events `milestone.*`, `board.*`" in listed
    assert "⏸ paused: Discord refused channel 333333333333333333: Unknown Channel" in listed
    assert "⚠️ <#333333333333333333>: 1 announcement(s) could not be delivered" in listed

    discord.missing_channels.clear()
    answer = await run(discord, "subscribe", service="hacknplan", events="milestone.*, board.*")
    assert said(answer).startswith("✅ Resumed")
    await hacknplan(core, "board.closed", sample("hacknplan", "board.closed"))
    await settled(core)
    titles = [m["embeds"][0]["title"] for m in discord.channel_messages(CHANNEL_ID)]
    assert titles == ["🏁 Milestone: Alpha", "📋 Board: Sprint 4"], "the missed one is replayed"


async def test_unsubscribe_stops_announcements(core, discord):
    await run(discord, "subscribe", service="hacknplan")
    await run(discord, "subscribe", service="hacknplan", channels={"channel": str(OTHER_CHANNEL)})
    answer = await run(discord, "unsubscribe", service="hacknplan")
    assert said(answer).startswith("✅ Stopped:\n• **#1** HacknPlan")
    answer = await run(discord, "unsubscribe", subscription=2)
    assert "**#2** HacknPlan" in said(answer)
    answer = await run(discord, "unsubscribe", subscription=2)
    assert said(answer) == "⚠️ There is no subscription #2 here; see /subscriptions."
    await hacknplan(core, "board.closed", sample("hacknplan", "board.closed"))
    await settled(core)
    assert discord.find("POST", "/channels/") == []
    listed = said(await run(discord, "subscriptions"))
    assert listed.startswith("No channel announces anything yet.")
