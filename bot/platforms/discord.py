"""The Discord adapter: discord.py app commands built from the cogs' neutral commands.

Each neutral `CommandSpec` becomes a real `app_commands.Command` whose
callback signature is synthesised from the spec's parameters, so discord.py
does option typing, choices, autocomplete and syncing as it would for a
hand-written command. The callback validates, defers (no upstream call can
break the 3-second deadline), runs the cog's handler and renders the reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Optional

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.commands import AutocompleteHandler, CommandSpec, OptionKind, Param
from bot.dispatch import error_reply, execute
from bot.errors import StartError, UserError
from bot.models import Attachment, ChannelRef, Destination, Invocation, Posted, Reply, User
from bot.platforms.discord_outbound import DiscordOutbound
from bot.platforms.discord_render import NO_MENTIONS, reply_kwargs

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0


class _TextChannelPicker(app_commands.Transformer):
    """A channel option limited to text and announcement channels.

    Taken as Discord resolved it, so no guild cache is needed.
    """

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return [discord.ChannelType.text, discord.ChannelType.news]

    async def transform(self, interaction: discord.Interaction, value: Any, /) -> Any:
        return value


_TYPES: dict[OptionKind, Any] = {
    OptionKind.TEXT: str,
    OptionKind.INTEGER: int,
    OptionKind.NUMBER: float,
    OptionKind.BOOLEAN: bool,
    OptionKind.ATTACHMENT: discord.Attachment,
    OptionKind.CHANNEL: app_commands.Transform[app_commands.AppCommandChannel, _TextChannelPicker],
}


class HeraldBot(commands.Bot):
    def __init__(self, platform: DiscordPlatform) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            # Herald posts by channel id and needs no full guild cache to
            # serve, so it need not wait long for GUILD_CREATE bursts.
            guild_ready_timeout=0.5,
        )
        self.platform = platform

    async def setup_hook(self) -> None:
        await self.platform.discover_gateway()
        self.platform.register_commands(self.tree)
        await self.platform.sync_commands(self.tree)


class DiscordPlatform:
    name = "discord"

    def __init__(self, core: Core) -> None:
        self.core = core
        self.settings = core.settings
        # Every REST and interaction call goes through this base (an HTTP
        # proxy such as nirn-proxy, or a fake in tests).
        discord.http.Route.BASE = self.settings.discord_api_base
        self.bot = HeraldBot(self)
        self.outbound = DiscordOutbound(self.bot)
        self.bot.tree.on_error = self._on_tree_error
        self._connection: asyncio.Task[None] | None = None

    async def start(self) -> None:
        token = self.settings.discord_token
        if token is None:
            raise StartError("DISCORD_TOKEN is not set")
        try:
            await self.bot.login(token.get_secret_value())
        except discord.LoginFailure:
            raise StartError(
                "DISCORD_TOKEN was refused by Discord: copy the token from the Developer"
                " Portal (your application > Bot > Reset Token) into DISCORD_TOKEN."
            ) from None
        self._connection = asyncio.create_task(self.bot.connect(reconnect=True), name="discord")
        self._connection.add_done_callback(self._connection_ended)
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._connection}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
        if self._connection in done and self._connection.exception() is not None:
            raise StartError(f"Discord connection failed: {self._connection.exception()}")
        if not done:
            log.warning("Discord is slow to get ready; carrying on while it connects")
        else:
            log.info("Discord: connected as %s (%s)", self.bot.user, self.bot.application_id)

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self.bot.is_closed():
            return
        error = task.exception()
        log.error("Discord connection ended: %s", error or "closed")
        self.core.stop(exit_code=1)

    def status(self) -> str:
        if self.bot.is_closed():
            return "closed"
        return "connected" if self.bot.is_ready() else "connecting"

    async def close(self) -> None:
        await self.bot.close()
        if self._connection is not None:
            # A reconnect may be sleeping in its backoff: it has nothing left to do.
            self._connection.cancel()
            await asyncio.gather(self._connection, return_exceptions=True)

    async def post(self, to: Destination, reply: Reply, *, key: str | None = None) -> Posted:
        return await self.outbound.post(to, reply, key=key)

    async def edit(self, posted: Posted, reply: Reply) -> None:
        await self.outbound.edit(posted, reply)

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        return await self.outbound.direct(user_id, reply)

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        return await self.outbound.open_thread(posted, name)

    def capacity(self, to: Destination) -> int:
        return self.outbound.capacity(to)

    def ready_in(self, to: Destination) -> float:
        return self.outbound.ready_in(to)

    async def discover_gateway(self) -> None:
        """Connect where Discord says (`GET /gateway/bot`) unless a URL is configured."""
        url = self.settings.discord_gateway_url
        if url is None:
            _, url, _ = await self.bot.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def register_commands(self, tree: app_commands.CommandTree[Any]) -> None:
        groups: dict[str, app_commands.Group] = {}
        for spec in self.core.commands.values():
            *parents, leaf = spec.path
            parent = None
            if parents:
                group_name = parents[0]
                parent = groups.get(group_name)
                if parent is None:
                    parent = app_commands.Group(
                        name=group_name, description=f"{group_name.capitalize()} commands"
                    )
                    groups[group_name] = parent
                    tree.add_command(parent)
            command = self._app_command(spec, leaf, parent)
            if parent is None:
                tree.add_command(command)
            else:
                parent.add_command(command)

    async def sync_commands(self, tree: app_commands.CommandTree[Any]) -> None:
        """Upload the command list where it changed since the last upload."""
        guilds = [discord.Object(id=g) for g in self.settings.discord_guild_ids] or [None]
        for guild in guilds:
            if guild is not None:
                tree.copy_global_to(guild=guild)
            payload = [c.to_dict(tree) for c in tree.get_commands(guild=guild)]
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            scope = f"discord:{self.bot.application_id}"
            key = f"commands:{guild.id if guild else 'global'}"
            if await self.core.store.get_setting(scope, key) == digest:
                log.info("Discord commands unchanged (%s)", key)
                continue
            synced = await tree.sync(guild=guild)
            await self.core.store.set_setting(scope, key, digest)
            where = f"guild {guild.id}" if guild else "globally (may take up to an hour)"
            log.info("Discord: synced %d commands %s", len(synced), where)

    def _app_command(
        self, spec: CommandSpec, leaf: str, parent: app_commands.Group | None
    ) -> app_commands.Command[Any, ..., None]:
        async def callback(interaction: discord.Interaction, **values: Any) -> None:
            await self._invoke(spec, interaction, values)

        callback.__signature__ = _signature(spec.params)  # type: ignore[attr-defined]
        callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
            p.name: p.description for p in spec.params
        }
        callback.__discord_app_commands_param_choices__ = {  # type: ignore[attr-defined]
            p.name: [app_commands.Choice(name=c.name, value=c.value) for c in p.choices]
            for p in spec.params
            if p.choices
        }
        command = app_commands.Command(
            name=leaf, description=spec.description, callback=callback, parent=parent
        )
        if spec.admin and parent is None:
            command.default_permissions = discord.Permissions(manage_guild=True)
            command.guild_only = True
        for name, handler in spec.autocompleters.items():
            command.autocomplete(name)(self._autocompleter(spec, handler))
        return command

    def _autocompleter(
        self, spec: CommandSpec, handler: AutocompleteHandler
    ) -> Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[Any]]]]:
        async def autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[Any]]:
            try:
                choices = await handler(self.invocation(spec.name, interaction), current)
            except UserError:
                return []
            return [app_commands.Choice(name=c.name[:100], value=c.value) for c in choices[:25]]

        return autocomplete

    def invocation(self, command: str, interaction: discord.Interaction) -> Invocation:
        user = interaction.user
        permissions = interaction.permissions
        return Invocation(
            command=command,
            user=User(
                platform="discord",
                id=str(user.id),
                name=user.name,
                discriminator=user.discriminator or "0",
                display_name=user.global_name,
            ),
            guild_id=str(interaction.guild_id) if interaction.guild_id else None,
            channel_id=str(interaction.channel_id) if interaction.channel_id else None,
            locale=str(interaction.locale),
            is_admin=interaction.guild_id is not None and permissions.manage_guild,
        )

    async def _invoke(
        self, spec: CommandSpec, interaction: discord.Interaction, values: dict[str, Any]
    ) -> None:
        ctx = self.invocation(spec.name, interaction)
        try:
            ctx.options = spec.bind({k: _neutral(v) for k, v in values.items()})
        except UserError as error:
            await interaction.response.send_message(
                **reply_kwargs(error_reply(error.message)), ephemeral=True
            )
            return
        await interaction.response.defer(ephemeral=spec.ephemeral, thinking=True)
        reply = await execute(spec, ctx)
        await self._deliver(interaction, reply, public=not spec.ephemeral)

    async def _deliver(
        self, interaction: discord.Interaction, reply: Reply, *, public: bool
    ) -> None:
        """Replace the "thinking…" message with the reply.

        A private reply (an error, say) to a public command must not show in
        the channel, so the public placeholder is removed and the reply is
        sent as an ephemeral follow-up instead.
        """
        kwargs = reply_kwargs(reply)
        if reply.ephemeral and public:
            await interaction.delete_original_response()
            await interaction.followup.send(ephemeral=True, **kwargs)
        else:
            await interaction.edit_original_response(**kwargs)

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("Discord command error", exc_info=error)
        kwargs = reply_kwargs(error_reply("Something went wrong; it has been logged."))
        try:
            if interaction.response.is_done():
                await interaction.followup.send(ephemeral=True, **kwargs)
            else:
                await interaction.response.send_message(ephemeral=True, **kwargs)
        except discord.HTTPException:
            log.warning("could not tell the user about the error")


def _signature(params: list[Param]) -> inspect.Signature:
    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for param in params:
        annotation = _annotation(param)
        default = inspect.Parameter.empty
        if not param.required:
            annotation = Optional[annotation]  # noqa: UP045 - Range[...] is an object, not a type
            default = None
        parameters.append(
            inspect.Parameter(
                param.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
            )
        )
    return inspect.Signature(parameters)


def _annotation(param: Param) -> Any:
    """The discord.py annotation for a parameter.

    Minimum text lengths are not sent to Discord: its client would refuse a
    short text with a generic message, and the cog's own explanation of what
    to add is more useful.
    """
    base = _TYPES[param.kind]
    if param.kind is OptionKind.TEXT and param.max_length is not None and not param.choices:
        return app_commands.Range[str, 1, param.max_length]
    if param.kind in (OptionKind.INTEGER, OptionKind.NUMBER) and (
        param.min_value is not None or param.max_value is not None
    ):
        return app_commands.Range[base, param.min_value, param.max_value]
    return base


def _neutral(value: Any) -> Any:
    if isinstance(value, discord.Attachment):
        return Attachment(value.filename, value.url, value.size, value.content_type)
    if isinstance(value, app_commands.AppCommandChannel | app_commands.AppCommandThread):
        return ChannelRef(str(value.id), value.name)
    return value
