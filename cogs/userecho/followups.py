"""Reading the status of the forum topics Herald created (`GET topics/{id}`), for
`bot.followups`; the `topic.*` webhooks report changes too (see `events`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.followups import StatusReader
from bot.i18n import N_
from bot.store import Followup
from cogs.userecho.client import UserEchoClient

SERVICE = "userecho"
KIND = "topic"


def topic_status_reader(api: UserEchoClient, interval: float) -> StatusReader:
    async def read(items: Sequence[Followup]) -> dict[int, str]:
        found: dict[int, str] = {}
        for item in items:
            if (status := await api.topic_status(item.item_id)) is not None:
                found[item.id] = status
        return found

    return StatusReader(SERVICE, "UserEcho", {KIND: N_("forum topic")}, read, interval)
