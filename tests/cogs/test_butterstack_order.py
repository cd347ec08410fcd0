"""ButterStack lists are put newest first by Herald: their order is not documented."""

from __future__ import annotations

from pathlib import Path

from tests.announcing import settled
from tests.cogs.test_butterstack_announcements import md, readings, start, titles
from tests.cogs.test_butterstack_commands import ask
from tests.conftest import StartHerald, butterstack_env, discord_env
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.discord import FakeDiscord


async def test_builds_finished_between_readings_are_announced_whatever_the_list_order(
    herald: StartHerald, tmp_path: Path, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    butterstack.newest_first = False
    for _ in range(2):
        butterstack.add_build(status="success", duration=60)
    core = await start(herald, tmp_path, discord, butterstack)
    await readings(butterstack)

    done = butterstack.add_build(status="success", duration=90)
    broken = butterstack.add_build(status="failed", duration=30)
    await readings(butterstack, 2)
    await settled(core)
    assert sorted(titles(discord)) == sorted(
        [f"✅ Build {md(done['id'])} succeeded", f"❌ Build {md(broken['id'])} FAILED"]
    )


async def test_build_list_is_newest_first_and_tolerates_unreadable_times(
    herald: StartHerald, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    butterstack.newest_first = False
    created = ["2026-03-01T10:00:00Z", "not a time", "2026-03-03T10:00:00Z", None, 1772445600]
    builds = [butterstack.add_build(status="success", duration=10) for _ in created]
    for build, stamp in zip(builds, created, strict=True):
        build["created_at"] = stamp
    await herald(**discord_env(discord), **butterstack_env(butterstack))

    answer = await ask(discord, "build list", {"limit": 5})
    shown = [line.split("]")[0] for line in answer["embeds"][0]["description"].splitlines()]
    expected = [builds[2], builds[4], builds[0], builds[1], builds[3]]
    assert shown == [f"✅ [Build {md(b['id'])}" for b in expected]
