"""ButterStack builds and deployments, from the fake ButterStack to cards at the fake Discord.

Herald's real poller reads the fake ButterStack; what it sees goes through the
announcements pipeline (inbox, router, subscriptions, outbox) and the real
discord.py adapter to the fake Discord, where the cards are asserted.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from bot.core import Core
from bot.models import Colour
from cogs.butterstack.events import source
from tests.announcing import fields, run, said, settled, subscribe_ahead
from tests.conftest import StartHerald, butterstack_env, database_file, discord_env
from tests.fakes.butterstack import OTHER_PROJECT, PROJECT, FakeButterStack
from tests.fakes.discord import ADMIN, CHANNEL_ID, EVERYONE, FakeDiscord

POSTS = f"/channels/{CHANNEL_ID}/messages"
WIN64_CHANNEL = 700000000000000001
RELEASE_CHANNEL = 700000000000000002
FAILURES_CHANNEL = 700000000000000003
OTHER_PROJECT_CHANNEL = 700000000000000004
BOTH = f"{PROJECT},{OTHER_PROJECT}"


async def readings(
    fake: FakeButterStack, count: int = 2, project: str = PROJECT, feed: str = "builds"
) -> None:
    """Wait until Herald has started `count` more readings of a feed (a reading may page
    on). The reading before the last is then fully handled: one feed is read at a time."""
    path = f"/projects/{project}/{feed}"

    def started() -> int:
        return sum(not c.query.get("offset") for c in fake.find("GET", path))

    wanted = started() + count
    while started() < wanted:
        await fake.wait_for("GET", path, count=len(fake.find("GET", path)) + 1)


async def deployment_readings(fake: FakeButterStack, count: int) -> None:
    await readings(fake, count, feed="deployments")


def md(text: str) -> str:
    """`text` as it shows in card markdown: underscores escaped."""
    return text.replace("_", "\\_")


def embed(message: dict[str, Any]) -> dict[str, Any]:
    return dict(message["embeds"][0])


def titles(discord: FakeDiscord, channel: int = CHANNEL_ID) -> list[str]:
    return [embed(m)["title"] for m in discord.channel_messages(channel)]


def edits(discord: FakeDiscord, channel: int = CHANNEL_ID) -> list[dict[str, Any]]:
    """The embeds Herald sent as edits to messages in `channel`, in order."""
    return [call.json["embeds"][0] for call in discord.find("PATCH", f"/channels/{channel}/")]


async def start(
    herald: StartHerald,
    tmp_path: Path,
    discord: FakeDiscord,
    butterstack: FakeButterStack,
    channels: dict[int, dict[str, str]] | None = None,
    **env: str,
) -> Core:
    """Herald with Discord and ButterStack, its channels subscribed before the first reading."""
    projects = env.get("BUTTERSTACK_PROJECT_IDS", PROJECT).split(",")
    for channel, filters in (channels or {CHANNEL_ID: {}}).items():
        await subscribe_ahead(database_file(tmp_path), source(projects), channel, **filters)
    return await herald(**discord_env(discord), **butterstack_env(butterstack, **env))


async def test_the_first_reading_announces_only_what_is_under_way(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    butterstack.add_build(status="success", duration=300)
    butterstack.add_build(status="failed", duration=60)
    running = butterstack.add_build(status="running")
    build = butterstack.add_build(status="success", duration=10)
    butterstack.add_deployment(build["id"], status="live")
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack, 3)
    await deployment_readings(butterstack, 2)
    await settled(core)

    assert titles(discord) == [f"🔄 Build {md(running['id'])} running"], (
        "what finished before Herald first looked is not news"
    )


async def test_a_build_from_pending_to_success_keeps_one_message(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    butterstack.add_changelist(12345, "john.doe", "Updated character model textures\nand more")
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack)

    build = butterstack.add_build(platform="ps5", configuration="shipping", branch="release")
    await discord.wait_for("POST", POSTS)
    butterstack.move(build["id"], "running")
    await discord.wait_for("PATCH", POSTS)
    butterstack.move(build["id"], "success", duration=1234)
    await discord.wait_for("PATCH", POSTS, count=2)
    await readings(butterstack, 2)
    await settled(core)

    assert len(discord.find("POST", POSTS)) == 1, "one message for the whole build"
    assert len(discord.find("PATCH", POSTS)) == 2, "then an edit per status"
    (created,) = [call.json["embeds"][0] for call in discord.find("POST", POSTS)]
    running, success = edits(discord)
    shown = [(e["title"], e["color"]) for e in (created, running, success)]
    assert shown == [
        (f"⏳ Build {md(build['id'])} pending", Colour.NEUTRAL),
        (f"🔄 Build {md(build['id'])} running", Colour.INFO),
        (f"✅ Build {md(build['id'])} succeeded", Colour.OK),
    ]
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert embed(message) == success
    assert message["embeds"][0]["url"] == build["url"]
    card = fields(success)
    assert card["Platform"] == "ps5 · shipping"
    assert card["Branch"] == "release"
    assert card["Changelist"] == "12345 by john.doe\nUpdated character model textures"
    assert card["Duration"] == "20m 34s"
    assert card["Artifacts"] == (
        "[Game-Ps5-Shipping.zip](https://cdn.butterstack.com/artifacts/"
        f"{build['id']}/Game-Ps5-Shipping.zip) · 1.15 GB"
    )
    assert "Changed" not in card, "the title already says what changed"
    assert len(butterstack.find("GET", "/changelists/cl_12345")) == 1, "changelists are cached"


async def test_a_failed_build_turns_its_card_red_in_the_channel(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack)
    build = butterstack.add_build(status="running", platform="xsx")
    await discord.wait_for("POST", POSTS)
    butterstack.move(build["id"], "failed")
    await discord.wait_for("PATCH", POSTS)
    await settled(core)

    (message,) = discord.channel_messages(CHANNEL_ID)
    failed = embed(message)
    assert failed["title"] == f"❌ Build {md(build['id'])} FAILED"
    assert failed["color"] == Colour.ERROR
    assert failed["description"] == "**This build failed** on xsx · development."
    assert "Artifacts" not in fields(failed)
    assert discord.threads == {}, "said in the channel, not tucked away in a thread"


async def test_a_deployment_keeps_one_message_edited_when_its_status_changes(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    build = butterstack.add_build(status="success", duration=100, configuration="shipping")
    core = await start(herald, tmp_path, discord, butterstack)
    await deployment_readings(butterstack, 2)
    deployment = butterstack.add_deployment(build["id"], platform="steam", branch="beta")
    await discord.wait_for("POST", POSTS)
    butterstack.set_deployment(deployment["id"], "live")
    await discord.wait_for("PATCH", POSTS)
    await deployment_readings(butterstack, 2)
    await settled(core)

    (created,) = [call.json["embeds"][0] for call in discord.find("POST", POSTS)]
    (live,) = edits(discord)
    where = f"Deployment {md(deployment['id'])} to steam/beta"
    assert created["title"] == f"🚚 {where}: deploying"
    assert live["title"] == f"🚀 {where}: live"
    assert live["color"] == Colour.OK
    assert (
        fields(live).items()
        >= {
            "Build": f"{md(build['id'])} (win64 · shipping)",
            "Platform": "steam",
            "Branch": "beta",
            "Status": "live",
        }.items()
    )
    assert "Changed" not in fields(live)
    assert len(discord.channel_messages(CHANNEL_ID)) == 1


async def test_a_running_card_moves_its_progress_bar_against_the_typical_duration(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    for duration in (100, 90, 110):  # median 100 s
        butterstack.add_build(status="success", duration=duration)
    butterstack.add_build(status="success", duration=5000, platform="linux")
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack)

    build = butterstack.add_build(status="running", started=time.time() - 30)
    await discord.wait_for("POST", POSTS)
    (created,) = [call.json["embeds"][0] for call in discord.find("POST", POSTS)]
    assert fields(created)["Progress"].startswith("▰▰▰▱▱▱▱▱▱▱ 3")
    assert fields(created)["Progress"].endswith("of ~1m 40s")

    butterstack.move(build["id"], "running", started=time.time() - 60)
    await discord.wait_for("PATCH", POSTS)
    butterstack.move(build["id"], "running", started=time.time() - 150)
    await discord.wait_for("PATCH", POSTS, count=2)
    await readings(butterstack, 2)
    await settled(core)

    moved, late = edits(discord)
    assert fields(moved)["Progress"].startswith("▰▰▰▰▰▰▱▱▱▱ 6")
    assert "longer than usual" in fields(late)["Progress"]
    assert len(discord.channel_messages(CHANNEL_ID)) == 1


async def test_a_burst_of_150_new_builds_between_readings_loses_none(
    fast_windows: None,
    herald: StartHerald,
    tmp_path: Path,
    discord: FakeDiscord,
    butterstack: FakeButterStack,
) -> None:
    butterstack.add_build(status="success", duration=100)
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack)

    burst = [butterstack.add_build(status="success", duration=60) for _ in range(150)]
    await readings(butterstack, 2)
    await settled(core, timeout=30)

    texts = [discord.text_of(m) for m in discord.channel_messages(CHANNEL_ID)]
    for build in burst:
        assert sum(md(build["id"]) in text for text in texts) == 1, f"{build['id']} shown once"
    assert any(title.endswith(" updates") for title in titles(discord)), "folded into digests"
    offsets = {q.get("offset") for q in butterstack.reads(f"/projects/{PROJECT}/builds")}
    assert "100" in offsets, "the second page was read"
    assert all(q["limit"] == "100" for q in butterstack.reads(f"/projects/{PROJECT}/builds"))


async def test_an_open_build_pushed_off_the_pages_is_fetched_by_id(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    old = butterstack.add_build(status="running", platform="ps5")
    channels = {CHANNEL_ID: {"where": "platform:ps5"}}
    core = await start(herald, tmp_path, discord, butterstack, channels)
    await discord.wait_for("POST", POSTS)
    for _ in range(210):
        butterstack.add_build(status="success", duration=60)
    await readings(butterstack, 2)

    butterstack.move(old["id"], "success")
    await discord.wait_for("PATCH", POSTS)
    await settled(core)
    assert titles(discord) == [f"✅ Build {md(old['id'])} succeeded"]
    assert butterstack.find("GET", f"/v1/builds/{old['id']}"), "fetched by id, not by paging"


async def test_a_restart_catches_up_with_what_changed_and_repeats_nothing(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    finished = butterstack.add_build(status="success", duration=100)
    running = butterstack.add_build(status="running")
    first = await start(herald, tmp_path, discord, butterstack)
    await discord.wait_for("POST", POSTS)
    await readings(butterstack)
    await settled(first)
    await first.close()

    butterstack.move(running["id"], "success")
    done_while_down = butterstack.add_build(status="failed", duration=50)
    queued_while_down = butterstack.add_build()
    second = await herald(**discord_env(discord), **butterstack_env(butterstack))
    await readings(butterstack, 3)
    await settled(second)

    assert titles(discord) == [
        f"✅ Build {md(running['id'])} succeeded",
        f"❌ Build {md(done_while_down['id'])} FAILED",
        f"⏳ Build {md(queued_while_down['id'])} pending",
    ], "the card of the build that finished while Herald was down is edited, not posted again"
    assert len(discord.find("POST", POSTS)) == 3
    assert len(discord.find("PATCH", POSTS)) == 1
    assert all(md(finished["id"]) not in discord.text_of(m) for m in discord.messages.values())


async def test_where_filters_choose_which_channel_gets_which_build(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    channels = {
        WIN64_CHANNEL: {"where": "platform:win64"},
        RELEASE_CHANNEL: {"where": "branch:release*, project:" + PROJECT},
        FAILURES_CHANNEL: {"where": "status:failed"},
        OTHER_PROJECT_CHANNEL: {"where": f"project:{OTHER_PROJECT}"},
    }
    env = {"BUTTERSTACK_PROJECT_IDS": BOTH}
    core = await start(herald, tmp_path, discord, butterstack, channels, **env)
    await readings(butterstack)
    await readings(butterstack, project=OTHER_PROJECT)

    win64 = butterstack.add_build(platform="win64", branch="main")
    ps5 = butterstack.add_build(platform="ps5", branch="release-1.2")
    switch = butterstack.add_build(OTHER_PROJECT, platform="switch", branch="release")
    await readings(butterstack, 2)
    await readings(butterstack, 2, project=OTHER_PROJECT)
    for build in (win64, ps5, switch):
        butterstack.move(build["id"], "running")
    butterstack.move(ps5["id"], "failed")
    butterstack.move(switch["id"], "failed")
    await readings(butterstack, 2)
    await readings(butterstack, 2, project=OTHER_PROJECT)
    await settled(core)

    def cards(channel: int) -> list[str]:
        return sorted(title.split()[2] for title in titles(discord, channel))

    assert cards(WIN64_CHANNEL) == [md(win64["id"])]
    assert cards(RELEASE_CHANNEL) == [md(ps5["id"])], "both conditions must hold"
    assert cards(FAILURES_CHANNEL) == sorted([md(ps5["id"]), md(switch["id"])])
    assert all(t.endswith("FAILED") for t in titles(discord, FAILURES_CHANNEL)), (
        "posted there only once it failed"
    )
    assert cards(OTHER_PROJECT_CHANNEL) == [md(switch["id"])]


async def test_subscribe_to_failed_builds_and_deployments_of_one_platform(
    herald: StartHerald, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    shipped = butterstack.add_build(status="success", duration=100, platform="win64")
    other = butterstack.add_build(status="success", duration=100, platform="ps5")
    core = await herald(**discord_env(discord), **butterstack_env(butterstack))
    answer = await run(
        discord,
        "subscribe",
        service="butterstack",
        events="build.failed,deployment.*",
        where="platform:win64",
    )
    assert said(answer).startswith(
        f"✅ <#{CHANNEL_ID}> will announce ButterStack events `build.failed`, `deployment.*`"
        " where `platform:win64`."
    )
    assert "Nothing to set up in ButterStack" in said(answer)
    await deployment_readings(butterstack, 2)

    passed = butterstack.add_build(status="success", duration=5, platform="win64")
    failed = butterstack.add_build(status="failed", duration=5, platform="win64")
    butterstack.add_build(status="failed", duration=5, platform="ps5")
    to_steam = butterstack.add_deployment(shipped["id"], platform="steam", status="live")
    butterstack.add_deployment(other["id"], platform="steam", status="live")
    await readings(butterstack, 2)
    await deployment_readings(butterstack, 2)
    await settled(core)

    assert sorted(titles(discord)) == [
        f"❌ Build {md(failed['id'])} FAILED",
        f"🚀 Deployment {md(to_steam['id'])} to steam/beta: live",
    ], "a win64 build's deployment to Steam counts as win64; the ps5 one does not"
    assert md(passed["id"]) not in " ".join(titles(discord))


async def test_an_unreadable_feed_is_logged_once_and_its_change_caught_later(
    herald: StartHerald,
    tmp_path: Path,
    discord: FakeDiscord,
    butterstack: FakeButterStack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack)
    caplog.set_level(logging.INFO, logger="bot.polling")
    butterstack.fail_next(503, 503, 503)  # every attempt of one reading
    build = butterstack.add_build(status="success", duration=10)
    await discord.wait_for("POST", POSTS)
    await deployment_readings(butterstack, 2)
    await readings(butterstack, 2)
    await settled(core)

    assert titles(discord) == [f"✅ Build {md(build['id'])} succeeded"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    feed, reason = warning.removeprefix("ButterStack ").split(": ", 1)
    assert reason == "ButterStack is not answering right now (HTTP 503)."
    assert f"ButterStack {feed}: reading again" in caplog.messages


async def test_a_triggered_build_gets_its_live_card_in_the_subscribed_channel(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    butterstack.add_changelist(12345, "john.doe", "Updated character model textures")
    env = {"BUTTERSTACK_POLL_SECONDS": "30"}  # read again only when poked by the trigger
    core = await start(herald, tmp_path, discord, butterstack, **env)
    await butterstack.wait_for("GET", f"/projects/{PROJECT}/builds")
    payload = discord.command_interaction(
        "build",
        {"platform": "win64", "configuration": "shipping"},
        subcommand="trigger",
        permissions=ADMIN | EVERYONE,
    )
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    await discord.wait_for("POST", POSTS)
    await settled(core)

    build = next(reversed(butterstack.builds.values()))
    assert answer["components"][0]["components"][0]["url"] == build["url"], "the caller's link"
    (message,) = discord.channel_messages(CHANNEL_ID)
    assert embed(message)["title"] == f"⏳ Build {md(build['id'])} pending"
    assert fields(embed(message))["Changelist"] == (
        "12345 by john.doe\nUpdated character model textures"
    )
