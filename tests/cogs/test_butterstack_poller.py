"""The ButterStack poller against a fake ButterStack: what it emits, once each, and when.

The events are read where the announcements pipeline will take them (the
`emit` seam, here a `Recorder`); the pipeline's own tests cover the rest.
"""

from __future__ import annotations

import logging
import time

import pytest

from bot.core import Core
from bot.models import Colour
from tests.conftest import StartHerald, butterstack_env
from tests.fakes.butterstack import OTHER_PROJECT, PROJECT, FakeButterStack
from tests.seam import Recorder

SEAM = "tests.seam.cogs"


def recorder(core: Core) -> Recorder:
    emit = core.cogs["butterstack"].emit
    assert isinstance(emit, Recorder)
    return emit


async def readings(fake: FakeButterStack, count: int = 2, project: str = PROJECT) -> None:
    """Wait until Herald has read `project`'s builds `count` more times."""
    path = f"/projects/{project}/builds"
    await fake.wait_for("GET", path, count=len(fake.find("GET", path)) + count)


async def deployment_readings(fake: FakeButterStack, count: int) -> None:
    path = f"/projects/{PROJECT}/deployments"
    await fake.wait_for("GET", path, count=len(fake.find("GET", path)) + count)


def md(text: str) -> str:
    """`text` as it shows in card markdown: underscores escaped."""
    return text.replace("_", "\\_")


def field(event_card: object, name: str) -> str:
    return next(f.value for f in event_card.fields if f.name == name)  # type: ignore[attr-defined]


