"""The BugHerd cog: task and comment announcements.

BugHerd signs nothing and names no event in its bodies, so each of its four
webhooks gets its own URL, `/webhooks/bugherd/<event>?token=<secret>`, and
Herald checks the token before reading anything else.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.cache import lookup_client
from bot.cog import Cog
from bot.events import Source
from bot.i18n import _
from bot.webhooks import BadDelivery, Incoming, QuerySecret
from cogs.bugherd.client import BugHerdClient
from cogs.bugherd.events import ATTRIBUTES, KINDS, LABEL, SOURCE, BugHerdEvents, check
from cogs.bugherd.settings import BugHerdSettings

if TYPE_CHECKING:
    from bot.core import Core

PATH = "/webhooks/bugherd/{event}"


def hint() -> str:
    return _(
        "Point BugHerd at Herald with one webhook per event: "
        "`https://<herald>/webhooks/bugherd/<event>?token=<BUGHERD_WEBHOOK_SECRET>`"
        " for each of {kinds}.",
        kinds=", ".join(KINDS),
    )


class BugHerd(Cog):
    """Announces BugHerd's task and comment webhooks in subscribed channels."""

    name = "bugherd"

    def __init__(self, core: Core, settings: BugHerdSettings) -> None:
        self.settings = settings
        http = lookup_client(
            core,
            LABEL,
            settings.url,
            _basic(settings.api_key.get_secret_value()) if settings.api_key else None,
            timeout=settings.timeout_seconds,
            per_second=1,
            burst=10,
            auth_hint="BUGHERD_API_KEY",
        )
        self.api = BugHerdClient(http)
        self.events = BugHerdEvents(self.api.project_name, self.api.task)
        core.announcements.add_webhook(
            Source(SOURCE, LABEL, KINDS, ATTRIBUTES, self.events.normalise, hint),
            PATH,
            QuerySecret("token", settings.webhook_secret.get_secret_value()),
            _read,
        )


def _basic(api_key: str) -> str:
    """HTTP Basic with the API key as the user and `x` as the password, as BugHerd asks."""
    return "Basic " + base64.b64encode(f"{api_key}:x".encode()).decode()


def _read(request: web.Request, body: dict[str, Any]) -> Incoming:
    kind = request.match_info["event"]
    if kind not in KINDS:
        raise BadDelivery(f"unknown BugHerd event {kind!r}; use one of {', '.join(KINDS)}", 404)
    check(kind, body)
    return Incoming(kind)
