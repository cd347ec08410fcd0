"""How long a platform's builds usually take: the base of a running build's progress bar."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import UTC, datetime

from bot.store import PollingStore
from cogs.butterstack.events import SOURCE, feed_name
from cogs.butterstack.models import SUCCESS, Build

SAMPLE = 10  # successful builds the median is taken over
SCAN = 200  # recorded successes looked at to find them


class TypicalDurations:
    """The median duration of a project's last successful builds, per platform.

    Read from what the poller recorded, so it costs no request; the poller
    calls `forget` when it records a new success.
    """

    def __init__(self, store: Callable[[], PollingStore]) -> None:
        self.store = store
        self._medians: dict[str, dict[str | None, float]] = {}

    async def typical(self, project: str, platform: str | None) -> float | None:
        if project not in self._medians:
            self._medians[project] = await self._load(project)
        return self._medians[project].get(platform)

    def forget(self, project: str) -> None:
        self._medians.pop(project, None)

    async def _load(self, project: str) -> dict[str | None, float]:
        recorded = await self.store().polled_in_states(
            SOURCE, feed_name(project, "builds"), [SUCCESS], limit=SCAN
        )
        builds = [Build.parse(item.data.get("build", {})) for item in recorded]
        oldest = datetime.min.replace(tzinfo=UTC)
        builds.sort(key=lambda b: b.finished_at or oldest, reverse=True)
        durations: dict[str | None, list[float]] = {}
        now = datetime.now(UTC)
        for build in builds:
            if (took := build.elapsed(now)) is not None and took > 0:
                durations.setdefault(build.platform, []).append(took)
        return {
            platform: statistics.median(found[:SAMPLE])
            for platform, found in durations.items()
            if found
        }
