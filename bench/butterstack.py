"""Benchmark 5: 20 ButterStack projects x 10 running builds, watched for 5 minutes, within
ButterStack's 60 requests a minute.

Herald (`python -m bot`, its own process) polls a fake ButterStack that
enforces the quota per key (429 past it) and posts to a fake Discord, one
channel per project and branch (a `where` subscription each). A script in this process keeps ten
builds running in every project: each finishes (success, or now and then
failed), the next one is queued (pending) and starts running a while later.

Five minutes of ButterStack's time would take five minutes; the benchmark
runs them `--scale` times faster instead. Every duration Herald and the fake
go by is divided by the scale: the fake's quota window (60 s), Herald's
BUTTERSTACK_POLL_SECONDS (15 s), how long builds run; the quota per window
stays 60, so Herald's BUTTERSTACK_RATE_LIMIT_PER_MINUTE is 60 x scale. The
figures printed are converted back: minutes and seconds of the real plan.

    python3 tasks.py bench butterstack [--scale 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.harness import Herald, discord_env, fake_discord, percentile, workdir
from tests.fakes import butterstack as fake_butterstack
from tests.fakes.butterstack import CONFIGURATIONS, PLATFORMS, FakeButterStack
from tests.fakes.discord import FakeDiscord

PROJECTS = 20
RUNNING = 10
MINUTES = 5
QUOTA = 60  # requests per minute of the plan
POLL_SECONDS = 15.0
GRACE = 120.0  # plan seconds after the last change for Herald to show it
FIRST_CHANNEL = 710000000000000000
# In plan seconds: how long a build runs, waits queued, and how soon the next is queued.
RUN_FOR = (90.0, 180.0)
QUEUED_FOR = (45.0, 75.0)
NEXT_AFTER = (5.0, 15.0)
FIRST_FINISH = (20.0, 200.0)
FAILURE_RATE = 0.1
NEW_CHANGELIST = 0.2  # a queued build is of a new changelist; else of the project's latest
SHOWN = {"pending": "pending", "running": "running", "succeeded": "success", "FAILED": "failed"}


def lane(slot: int) -> str:
    """The branch a slot's builds are made from; each has its own channel, so no channel
    gets more than Discord's 5 new messages in 5 s (which would fold cards into digests)."""
    return f"lane-{slot}"


@dataclass(frozen=True)
class Change:
    build: str
    status: str
    at: float  # time.monotonic() when the fake took it


