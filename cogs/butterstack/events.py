"""What the ButterStack cog announces: event kinds, payloads, item keys and filter attributes.

The poller submits what it saw of a build or deployment to the announcements
pipeline: the item as ButterStack spells it, and beside a build what its card
needs that ButterStack's build does not carry (its changelist when known, the
platform's typical duration, the moment it was seen). The `Normaliser` turns
that into the card and event when the router reaches it. An item key names a build or
deployment across all its events, so every event about it edits one card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from bot.events import Attributes, Event, Source
from bot.i18n import _
from bot.models import Card
from cogs.butterstack.cards import (
    build_card,
    build_line,
    build_title,
    deployment_card,
    deployment_line,
    deployment_title,
)
from cogs.butterstack.models import Build, Changelist, Deployment, when

if TYPE_CHECKING:
    from cogs.butterstack.client import Changelists

SOURCE = "butterstack"
LABEL = "ButterStack"
KINDS = (
    "build.pending",
    "build.running",
    "build.success",
    "build.failed",
    "deployment.pending",
    "deployment.deploying",
    "deployment.live",
    "deployment.failed",
    "deployment.rolled_back",
)
"""The kinds subscriptions can name; a new deployment status is a new `deployment.<status>`."""
ATTRIBUTES = ("platform", "branch", "status", "project", "configuration")
"""What `where` filters can look at."""
CARD_SHOWS = ("status",)
"""A build's or deployment's status is its card's title: the pipeline need not list its change."""

T = TypeVar("T")


def feed_name(project: str, kind: str) -> str:
    """The name under which the poller records what it saw (`proj_abc/builds`)."""
    return f"{project}/{kind}"


def build_item(build_id: str) -> str:
    return f"{SOURCE}:build:{build_id}"


def deployment_item(deployment_id: str) -> str:
    return f"{SOURCE}:deployment:{deployment_id}"


def build_payload(
    build: Build, *, seen_at: datetime, changelist: Changelist | None, typical: float | None
) -> dict[str, Any]:
    """A build as seen at `seen_at`, with its changelist (files left out) and typical duration."""
    return {
        "build": build.to_json(),
        "changelist": {**changelist.to_json(), "files": []} if changelist else None,
        "typical_seconds": typical,
        "seen_at": seen_at.isoformat(),
    }


def deployment_payload(deployment: Deployment, build: Build | None) -> dict[str, Any]:
    """A deployment, with the build it ships when Herald has seen that build."""
    return {"deployment": deployment.to_json(), "build": build.to_json() if build else None}


def _attributes(**values: str | None) -> Attributes:
    return {key: [value] for key, value in values.items() if value}


def build_event(build: Build, card: Card) -> Event:
    return Event(
        source=SOURCE,
        kind=f"build.{build.status}",
        card=card,
        line=build_line(build),
        item=build_item(build.id),
        title=build_title(build),
        url=build.url,
        attributes=_attributes(
            project=build.project_id,
            platform=build.platform,
            configuration=build.configuration,
            branch=build.branch,
            status=build.status,
        ),
    )


def deployment_event(deployment: Deployment, build: Build | None) -> Event:
    """A deployment's event. Its `platform` is where it goes (steam) and, with its build
    known, what that build was made for (win64): `where platform:win64` finds both."""
    attributes = _attributes(
        project=deployment.project_id,
        branch=deployment.branch,
        status=deployment.status,
        configuration=build.configuration if build else None,
    )
    platforms = [p for p in (deployment.platform, build.platform if build else None) if p]
    if platforms:
        attributes["platform"] = list(dict.fromkeys(platforms))
    return Event(
        source=SOURCE,
        kind=f"deployment.{deployment.status}",
        card=deployment_card(deployment, build),
        line=deployment_line(deployment),
        item=deployment_item(deployment.id),
        title=deployment_title(deployment),
        url=deployment.url,
        attributes=attributes,
    )


def _parsed(payload: dict[str, Any], key: str, parse: Callable[[dict[str, Any]], T]) -> T | None:
    value = payload.get(key)
    return parse(value) if isinstance(value, dict) else None


class Normaliser:
    """Turns what the poller submitted into the event; None for a payload it did not write.

    A build's changelist is on the card when the poller knew it, or when its
    reading (started by the poller) answers within the look-up budget.
    """

    def __init__(self, changelists: Changelists | None = None) -> None:
        self.changelists = changelists

    async def __call__(self, kind: str, payload: dict[str, Any]) -> Event | None:
        build = _parsed(payload, "build", Build.parse)
        if kind.startswith("deployment."):
            deployment = _parsed(payload, "deployment", Deployment.parse)
            return deployment_event(deployment, build) if deployment else None
        if build is None:
            return None
        changelist = _parsed(payload, "changelist", Changelist.parse)
        if changelist is None and build.changelist and self.changelists is not None:
            changelist = await self.changelists.for_card(build.changelist)
        card = build_card(
            build,
            now=when(payload.get("seen_at")) or datetime.now(UTC),
            changelist=changelist,
            typical=payload.get("typical_seconds"),
        )
        return build_event(build, card)


def source(projects: Sequence[str], changelists: Changelists | None = None) -> Source:
    def hint() -> str:
        return _(
            "Nothing to set up in ButterStack: Herald reads the builds and deployments of"
            " {projects} itself.",
            projects=", ".join(projects),
        )

    return Source(SOURCE, LABEL, KINDS, ATTRIBUTES, Normaliser(changelists), hint, CARD_SHOWS)
