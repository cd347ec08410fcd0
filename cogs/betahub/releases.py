"""New BetaHub releases, announced once each.

BetaHub lists a project's releases oldest first and documents no webhook for
them, so Herald reads the list now and then and announces the releases it has
not seen. The first reading records what is there without announcing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.models import Card, Colour
from bot.polling import Emit, Event, Problems
from bot.store import PolledItem, Store
from bot.text import escape, link, truncate
from cogs.betahub.client import BetaHubClient, Release

SOURCE = "betahub"
KIND = "release.created"
PUBLISHED = "published"
DESCRIPTION_LIMIT = 1500  # the renderers cut further to each platform's limits


def release_url(release: Release, base_url: str, project_id: str) -> str:
    return release.url or f"{base_url}/projects/{project_id}/releases/{release.id}"


def release_card(release: Release, url: str) -> Card:
    parts = []
    if release.summary:
        parts.append(f"**{escape(release.summary)}**")
    if release.description:
        parts.append(escape(truncate(release.description, DESCRIPTION_LIMIT)))
    card = Card(
        title=f"🎉 New release: {escape(release.label)}",
        url=url,
        description="\n\n".join(parts) or None,
        colour=Colour.ACCENT,
        footer="BetaHub release",
    )
    downloads = "\n".join(link(d.label, d.url) for d in release.downloads)
    card.add_field("Download", downloads or link("Release page", url), inline=False)
    return card


def release_event(release: Release, url: str, project_id: str) -> Event:
    summary = f": {escape(truncate(release.summary, 150))}" if release.summary else ""
    return Event(
        source=SOURCE,
        kind=KIND,
        card=release_card(release, url),
        line=f"🎉 New release {link(release.label, url)}{summary}",
        item=f"{SOURCE}:release:{release.id}",
        title=f"Release {escape(release.label)}",
        url=url,
        attributes={"project": [project_id]},
    )


class ReleasePoller:
    def __init__(
        self,
        api: BetaHubClient,
        store: Callable[[], Store],
        emit: Emit,
        *,
        base_url: str,
        interval: float,
    ) -> None:
        self.api = api
        self.store = store
        self.emit = emit
        self.base_url = base_url
        self.interval = interval
        self.feed = f"{api.project_id}/releases"
        self.problems = Problems("BetaHub")

    async def run(self) -> None:
        while True:
            await self.problems.attempt(self.feed, self.read())
            await asyncio.sleep(self.interval)

    async def read(self) -> None:
        """Announce the releases not seen before (none on the very first reading)."""
        releases = await self.api.releases()
        primed = await self.store().feed_primed(SOURCE, self.feed)
        known = await self.store().polled(SOURCE, self.feed, [r.id for r in releases])
        new = [r for r in releases if r.id not in known]
        if primed:
            for release in new:
                url = release_url(release, self.base_url, self.api.project_id)
                event = release_event(release, url, self.api.project_id)
                await self.emit(event, f"{event.item}:created")
        await self.store().record_polled(
            SOURCE, self.feed, [PolledItem(r.id, PUBLISHED, {"label": r.label}) for r in new]
        )
