"""Per-server rules for where feedback commands may be used (`/herald channels`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.i18n import _
from bot.models import Channel, Invocation
from bot.text import escape

if TYPE_CHECKING:
    from bot.core import Core

KEY = "betahub.channels.{command}"


def _scope(ctx: Invocation) -> str:
    if ctx.guild_id is None:
        raise UserError(_("Channel rules are set in a server, not in private messages."))
    return f"guild:{ctx.platform}:{ctx.guild_id}"


def channel_label(channel: Channel) -> str:
    if channel.name and channel.name != channel.id:
        return f"#{escape(channel.name)}"
    return _("channel {id}", id=channel.id)


class ChannelRules:
    def __init__(self, core: Core) -> None:
        self.core = core

    async def allowed(self, ctx: Invocation, command: str) -> list[Channel]:
        """The channels `/command` is limited to in this server (empty: anywhere)."""
        if ctx.guild_id is None:
            return []
        value = await self.core.store.get_setting(_scope(ctx), KEY.format(command=command))
        return [Channel(**item) for item in json.loads(value)] if value else []

    async def save(self, ctx: Invocation, command: str, channels: list[Channel]) -> None:
        value = json.dumps([{"id": c.id, "name": c.name} for c in channels])
        await self.core.store.set_setting(_scope(ctx), KEY.format(command=command), value)

    async def check(self, ctx: Invocation, command: str) -> None:
        """Refuse `/command` outside its channels, naming where it can be used."""
        allowed = await self.allowed(ctx, command)
        if allowed and ctx.channel_id not in {c.id for c in allowed}:
            where = ", ".join(channel_label(c) for c in allowed)
            raise UserError(
                _(
                    "/{command} can be used in {channels} on this server.",
                    command=command,
                    channels=where,
                )
            )
