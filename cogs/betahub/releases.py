"""New BetaHub releases, announced once each.

BetaHub lists a project's releases oldest first and documents no webhook for
them, so Herald reads the list now and then and submits each release it has
not seen to the announcements pipeline, as `release.created` for `betahub`
subscriptions. The first reading records what is there without announcing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.coordination import Coordination, Job
from bot.events import Event, Source
from bot.i18n import _, format_number
from bot.models import Card, Colour
from bot.polling import Problems, Submit
from bot.store import PolledItem, PollingStore
from bot.text import escape, link, truncate
from cogs.betahub.client import BetaHubClient, Release

SOURCE = "betahub"
LABEL = "BetaHub"
KIND = "release.created"
ATTRIBUTES = ("project",)
PUBLISHED = "published"
DESCRIPTION_LIMIT = 1500  # the renderers cut further to each platform's limits


def release_item(release_id: str) -> str:
    return f"{SOURCE}:release:{release_id}"


def release_card(release: Release) -> Card:
    parts = []
    if release.summary:
        parts.append(f"**{escape(release.summary)}**")
    if release.description:
        parts.append(escape(truncate(release.description, DESCRIPTION_LIMIT)))
    card = Card(
        title=_("🎉 New release: {release}", release=escape(release.label)),
        url=release.url,
        description="\n\n".join(parts) or None,
        colour=Colour.ACCENT,
        footer=_("BetaHub release"),
    )
    downloads = "\n".join(link(d.label, d.url) for d in release.downloads)
    card.add_field(_("Download"), downloads or link(_("Release page"), release.url), inline=False)
    return card


def release_event(release: Release, project_id: str) -> Event:
    named = link(release.label, release.url)
    line = (
        _(
            "🎉 New release {release}: {summary}",
            release=named,
            summary=escape(truncate(release.summary, 150)),
        )
        if release.summary
        else _("🎉 New release {release}", release=named)
    )
    return Event(
        source=SOURCE,
        kind=KIND,
        card=release_card(release),
        line=line,
        item=release_item(release.id),
        title=_("Release {release}", release=escape(release.label)),
        url=release.url,
        attributes={"project": [project_id]},
    )


def release_source(project_id: str, interval: float) -> Source:
    """BetaHub as a source of announcements: its releases."""

    async def normalise(kind: str, payload: dict[str, Any]) -> Event | None:
        if kind != KIND or payload.get("id") is None:
            return None
        return release_event(Release.parse(payload), project_id)

    def hint() -> str:
        if interval > 0:
            return _(
                "Herald reads BetaHub's releases itself, every {interval} seconds.",
                interval=format_number(interval),
            )
        return _(
            "Herald does not read BetaHub's releases now:"
            " set BETAHUB_RELEASES_POLL_SECONDS above 0 and restart it."
        )

    return Source(SOURCE, LABEL, (KIND,), ATTRIBUTES, normalise, hint)


class ReleasePoller:
    def __init__(
        self,
        api: BetaHubClient,
        store: Callable[[], PollingStore],
        coordination: Callable[[], Coordination],
        submit: Submit,
        interval: float,
        succeeded: Callable[[], None],
    ) -> None:
        self.api = api
        self.store = store
        self.submit = submit
        self.interval = interval
        self.feed = f"{api.project_id}/releases"
        self.problems = Problems("BetaHub", succeeded)
        self.job = Job(coordination, "betahub-releases", interval)

    async def run(self) -> None:
        """Read the releases every interval, on one process at a time."""
        await self.job.repeat(lambda: self.problems.attempt(self.feed, self.read()))

    async def read(self) -> None:
        """Submit the releases not seen before (none on the very first reading)."""
        releases = await self.api.releases()
        primed = await self.store().feed_primed(SOURCE, self.feed)
        known = await self.store().polled(SOURCE, self.feed, [r.id for r in releases])
        new = [r for r in releases if r.id not in known]
        if primed:
            for release in new:
                key = f"{release_item(release.id)}:created"
                await self.submit(SOURCE, KIND, release.to_json(), key)
        await self.store().record_polled(
            SOURCE, self.feed, [PolledItem(r.id, PUBLISHED, {"label": r.label}) for r in new]
        )