@dataclass
class Scenario:
    """Ten builds kept running in each project, as a timetable in plan seconds."""

    fake: FakeButterStack
    scale: float
    rng: random.Random = field(default_factory=lambda: random.Random(5))
    changes: list[Change] = field(default_factory=list)
    timetable: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    changelists: dict[str, int] = field(default_factory=dict)
    _order: int = 0

    def projects(self) -> list[str]:
        return [f"proj_bench{n:02d}" for n in range(1, PROJECTS + 1)]

    def prepare(self) -> None:
        """The builds running when Herald starts, and what each slot does for 5 minutes."""
        for index, project in enumerate(self.projects()):
            self.changelists[project] = 100000 * (index + 1)
            self._new_changelist(project)
            for slot in range(RUNNING):
                started = time.time() - self.rng.uniform(0, 120) / self.scale
                build = self._queue(project, slot, status="running", started=started)
                self._at(
                    self.rng.uniform(*FIRST_FINISH),
                    lambda b=build, p=project, s=slot: self._finish(b, p, s),
                )

    def _at(self, when: float, action: Callable[[], None]) -> None:
        if when < MINUTES * 60:
            self._order += 1
            self.timetable.append((when, self._order, action))

    def _new_changelist(self, project: str) -> str:
        self.changelists[project] += 1
        number = self.changelists[project]
        self.fake.add_changelist(number, f"dev{number % 7}", f"Change {number} in {project}")
        return str(number)

    def _queue(self, project: str, slot: int, **move: object) -> str:
        if self.rng.random() < NEW_CHANGELIST:
            self._new_changelist(project)
        build = self.fake.add_build(
            project,
            platform=PLATFORMS[slot % len(PLATFORMS)],
            configuration=CONFIGURATIONS[slot % len(CONFIGURATIONS)],
            branch=lane(slot),
            changelist=str(self.changelists[project]),
            **move,  # type: ignore[arg-type]
        )
        self.changes.append(Change(build["id"], build["status"], time.monotonic()))
        return str(build["id"])

    def _finish(self, build: str, project: str, slot: int) -> None:
        failed = self.rng.random() < FAILURE_RATE
        self._move(build, "failed" if failed else "success")
        now = self.now()
        self._at(now + self.rng.uniform(*NEXT_AFTER), lambda: self._next(project, slot))

    def _next(self, project: str, slot: int) -> None:
        build = self._queue(project, slot)
        now = self.now()
        start = now + self.rng.uniform(*QUEUED_FOR)
        self._at(start, lambda: self._start(build, project, slot))

    def _start(self, build: str, project: str, slot: int) -> None:
        self._move(build, "running")
        finish = self.now() + self.rng.uniform(*RUN_FOR)
        self._at(finish, lambda: self._finish(build, project, slot))

    def _move(self, build: str, status: str) -> None:
        self.fake.move(build, status)
        self.changes.append(Change(build, status, time.monotonic()))

    def now(self) -> float:
        """Plan seconds since the run began."""
        return (time.monotonic() - self.began) * self.scale

    async def run(self) -> None:
        """Carry out the timetable (it grows as builds finish) in scaled time."""
        self.began = time.monotonic()
        self.changes.clear()
        while self.timetable:
            self.timetable.sort()
            when, _, action = self.timetable.pop(0)
            await asyncio.sleep(max(0.0, self.began + when / self.scale - time.monotonic()))
            action()


def card_revisions(discord: FakeDiscord) -> dict[str, list[tuple[float, str]]]:
    """For each build, when its card showed which status (creates and edits), in order."""
    shown: dict[str, list[tuple[float, str]]] = {}
    for at, _, message in discord.revisions:
        for embed in message.get("embeds") or []:
            url, title = embed.get("url") or "", embed.get("title") or ""
            status = SHOWN.get(title.rsplit(" ", 1)[-1])
            if "/builds/" in url and status:
                shown.setdefault(url.rsplit("/", 1)[-1], []).append((at, status))
    return shown


def delays(changes: list[Change], shown: dict[str, list[tuple[float, str]]]) -> list[float | None]:
    """Seconds from each change at the fake to the first card showing it (None: never)."""
    found: list[float | None] = []
    for change in changes:
        seen = [at for at, status in shown.get(change.build, []) if status == change.status]
        later = [at for at in seen if at >= change.at]
        found.append(min(later) - change.at if later else None)
    return found


