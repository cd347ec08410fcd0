"""What the ButterStack cog announces: event kinds, item keys and filter attributes.

An item key names a build or deployment across all its events, so every
event about it edits the one card posted for it.
"""

from __future__ import annotations

from bot.models import Card
from bot.polling import Attributes, Event
from cogs.butterstack.cards import build_line, build_title, deployment_line, deployment_title
from cogs.butterstack.models import Build, Deployment

SOURCE = "butterstack"
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
ATTRIBUTES = ("project", "platform", "configuration", "branch", "status")
"""What `where` filters can look at."""


def feed_name(project: str, kind: str) -> str:
    """The name under which the poller records what it saw (`proj_abc/builds`)."""
    return f"{project}/{kind}"


def build_item(build_id: str) -> str:
    return f"{SOURCE}:build:{build_id}"


def deployment_item(deployment_id: str) -> str:
    return f"{SOURCE}:deployment:{deployment_id}"


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


def deployment_event(deployment: Deployment, card: Card) -> Event:
    return Event(
        source=SOURCE,
        kind=f"deployment.{deployment.status}",
        card=card,
        line=deployment_line(deployment),
        item=deployment_item(deployment.id),
        title=deployment_title(deployment),
        url=deployment.url,
        attributes=_attributes(
            project=deployment.project_id,
            platform=deployment.platform,
            branch=deployment.branch,
            status=deployment.status,
        ),
    )
