"""The HacknPlan cog: work item, milestone, board, design element and project announcements.

HacknPlan signs nothing, so the studio adds a custom header to its webhook,
`Authorization: Bearer <HACKNPLAN_WEBHOOK_SECRET>`, and Herald checks it
before reading anything else. The event name is in `X-HacknPlan-Event`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.cache import lookup_client
from bot.cog import Cog
from bot.events import Source
from bot.i18n import _
from bot.webhooks import BadDelivery, HeaderSecret, Incoming
from cogs.hacknplan.client import HacknPlanClient
from cogs.hacknplan.events import ATTRIBUTES, KINDS, LABEL, SOURCE, HacknPlanEvents, Links, check
from cogs.hacknplan.settings import HacknPlanSettings

if TYPE_CHECKING:
    from bot.core import Core

EVENT_HEADER = "X-HacknPlan-Event"
PATH = "/webhooks/hacknplan"


def hint() -> str:
    return _(
        "Point HacknPlan at Herald (project settings > Webhooks): URL"
        " `https://<herald>{path}`, custom header"
        " `Authorization: Bearer <HACKNPLAN_WEBHOOK_SECRET>`, and the events you want.",
        path=PATH,
    )


class HacknPlan(Cog):
    """Announces HacknPlan's webhook events in subscribed channels."""

    name = "hacknplan"

    def __init__(self, core: Core, settings: HacknPlanSettings) -> None:
        self.settings = settings
        key = settings.api_key.get_secret_value() if settings.api_key else None
        http = lookup_client(
            core,
            LABEL,
            settings.url,
            f"ApiKey {key}" if key else None,
            timeout=settings.timeout_seconds,
            per_second=5,
            burst=5,
            auth_hint="HACKNPLAN_API_KEY",
        )
        self.api = HacknPlanClient(http)
        self.events = HacknPlanEvents(
            Links(settings.app_url),
            core.announcements.known_item,
            self.api.work_item,
            self.api.project_name,
        )
        secret = settings.webhook_secret.get_secret_value()
        core.announcements.add_webhook(
            Source(SOURCE, LABEL, KINDS, ATTRIBUTES, self.events.normalise, hint),
            PATH,
            HeaderSecret("Authorization", f"Bearer {secret}"),
            _read,
        )


def _read(request: web.Request, body: dict[str, Any]) -> Incoming:
    kind = request.headers.get(EVENT_HEADER, "").strip().lower()
    if not kind:
        raise BadDelivery(f"the {EVENT_HEADER} header is missing")
    check(kind, body)
    return Incoming(kind)