def requests_per_minute(fake: FakeButterStack, began: float, scale: float) -> Counter[int]:
    """Requests the fake received in each plan minute since `began` (epoch seconds)."""
    minutes: Counter[int] = Counter()
    for hit in fake.hits:
        minute = int((hit.at - began) * scale // 60)
        if 0 <= minute < MINUTES:
            minutes[minute] += 1
    return minutes


def reading_gaps(fake: FakeButterStack, began: float, scale: float) -> list[float]:
    """Plan seconds between two readings of the same builds feed, during the run."""
    last: dict[str, float] = {}
    gaps = []
    for hit in fake.hits:
        if not hit.path.endswith("/builds") or hit.offset or hit.at < began:
            continue
        if hit.path in last:
            gaps.append((hit.at - last[hit.path]) * scale)
        last[hit.path] = hit.at
    return gaps


async def cards_posted(discord: FakeDiscord, count: int) -> None:
    """Wait until Herald has posted `count` cards (the first reading of every feed)."""
    while len(discord.messages) < count:  # noqa: ASYNC110 - the fake's state, polled
        await asyncio.sleep(0.05)


async def main(scale: int) -> None:
    window = 60 // scale
    butterstack = FakeButterStack(
        limit=QUOTA, window=window, burst=10, burst_window=1 / scale, projects=()
    )
    scenario = Scenario(butterstack, scale)
    butterstack.projects = scenario.projects()
    await butterstack.start()
    discord = await fake_discord(limit=None)
    env = {
        **discord_env(discord),
        "BUTTERSTACK_URL": butterstack.url,
        "BUTTERSTACK_TOKEN": fake_butterstack.TOKEN,
        "BUTTERSTACK_PROJECT_IDS": ",".join(scenario.projects()),
        "BUTTERSTACK_POLL_SECONDS": f"{POLL_SECONDS / scale}",
        "BUTTERSTACK_RATE_LIMIT_PER_MINUTE": str(QUOTA * scale),
    }
    herald = Herald(env=env, workdir=workdir())
    for index, project in enumerate(scenario.projects()):
        for slot in range(RUNNING):
            where = f"project:{project}, branch:{lane(slot)}"
            await herald.subscribe(
                "butterstack", FIRST_CHANNEL + index * RUNNING + slot, where=where
            )
    scenario.prepare()
    started = time.monotonic()
    try:
        await herald.start()
        await asyncio.wait_for(cards_posted(discord, PROJECTS * RUNNING), 600 / scale)
        warm_up = (time.monotonic() - started) * scale
        began_epoch = time.time()
        hits_before = len(butterstack.hits)
        await scenario.run()
        await asyncio.sleep(max(0.0, MINUTES * 60 / scale - (time.monotonic() - scenario.began)))
        await asyncio.sleep(GRACE / scale)
        await herald.drained()
    finally:
        await herald.stop()
        await discord.stop()
        await butterstack.stop()

    found = delays(scenario.changes, card_revisions(discord))
    seen = [d * scale for d in found if d is not None]
    per_minute = requests_per_minute(butterstack, began_epoch, scale)
    end = began_epoch + MINUTES * 60 / scale
    during = [h for h in butterstack.hits[hits_before:] if h.at < end]
    gaps = reading_gaps(butterstack, began_epoch, scale)
    print(
        f"butterstack: {PROJECTS} projects x {RUNNING} running builds for {MINUTES} minutes,"
        f" quota {QUOTA} requests/minute, BUTTERSTACK_POLL_SECONDS {POLL_SECONDS:g}"
    )
    print(
        f"simulated time: run {scale:g}x faster (fake quota window {window} s, Herald's"
        f" BUTTERSTACK_POLL_SECONDS {POLL_SECONDS / scale:g} s and RATE_LIMIT_PER_MINUTE"
        f" {env['BUTTERSTACK_RATE_LIMIT_PER_MINUTE']}); figures below are in real-plan time"
    )
    print(f"warm-up (first reading of every feed, {PROJECTS * RUNNING} cards): {warm_up:.0f} s")
    print(
        "requests per minute: "
        + "  ".join(f"m{m + 1}={per_minute[m]}" for m in range(MINUTES))
        + f"   (max {max(per_minute.values())}, limit {QUOTA})"
    )
    kinds = Counter(
        h.path.split("/")[-1] if "/projects/" in h.path else h.path.split("/")[2] for h in during
    )
    print("requests by kind: " + ", ".join(f"{k} {n}" for k, n in kinds.most_common()))
    print(
        f"429s: {sum(not h.admitted for h in during)}"
        f"   requests while told to wait: {len(butterstack.violations)}"
    )
    print(
        f"status changes at the fake: {len(found)}"
        f"   shown on their card: {len(seen)}   missed: {found.count(None)}"
    )
    p50, p95 = percentile(seen, 0.5), percentile(seen, 0.95)
    print(f"change -> card edit: p50 {p50:.1f} s   p95 {p95:.1f} s   worst {max(seen):.1f} s")
    print(
        f"readings of a builds feed: every {statistics.mean(gaps):.1f} s on average,"
        f" longest gap {max(gaps):.1f} s"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5, choices=(1, 2, 3, 4, 5, 6, 10))
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(arguments().scale))
