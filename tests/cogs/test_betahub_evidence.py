"""Evidence on bug reports: /report's screenshot, video and log reach BetaHub's uploads
after the issue, within per-kind limits; refusals and outages never undo the report."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StartHerald, betahub_env, discord_env, fast_retries
from tests.fakes.betahub import PROJECT_ID, PROJECT_TOKEN, FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, FakeDiscord

BUG = "The game crashes when I open the map after loading a save"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 3000
LOG = b"ERROR map renderer: null texture\n" * 40
MB = 1024 * 1024


@pytest.fixture
async def bot(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> FakeDiscord:
    await herald(**discord_env(discord), **betahub_env(betahub))
    return discord


def evidence(discord: FakeDiscord, **sizes: int) -> dict[str, dict[str, Any]]:
    """A PNG, an MP4 and a .log as Discord resolves them; `sizes` makes one lie or big."""
    return {
        "screenshot": discord.attachment("shot.png", PNG, "image/png", sizes.get("screenshot")),
        "video": discord.attachment("clip.mp4", MP4, "video/mp4", sizes.get("video")),
        "log": discord.attachment("game.log", LOG, "text/plain", sizes.get("log")),
    }


async def report(discord: FakeDiscord, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    options: dict[str, Any] = {"description": BUG, "title": "Map crash"}
    options |= {name: f["id"] for name, f in files.items()}
    payload = discord.command_interaction(
        "report",
        options,
        attachments={f["id"]: f for f in files.values()},
        option_types=dict.fromkeys(files, 11),
    )
    await discord.interact(payload)
    return await discord.answer_to(payload)


def files_field(answer: dict[str, Any]) -> str:
    return next(f["value"] for f in answer["embeds"][0]["fields"] if f["name"] == "Files")


async def test_a_png_an_mp4_and_a_log_go_to_their_own_uploads_after_the_issue(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    answer = await report(bot, evidence(bot))

    assert len(betahub.created) == 1
    assert "draft" not in betahub.created[0], "a personal access token gets no draft JWT"
    assert betahub.evidence == [
        ("screenshots", "screenshot[image]", "shot.png", PNG),
        ("video_clips", "video_clip[video]", "clip.mp4", MP4),
        ("log_files", "log_file[file]", "game.log", LOG),
    ]
    paths = [c.path for c in betahub.calls if c.method == "POST"]
    issue = f"/projects/{PROJECT_ID}/issues"
    assert paths == [
        f"{issue}.json",
        f"{issue}/g-1/screenshots.json",
        f"{issue}/g-1/video_clips.json",
        f"{issue}/g-1/log_files.json",
    ], "the uploads follow the issue, one of each"
    assert files_field(answer).splitlines() == [
        "✅ **shot.png** attached",
        "✅ **clip.mp4** attached",
        "✅ **game.log** attached",
    ]


async def test_an_oversize_video_is_refused_before_download_with_the_limit_named(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    files = evidence(bot, video=150 * MB)
    answer = await report(bot, files)

    assert not bot.find("GET", "clip.mp4"), "the video was never downloaded"
    assert len(betahub.created) == 1, "the report goes without it"
    assert [kind for kind, *_ in betahub.evidence] == ["screenshots", "log_files"]
    assert "clip.mp4 is 150.0 MB; videos can be at most 100.0 MB" in files_field(answer)


async def test_a_file_growing_past_its_limit_while_downloading_is_cut_off(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    liar = {"screenshot": bot.attachment("shot.png", b"\0" * (11 * MB), "image/png", size=10)}
    answer = await report(bot, liar)

    assert betahub.evidence == []
    assert "images can be at most 10.0 MB" in files_field(answer)


async def test_a_log_betahub_refuses_is_shown_while_the_issue_stays(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.script_upload("log_files", 422)
    answer = await report(bot, evidence(bot))

    assert answer["embeds"][0]["title"] == "Bug report received: Map crash"
    assert len(betahub.created) == 1
    assert "⚠️ **game.log** refused: Scripted failure 422" in files_field(answer)
    assert [kind for kind, *_ in betahub.evidence] == ["screenshots", "video_clips"]
    assert len(betahub.find("POST", "/log_files")) == 1, "a refusal is not retried"


async def test_a_transient_upload_failure_is_retried_after_a_restart(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    env = {**discord_env(discord), **betahub_env(betahub)}
    first = await herald(**env, HERALD_RETRY_FIRST_SECONDS="3600")
    betahub.script_upload("video_clips", 503)
    answer = await report(discord, {"video": evidence(discord)["video"]})
    assert "⏳ **clip.mp4** not attached yet" in files_field(answer)
    await first.close()
    assert betahub.evidence == []

    await herald(**env, **fast_retries())
    await discord.wait_for("POST", "/messages")

    assert betahub.evidence == [("video_clips", "video_clip[video]", "clip.mp4", MP4)]
    assert len(betahub.created) == 1, "the issue is not created again"
    dm = next(m for c in discord.dm_channels for m in discord.channel_messages(c))
    assert dm["content"].startswith("✅ **clip.mp4** attached on your bug report: https://")


async def test_a_project_token_uses_the_draft_flow_and_publishes_after_the_uploads(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **{**betahub_env(betahub), "BETAHUB_TOKEN": PROJECT_TOKEN})
    betahub.script_upload("log_files", 422)
    answer = await report(discord, evidence(discord))

    assert betahub.created[0]["draft"] == "true"
    uploads = [c for c in betahub.calls if c.path.endswith(("screenshots.json", "log_files.json"))]
    assert all(c.headers["Authorization"] == "Bearer jwt-1" for c in uploads)
    assert betahub.calls[-1].path == f"/projects/{PROJECT_ID}/issues/g-1/publish.json"
    assert betahub.published == ["g-1"], "published although one file was refused"
    assert betahub.drafts == set()
    assert "refused" in files_field(answer)


async def test_report_as_bug_carries_the_message_attachments(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    message = bot.message_payload(BUG)
    message["attachments"] = [
        bot.attachment("crash.jpg", PNG, "image/jpeg"),
        bot.attachment("player.log", LOG, "application/octet-stream"),
    ]
    payload = bot.message_command_interaction("Report as bug", message)
    await bot.opened_modal(payload)
    submit = bot.modal_submit(payload, {})
    await bot.interact(submit)
    (posted,) = await bot.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")

    assert "✅ **crash.jpg** attached" in posted.json["embeds"][0]["fields"][-1]["value"]
    assert len(betahub.created) == 1
    assert betahub.evidence == [
        ("screenshots", "screenshot[image]", "crash.jpg", PNG),
        ("log_files", "log_file[file]", "player.log", LOG),
    ]


async def test_files_of_a_report_saved_during_an_outage_follow_its_retry(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub), **fast_retries())
    betahub.script(500)
    answer = await report(discord, {"log": evidence(discord)["log"]})
    assert answer["content"].startswith("💾")

    await betahub.wait_for("POST", "/log_files.json")
    assert betahub.evidence == [("log_files", "log_file[file]", "game.log", LOG)]
    assert len(betahub.created) == 1


async def test_create_anyway_sends_the_files_of_the_draft(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.seed("issues", "Map crash", BUG)
    prompt = await report(bot, {"screenshot": evidence(bot)["screenshot"]})
    press = bot.button_press(prompt, "Create anyway")
    await bot.interact(press)
    answer = await bot.answer_to(press)

    assert betahub.evidence == [("screenshots", "screenshot[image]", "shot.png", PNG)]
    assert "✅ **shot.png** attached" in files_field(answer)


async def test_an_expired_draft_token_falls_back_to_heralds_own(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **{**betahub_env(betahub), "BETAHUB_TOKEN": PROJECT_TOKEN})
    betahub.jwt_expired = True
    await report(discord, {"screenshot": evidence(discord)["screenshot"]})

    await betahub.wait_for("POST", "/publish.json", count=2)
    assert betahub.evidence == [("screenshots", "screenshot[image]", "shot.png", PNG)]
    assert betahub.published == ["g-1"]
    final = [c.headers["Authorization"] for c in betahub.find("POST", "/screenshots.json")]
    assert final == ["Bearer jwt-1", f"FormUser {PROJECT_TOKEN}"]
