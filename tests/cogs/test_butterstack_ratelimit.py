"""One rate limit for every project: Herald against a fake ButterStack that enforces it.

The fake records any request made while its last answer said no request was
left; a well-behaved client makes none. Windows are shortened where a test
must see one end (a 2-second window of 6 requests behaves like a minute of 60).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable

import pytest

from tests.conftest import StartHerald, butterstack_env
from tests.fakes.butterstack import OTHER_PROJECT, PROJECT, FakeButterStack

PROJECTS = f"{PROJECT},{OTHER_PROJECT}"


@pytest.fixture
async def strict() -> AsyncIterator[FakeButterStack]:
    """ButterStack's quota in fast motion: 6 requests per 2-second window."""
    async with FakeButterStack(limit=6, window=2) as fake:
        yield fake


async def run_for(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def test_the_documented_plan_is_kept_by_herald_itself(herald: StartHerald) -> None:
    async with FakeButterStack() as fake:  # 60 a minute, bursts of 10 a second
        env = butterstack_env(
            fake,
            BUTTERSTACK_PROJECT_IDS=PROJECTS,
            BUTTERSTACK_POLL_SECONDS="0.01",
            BUTTERSTACK_RATE_LIMIT_PER_MINUTE="60",
        )
        await herald(**env)
        started = time.time()
        await run_for(3.5)
        sent = [hit.at - started for hit in fake.hits]

    assert fake.violations == []
    assert all(hit.admitted for hit in fake.hits), "no 429: Herald never ran into the limit"
    assert 3 <= len(sent) <= 5 + 4, "at most a burst of 5, then about one a second"
    spans = [later - earlier for earlier, later in zip(sent, sent[6:], strict=False)]
    assert all(span > 1.0 for span in spans), f"more than 6 requests in a second: {sent}"


async def test_herald_spreads_the_remaining_quota_and_waits_for_the_reset(
    herald: StartHerald, strict: FakeButterStack
) -> None:
    env = butterstack_env(strict, BUTTERSTACK_PROJECT_IDS=PROJECTS, BUTTERSTACK_POLL_SECONDS="0.01")
    await herald(**env)  # Herald's own plan (6000 a minute) is no limit here
    await run_for(5)

    assert strict.violations == []
    assert all(hit.admitted for hit in strict.hits), "no 429: Herald slowed down in time"
    per_window = strict.admitted_per_window()
    assert 5 <= max(per_window.values()) <= 6, "the quota is used, and not exceeded"
    assert len(per_window) >= 3, "Herald carried on after each reset"
    first_full = next(w for w, n in sorted(per_window.items()) if n >= 5)
    in_window = [h.at for h in strict.hits if int(h.at // 2) == first_full]
    assert in_window[-1] - in_window[0] > 0.8, "the quota is spread over the window, not burnt"


async def hits_until(fake: FakeButterStack, done: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"gave up waiting; hits: {fake.hits}"
        await asyncio.sleep(0.02)


async def test_after_a_429_herald_waits_until_the_reset(
    herald: StartHerald, strict: FakeButterStack
) -> None:
    env = butterstack_env(strict, BUTTERSTACK_PROJECT_IDS=PROJECTS, BUTTERSTACK_POLL_SECONDS="0.01")
    await herald(**env)
    await hits_until(strict, lambda: len(strict.hits) >= 2)

    def refused() -> bool:
        # Another client of the same key spends the quota, again until Herald meets
        # it: spent just before a window ends, it would be back before Herald asked.
        if any(not hit.admitted for hit in strict.hits):
            return True
        strict.exhaust()
        return False

    await hits_until(strict, refused)
    (refused,) = [hit for hit in strict.hits if not hit.admitted]
    position = strict.hits.index(refused)
    await hits_until(strict, lambda: len(strict.hits) > position + 1)

    reset = (int(refused.at // 2) + 1) * 2
    assert strict.hits[position + 1].at >= reset, "nothing was sent before the reset it named"
    assert strict.violations == []
    assert [hit for hit in strict.hits if not hit.admitted] == [refused]


async def test_a_quota_spent_until_a_distant_reset_stops_every_feed(
    herald: StartHerald, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.polling")
    async with FakeButterStack(window=86_400) as fake:  # a reset far away (next UTC midnight)
        fake.exhaust()
        env = butterstack_env(
            fake, BUTTERSTACK_PROJECT_IDS=PROJECTS, BUTTERSTACK_POLL_SECONDS="0.01"
        )
        await herald(**env)
        await hits_until(fake, lambda: len(fake.hits) >= 1)
        await asyncio.sleep(1.5)

    assert [hit.admitted for hit in fake.hits] == [False], "one 429, then silence for every feed"
    assert fake.violations == []
    (warning,) = caplog.messages
    assert warning.endswith(": ButterStack is busy right now (too many requests).")


async def test_when_the_quota_is_short_busy_feeds_are_still_read_more_often(
    herald: StartHerald, strict: FakeButterStack
) -> None:
    for project in (PROJECT, OTHER_PROJECT):
        strict.add_build(project, status="running")
    strict.add_changelist(12345, "john.doe", "Updated character model textures")
    env = butterstack_env(strict, BUTTERSTACK_PROJECT_IDS=PROJECTS, BUTTERSTACK_POLL_SECONDS="0.1")
    await herald(**env)  # wanted: 2 x 10 busy + 2 x 2.5 idle readings a second; allowed: 3
    await hits_until(strict, lambda: len(strict.hits) >= 6)
    settled = len(strict.hits)
    await run_for(6)

    read = [hit.path.rsplit("/", 1)[-1] for hit in strict.hits[settled:]]
    assert strict.violations == []
    # Read in turns, the feeds would share the quota about equally. Most overdue for its
    # interval first, busy feeds get more: 4 times as much with many feeds, 2 with these.
    assert read.count("builds") >= 1.5 * read.count("deployments") > 0, read
