"""New BetaHub releases: each announced once, as `release.created`, never again after a restart."""

from __future__ import annotations

from bot.core import Core
from tests.conftest import StartHerald, betahub_env
from tests.fakes.betahub import PROJECT_ID, TOKEN, FakeBetaHub
from tests.seam import Recorder

SEAM = "tests.seam.cogs"
RELEASES = f"/projects/{PROJECT_ID}/releases.json"


def recorder(core: Core) -> Recorder:
    emit = core.cogs["betahub"].emit
    assert isinstance(emit, Recorder)
    return emit


async def readings(betahub: FakeBetaHub, count: int = 2) -> None:
    await betahub.wait_for("GET", RELEASES, count=len(betahub.find("GET", RELEASES)) + count)


async def start(herald: StartHerald, betahub: FakeBetaHub) -> Core:
    return await herald(SEAM, **{**betahub_env(betahub), "BETAHUB_RELEASES_POLL_SECONDS": "0.05"})


async def test_each_new_release_is_announced_once(
    herald: StartHerald, betahub: FakeBetaHub
) -> None:
    betahub.add_release("v1.0.0", "First playable")
    core = await start(herald, betahub)
    seam = recorder(core)
    await readings(betahub)
    assert seam.emitted == [], "releases already out when Herald first looks are not news"

    release = betahub.add_release(
        "v1.1.0", "Bug fixes and improvements", "Fixed the *crash* on [login].\n" + "x" * 5000
    )
    (event,) = await seam.wait_for(1)
    await readings(betahub, 3)

    assert len(seam.emitted) == 1
    assert seam.keys == [f"betahub:release:{release['id']}:created"]
    assert event.source == "betahub"
    assert event.kind == "release.created"
    assert event.item == f"betahub:release:{release['id']}"
    url = f"{betahub.url}/projects/{PROJECT_ID}/releases/{release['id']}"
    assert event.url == url
    card = event.card
    assert card.title == "🎉 New release: v1.1.0"
    assert card.url == url
    assert card.description is not None
    assert card.description.startswith(
        "**Bug fixes and improvements**\n\nFixed the \\*crash\\* on \\[login\\]."
    )
    assert card.description.endswith("…")
    assert len(card.description) < 1600, "a long description is trimmed"
    (download,) = card.fields
    assert download.value == f"[Windows](https://app.betahub.io/dl/{release['id']}/win)"
    (call, *_) = betahub.find("GET", RELEASES)
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["BetaHub-Project-ID"] == PROJECT_ID


async def test_a_restart_does_not_announce_a_release_again(
    herald: StartHerald, betahub: FakeBetaHub
) -> None:
    first = await start(herald, betahub)
    await readings(betahub)
    betahub.add_release("v2.0.0")
    await recorder(first).wait_for(1)
    await readings(betahub)
    await first.close()

    newer = betahub.add_release("v2.0.1", "Hotfix")
    second = await start(herald, betahub)
    seam = recorder(second)
    await seam.wait_for(1)
    await readings(betahub, 3)
    assert [e.item for e in seam.events] == [f"betahub:release:{newer['id']}"]
    assert seam.events[0].line == (
        f"🎉 New release [v2.0.1]({betahub.url}/projects/{PROJECT_ID}/releases/{newer['id']}):"
        " Hotfix"
    )
