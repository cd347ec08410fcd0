"""New BetaHub releases: each announced once in the subscribed channels, never again after a
restart. From the fake BetaHub's release list to the card at the fake Discord."""

from __future__ import annotations

from bot.core import Core
from tests.announcing import fields, run, said, settled
from tests.conftest import StartHerald, betahub_env, discord_env
from tests.fakes.betahub import PROJECT_ID, TOKEN, FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, FakeDiscord

RELEASES = f"/projects/{PROJECT_ID}/releases.json"
POSTS = f"/channels/{CHANNEL_ID}/messages"


async def readings(betahub: FakeBetaHub, count: int = 2) -> None:
    await betahub.wait_for("GET", RELEASES, count=len(betahub.find("GET", RELEASES)) + count)


async def start(herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub) -> Core:
    env = {**betahub_env(betahub), "BETAHUB_RELEASES_POLL_SECONDS": "0.05"}
    return await herald(**discord_env(discord), **env)


async def test_each_new_release_is_announced_once(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    betahub.add_release("v1.0.0", "First playable")
    core = await start(herald, discord, betahub)
    answer = await run(discord, "subscribe", service="betahub")
    assert said(answer) == (
        f"✅ <#{CHANNEL_ID}> will announce every BetaHub event.\n"
        "Herald reads BetaHub's releases itself, every 0.05 seconds."
    )
    await readings(betahub)

    release = betahub.add_release(
        "v1.1.0", "Bug fixes and improvements", "Fixed the *crash* on [login].\n" + "x" * 5000
    )
    await discord.wait_for("POST", POSTS)
    await readings(betahub, 3)
    await settled(core)

    (message,) = discord.channel_messages(CHANNEL_ID)
    assert len(discord.find("POST", POSTS)) == 1, "once, however often the list is read"
    card = message["embeds"][0]
    url = f"{betahub.url}/projects/{PROJECT_ID}/releases/{release['id']}"
    assert card["title"] == "🎉 New release: v1.1.0"
    assert card["url"] == url
    assert card["description"].startswith(
        "**Bug fixes and improvements**\n\nFixed the \\*crash\\* on \\[login\\]."
    )
    assert card["description"].endswith("…")
    assert len(card["description"]) < 1600, "a long description is trimmed"
    assert fields(card) == {"Download": f"[Windows](https://app.betahub.io/dl/{release['id']}/win)"}
    assert "v1.0.0" not in discord.text_of(message), "what was out before Herald looked is old"
    (call, *_) = betahub.find("GET", RELEASES)
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["BetaHub-Project-ID"] == PROJECT_ID


async def test_a_restart_does_not_announce_a_release_again(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    first = await start(herald, discord, betahub)
    await run(discord, "subscribe", service="betahub", events="release.created")
    await readings(betahub)
    betahub.add_release("v2.0.0")
    await discord.wait_for("POST", POSTS)
    await settled(first)
    await first.close()

    betahub.add_release("v2.0.1", "Hotfix")
    second = await start(herald, discord, betahub)
    await discord.wait_for("POST", POSTS, count=2)
    await readings(betahub, 3)
    await settled(second)

    assert [m["embeds"][0]["title"] for m in discord.channel_messages(CHANNEL_ID)] == [
        "🎉 New release: v2.0.0",
        "🎉 New release: v2.0.1",
    ]
    assert len(discord.find("POST", POSTS)) == 2


async def test_releases_not_read_say_so_on_subscribe(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub
) -> None:
    await herald(**discord_env(discord), **betahub_env(betahub))  # releases poll: 0, off
    answer = await run(discord, "subscribe", service="betahub")
    assert "set BETAHUB_RELEASES_POLL_SECONDS above 0" in said(answer)
    assert betahub.find("GET", RELEASES) == []