async def test_the_first_reading_records_finished_builds_silently(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    butterstack.add_build(status="success", duration=300)
    butterstack.add_build(status="failed", duration=60)
    running = butterstack.add_build(status="running")
    deployment = butterstack.add_deployment(running["id"], status="live")
    core = await herald(SEAM, **butterstack_env(butterstack))
    await readings(butterstack, 3)
    await deployment_readings(butterstack, 2)

    events = recorder(core).events
    assert [(e.kind, e.item) for e in events] == [
        ("build.running", f"butterstack:build:{running['id']}")
    ], "only what is still under way is announced on the very first reading"
    assert f"butterstack:deployment:{deployment['id']}" not in [e.item for e in events]


async def test_a_build_from_pending_to_success_is_announced_once_per_status(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    butterstack.add_changelist(12345, "john.doe", "Updated character model textures\nand more")
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await readings(butterstack)

    build = butterstack.add_build(platform="ps5", configuration="shipping", branch="release")
    await seam.wait_for(1)
    await readings(butterstack)
    butterstack.move(build["id"], "running")
    await seam.wait_for(2)
    await readings(butterstack)
    butterstack.move(build["id"], "success", duration=1234)
    await seam.wait_for(3)
    await readings(butterstack, 2)

    item = f"butterstack:build:{build['id']}"
    assert [e.kind for e in seam.events] == ["build.pending", "build.running", "build.success"]
    assert {e.item for e in seam.events} == {item}
    assert seam.keys == [f"{item}:pending", f"{item}:running", f"{item}:success"]
    pending, running, success = seam.events
    assert pending.card.colour is Colour.NEUTRAL
    assert running.card.colour is Colour.INFO
    assert success.card.colour is Colour.OK
    assert success.source == "butterstack"
    assert success.attributes == {
        "project": [PROJECT],
        "platform": ["ps5"],
        "configuration": ["shipping"],
        "branch": ["release"],
        "status": ["success"],
    }
    assert success.url == build["url"]
    assert success.card.title == f"✅ Build {md(build['id'])} succeeded"
    assert field(success.card, "Platform") == "ps5 · shipping"
    assert field(success.card, "Changelist") == (
        "12345 by john.doe\nUpdated character model textures"
    )
    assert field(success.card, "Duration") == "20m 34s"
    assert field(success.card, "Artifacts") == (
        "[Game-Ps5-Shipping.zip](https://cdn.butterstack.com/artifacts/"
        f"{build['id']}/Game-Ps5-Shipping.zip) · 1.15 GB"
    )
    assert "succeeded" in success.line
    assert len(butterstack.find("GET", "/changelists/cl_12345")) == 1, "changelists are cached"


async def test_a_failed_build_is_announced_loudly(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await readings(butterstack)
    build = butterstack.add_build(status="running", platform="xsx")
    await seam.wait_for(1)
    butterstack.move(build["id"], "failed")
    (_, failed) = await seam.wait_for(2)

    assert failed.kind == "build.failed"
    assert failed.card.colour is Colour.ERROR
    assert "FAILED" in (failed.card.title or "")
    assert failed.card.description == "**This build failed** on xsx · development."
    assert "Artifacts" not in [f.name for f in failed.card.fields]


async def test_deployments_are_announced_on_each_status_change(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    build = butterstack.add_build(status="success", duration=100)
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await deployment_readings(butterstack, 2)
    deployment = butterstack.add_deployment(build["id"], platform="steam", branch="beta")
    await seam.wait_for(1)
    butterstack.set_deployment(deployment["id"], "live")
    await seam.wait_for(2)
    await deployment_readings(butterstack, 2)

    item = f"butterstack:deployment:{deployment['id']}"
    assert [(e.kind, e.item) for e in seam.events] == [
        ("deployment.deploying", item),
        ("deployment.live", item),
    ]
    live = seam.events[1]
    assert live.card.colour is Colour.OK
    assert live.attributes == {
        "project": [PROJECT],
        "platform": ["steam"],
        "branch": ["beta"],
        "status": ["live"],
    }
    assert {f.name: f.value for f in live.card.fields}.items() >= {
        "Build": md(build["id"]),
        "Platform": "steam",
        "Branch": "beta",
        "Status": "live",
    }.items()


async def test_a_running_card_moves_its_progress_bar_against_the_typical_duration(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    for duration in (100, 90, 110):  # median 100 s
        butterstack.add_build(status="success", duration=duration)
    butterstack.add_build(status="success", duration=5000, platform="linux")
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await readings(butterstack)

    build = butterstack.add_build(status="running", started=time.time() - 30)
    (first,) = await seam.wait_for(1)
    assert first.kind == "build.running"
    assert field(first.card, "Progress").startswith("▰▰▰▱▱▱▱▱▱▱ 3")
    assert field(first.card, "Progress").endswith("of ~1m 40s")

    butterstack.move(build["id"], "running", started=time.time() - 60)
    (_, second) = await seam.wait_for(2)
    assert field(second.card, "Progress").startswith("▰▰▰▰▰▰▱▱▱▱ 6")
    item = f"butterstack:build:{build['id']}"
    assert seam.keys == [f"{item}:running:1", f"{item}:running:2"]

    butterstack.move(build["id"], "running", started=time.time() - 150)
    (*_, late) = await seam.wait_for(3)
    assert "longer than usual" in field(late.card, "Progress")


async def test_a_burst_of_150_new_builds_between_readings_loses_none(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    butterstack.add_build(status="success", duration=100)
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await readings(butterstack)

    burst = [butterstack.add_build(status="success", duration=60) for _ in range(150)]
    await seam.wait_for(150)
    await readings(butterstack, 2)

    assert [e.item for e in seam.events] == [f"butterstack:build:{b['id']}" for b in burst], (
        "each new build once, oldest first"
    )
    offsets = {q.get("offset") for q in butterstack.reads(f"/projects/{PROJECT}/builds")}
    assert "100" in offsets, "the second page was read"
    assert all(q["limit"] == "100" for q in butterstack.reads(f"/projects/{PROJECT}/builds"))


async def test_an_open_build_pushed_off_the_pages_is_fetched_by_id(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    old = butterstack.add_build(status="running")
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await seam.wait_for(1)
    for _ in range(210):
        butterstack.add_build(status="success", duration=60)
    await seam.wait_for(211)

    butterstack.move(old["id"], "success")
    await seam.wait_for(212)
    assert seam.events[-1].kind == "build.success"
    assert seam.events[-1].item == f"butterstack:build:{old['id']}"
    assert butterstack.find("GET", f"/v1/builds/{old['id']}"), "fetched by id, not by paging"


async def test_a_restart_announces_what_changed_while_down_and_nothing_else(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    finished = butterstack.add_build(status="success", duration=100)
    running = butterstack.add_build(status="running")
    first = await herald(SEAM, **butterstack_env(butterstack))
    await recorder(first).wait_for(1)
    await readings(butterstack)
    await first.close()

    butterstack.move(running["id"], "success")
    done_while_down = butterstack.add_build(status="failed", duration=50)
    queued_while_down = butterstack.add_build()
    second = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(second)
    await seam.wait_for(3)
    await readings(butterstack, 3)

    assert [(e.kind, e.item) for e in seam.events] == [
        ("build.success", f"butterstack:build:{running['id']}"),
        ("build.failed", f"butterstack:build:{done_while_down['id']}"),
        ("build.pending", f"butterstack:build:{queued_while_down['id']}"),
    ]
    assert f"butterstack:build:{finished['id']}" not in [e.item for e in seam.events]


async def test_every_project_is_watched_and_tagged(
    herald: StartHerald, butterstack: FakeButterStack
) -> None:
    env = butterstack_env(butterstack, BUTTERSTACK_PROJECT_IDS=f"{PROJECT},{OTHER_PROJECT}")
    core = await herald(SEAM, **env)
    seam = recorder(core)
    await readings(butterstack, project=OTHER_PROJECT)
    butterstack.add_build(OTHER_PROJECT, platform="switch")
    (event,) = await seam.wait_for(1)
    assert event.attributes["project"] == [OTHER_PROJECT]
    assert event.attributes["platform"] == ["switch"]


@pytest.mark.parametrize("status", [500, 503])
async def test_a_failed_reading_is_logged_once_and_the_change_caught_later(
    herald: StartHerald,
    butterstack: FakeButterStack,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    core = await herald(SEAM, **butterstack_env(butterstack))
    seam = recorder(core)
    await readings(butterstack)
    caplog.set_level(logging.INFO, logger="bot.polling")
    butterstack.fail_next(status, status, status)  # every attempt of one reading
    build = butterstack.add_build(status="success", duration=10)
    (event,) = await seam.wait_for(1)
    assert event.item == f"butterstack:build:{build['id']}"
    await deployment_readings(butterstack, 2)
    await readings(butterstack, 2)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    feed, reason = warning.removeprefix("ButterStack ").split(": ", 1)
    assert reason == f"ButterStack is not answering right now (HTTP {status})."
    assert f"ButterStack {feed}: reading again" in caplog.messages
