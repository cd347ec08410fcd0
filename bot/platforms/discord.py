"""The Discord adapter: discord.py app commands built from the cogs' neutral commands.

Each neutral `CommandSpec` becomes a real `app_commands.Command` whose
callback signature is synthesised from the spec's parameters, so discord.py
does option typing, choices, autocomplete and syncing as it would for a
hand-written command. The callback validates, defers (no upstream call can
break the 3-second deadline), runs the cog's handler and renders the reply.

A command run without its required options opens a modal instead (a modal
must be the first answer, so nothing is deferred before it); a spec with a
`message_menu` also becomes a message context-menu entry that opens the same
modal prefilled from the message. Modal submissions and button presses arrive
as raw interactions and are routed by their custom ids, so they keep working
after a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Optional

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.backoff import backoff
from bot.commands import AutocompleteHandler, Choice, CommandSpec, OptionKind, Param
from bot.dispatch import echo_reply, error_reply, execute, execute_action
from bot.errors import DeliveryError, StartError, UserError
from bot.followups import card_posted
from bot.forms import form_capable, form_params, parse_action_id
from bot.i18n import N_, _, speaking
from bot.models import (
    Attachment,
    Channel,
    Destination,
    Invocation,
    MessageRef,
    Posted,
    Reply,
    Role,
    User,
)
from bot.platforms.discord_forms import (
    MAX_FIELDS,
    FormId,
    build_form,
    submitted_values,
)
from bot.platforms.discord_gateway import GatewayLease
from bot.platforms.discord_outbound import DiscordOutbound
from bot.platforms.discord_render import NO_MENTIONS, reply_kwargs
from bot.platforms.discord_shards import (
    IdentifyPacer,
    all_connected,
    shard_options,
    shard_status,
    sharded,
    syncs_commands,
)
from bot.platforms.discord_translator import Translator, localized
from bot.platforms.outbound import ForwardsOutbound

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

READY_TIMEOUT = 60.0
CONNECT_RETRY_FIRST = 2.0
CONNECT_RETRY_MAX = 60.0
FORM_CHOICES_TIMEOUT = 1.0
FORM_EXTRAS_KEPT = 500
NAME = "discord"
RECEIVED = "herald:received"
"""Key in `Interaction.extras`: when the interaction arrived (monotonic seconds)."""


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
    OptionKind.ROLE: discord.Role,
    OptionKind.CHANNEL: app_commands.Transform[app_commands.AppCommandChannel, _TextChannelPicker],
}


class HeraldBot(commands.Bot):
    def __init__(self, platform: DiscordPlatform, **shards: Any) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            # Herald posts by channel id and needs no full guild cache to
            # serve, so it need not wait long for GUILD_CREATE bursts.
            guild_ready_timeout=0.5,
            **shards,
        )
        self.platform = platform

    def dispatch(self, event_name: str, /, *args: Any, **kwargs: Any) -> None:
        # The gateway parser dispatches `interaction` in the same step that schedules
        # the command tree's handling, so the stamp is there before any handler runs.
        if event_name == "interaction" and args and isinstance(args[0], discord.Interaction):
            args[0].extras[RECEIVED] = time.monotonic()
        super().dispatch(event_name, *args, **kwargs)

    async def setup_hook(self) -> None:
        await self.platform.discover_gateway()
        # Every process translates (autocomplete choices too), uploading or not.
        await self.tree.set_translator(self.platform.translator)
        self.platform.register_commands(self.tree)
        if syncs_commands(self.platform.settings) and not self.platform.uploads_with_gateway:
            await self.platform.sync_commands()


class ShardedHeraldBot(HeraldBot, commands.AutoShardedBot):
    """Herald's bot running the shards `DISCORD_SHARD_COUNT`/`DISCORD_SHARD_IDS` name."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        await self.platform.identify_pacer.wait(shard_id or 0)


class DiscordPlatform(ForwardsOutbound):
    name = NAME

    def __init__(self, core: Core) -> None:
        self.core = core
        self.settings = core.settings
        # Every REST and interaction call goes through this base (an HTTP
        # proxy such as nirn-proxy, or a fake in tests).
        discord.http.Route.BASE = self.settings.discord_api_base
        bot = ShardedHeraldBot if sharded(self.settings) else HeraldBot
        self.bot = bot(self, **shard_options(self.settings))
        self.outbound = DiscordOutbound(self.bot, salt=core.instance_id)
        self.bot.tree.error(self._on_tree_error)
        self.bot.add_listener(self._on_interaction, "on_interaction")
        self.bot.add_listener(self._on_gateway_up, "on_connect")
        self.bot.add_listener(self._on_gateway_up, "on_resumed")
        self.bot.add_listener(self._on_gateway_down, "on_disconnect")
        self._gateway_up = False
        self._connection: asyncio.Task[None] | None = None
        self.identify_pacer = IdentifyPacer()
        self.translator = Translator()
        # Unsharded, the gateway session is one process's at a time (discord_gateway).
        self.gateway: GatewayLease | None = None
        if not sharded(self.settings):
            self.gateway = GatewayLease(
                lambda: core.coordination, self._take_gateway, self._leave_gateway
            )
        # Values a modal cannot carry (files given with the slash command, the
        # message's author), by form token; a form submitted after a restart
        # still has everything typed into it.
        self._form_extras: OrderedDict[str, dict[str, Any]] = OrderedDict()

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
        if self.gateway is None:
            self._connect()
        elif not await self.gateway.start():
            log.info(
                "Discord: another process holds the gateway session; this one stands by"
                " (REST only) and takes it over if that process stops"
            )
            return
        if self._connection is not None:
            await self._wait_ready(self._connection)

    @property
    def uploads_with_gateway(self) -> bool:
        """Unsharded with DISCORD_SYNC_COMMANDS=auto, the process taking the gateway
        session uploads the command list (each time: unchanged, it is not sent again)."""
        return self.gateway is not None and self.settings.discord_sync_commands == "auto"

    async def _take_gateway(self) -> None:
        """This process holds the gateway session now: upload the commands, connect
        (connect even when the upload failed: the list uploaded before still works)."""
        try:
            if self.uploads_with_gateway:
                await self.sync_commands()
        finally:
            self._connect()

    async def _leave_gateway(self) -> None:
        """Another process holds the gateway session: close ours, staying logged in for
        REST (discord.py's own `close` would end the HTTP session too)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.cancel()
            await asyncio.gather(connection, return_exceptions=True)
        ws: discord.gateway.DiscordWebSocket | None = self.bot.ws  # None before any connect
        if ws is not None and ws.open:
            await ws.close(code=1000)  # 1000: the session ends, not resumable
        self._gateway_up = False

    def _connect(self) -> None:
        self._connection = asyncio.create_task(self._stay_connected(), name="discord")
        self._connection.add_done_callback(self._connection_ended)

    async def _wait_ready(self, connection: asyncio.Task[None]) -> None:
        """Until the gateway's READY, at most READY_TIMEOUT s; a connection failing for
        good stops start-up."""
        ready = asyncio.create_task(self.bot.wait_until_ready())
        done, _pending = await asyncio.wait(
            {ready, connection}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
        if connection in done and connection.exception() is not None:
            raise StartError(f"Discord connection failed: {connection.exception()}")
        if not done:
            log.warning("Discord is slow to get ready; carrying on while it connects")
        else:
            log.info("Discord: connected as %s (%s)", self.bot.user, self.bot.application_id)

    async def _stay_connected(self) -> None:
        """discord.py's own connect loop, started again when it gives up on a failure
        that is not final.

        discord.py reconnects by itself once connected; but a gateway unreachable
        at the very first attempt ends its loop with an error (it tries to resume
        a session it never had), which would otherwise take Herald down with it.
        Refused credentials or intents end it for good.
        """
        attempt = 0
        while not self.bot.is_closed():
            try:
                await self.bot.connect(reconnect=True)
                return
            except (discord.LoginFailure, discord.PrivilegedIntentsRequired):
                raise
            except Exception as error:
                if self.bot.is_closed():
                    raise
                attempt += 1
                delay = backoff(attempt, first=CONNECT_RETRY_FIRST, cap=CONNECT_RETRY_MAX)
                log.warning(
                    "Discord gateway unreachable (%s: %s); trying again in %.1f s",
                    type(error).__name__,
                    error,
                    delay,
                )
                await asyncio.sleep(delay)

    def _connection_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self.bot.is_closed():
            return
        error = task.exception()
        log.error("Discord connection ended: %s", error or "closed")
        self.core.stop(exit_code=1)

    def status(self) -> str:
        """`connected` while the gateway is; discord.py's `is_ready()` stays true after a
        drop (it reconnects and resumes by itself), so its events are followed too.
        `standby`: another process holds the gateway session; this one serves REST."""
        if self.bot.is_closed():
            return "closed"
        if self.gateway is not None and not self.gateway.holding:
            return "standby"
        if not self.bot.is_ready():
            return "connecting"
        if isinstance(self.bot, discord.AutoShardedClient):
            return "connected" if all_connected(self.bot) else "disconnected"
        return "connected" if self._gateway_up else "disconnected"

    def channel_language(self, channel_id: str) -> str | None:
        """The preferred locale of the channel's server, from the gateway's guild cache."""
        channel = self.bot.get_channel(int(channel_id)) if channel_id.isdigit() else None
        if isinstance(channel, discord.abc.GuildChannel | discord.Thread):
            return str(channel.guild.preferred_locale)
        return None

    def shards(self) -> dict[str, dict[str, Any]] | None:
        """Per-shard status for /healthz when sharded."""
        if isinstance(self.bot, discord.AutoShardedClient):
            return shard_status(self.bot)
        return None

    async def _on_gateway_up(self) -> None:
        if not self._gateway_up and self.bot.is_ready():
            log.info("Discord: gateway connected again")
        self._gateway_up = True

    async def _on_gateway_down(self) -> None:
        if self._gateway_up:
            log.warning("Discord: gateway disconnected; reconnecting")
        self._gateway_up = False

    async def close(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
        await self.bot.close()
        if self._connection is not None:
            # A reconnect may be sleeping in its backoff: it has nothing left to do.
            self._connection.cancel()
            await asyncio.gather(self._connection, return_exceptions=True)

    async def discover_gateway(self) -> None:
        """Connect where Discord says (`GET /gateway/bot`) unless a URL is configured."""
        url = self.settings.discord_gateway_url
        if url is None:
            _shards, url, limits = await self.bot.http.get_bot_gateway()
            self.identify_pacer.slots = limits["max_concurrency"]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    def register_commands(self, tree: app_commands.CommandTree[Any]) -> None:
        """Add every cog command to the tree, nesting `"a b c"` as group, subgroup, command.

        A top-level group whose commands are all admin-only is hidden from
        members without Manage Server, as a top-level admin command is.
        """
        specs = list(self.core.commands.values())
        groups: dict[tuple[str, ...], app_commands.Group] = {}
        for spec in specs:
            parent: app_commands.Group | None = None
            for depth in range(1, len(spec.path)):
                prefix = tuple(spec.path[:depth])
                if prefix not in groups:
                    groups[prefix] = self._group(prefix, parent, specs)
                    if parent is None:
                        tree.add_command(groups[prefix])
                parent = groups[prefix]
            command = self._app_command(spec, spec.path[-1], parent)
            if parent is None:
                tree.add_command(command)
            else:
                parent.add_command(command)
            if spec.message_menu is not None:
                tree.add_command(self._message_menu(spec))

    def _group(
        self, prefix: tuple[str, ...], parent: app_commands.Group | None, specs: list[CommandSpec]
    ) -> app_commands.Group:
        """A command group; given a parent, discord.py adds it to that parent itself."""
        admin = parent is None and all(
            s.admin for s in specs if tuple(s.path[: len(prefix)]) == prefix
        )
        return app_commands.Group(
            name=prefix[-1],
            description=localized(N_("{group} commands"), group=" ".join(prefix).capitalize()),
            parent=parent,
            default_permissions=discord.Permissions(manage_guild=True) if admin else None,
            guild_only=admin,
        )

    async def sync_commands(self) -> None:
        """Upload the command list, with its texts in every shipped language, where it
        changed since the last upload (a catalog's new translations change it too)."""
        tree, translator = self.bot.tree, self.translator
        guilds: list[discord.Object | None] = [
            discord.Object(id=g) for g in self.settings.discord_guild_ids
        ] or [None]
        for guild in guilds:
            if guild is not None:
                tree.copy_global_to(guild=guild)
            payload = [
                await c.get_translated_payload(tree, translator)
                for c in tree.get_commands(guild=guild)
            ]
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
            with speaking(str(interaction.locale)):
                await self._invoke(spec, interaction, values)

        callback.__signature__ = _signature(spec)  # type: ignore[attr-defined]  # discord.py reads it
        callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]  # discord.py reads it
            name: description for p in spec.params for name, description in _option_names(p)
        }
        callback.__discord_app_commands_param_choices__ = {  # type: ignore[attr-defined]  # discord.py reads it
            p.name: [app_commands.Choice(name=c.name, value=c.value) for c in p.choices]
            for p in spec.params
            if p.choices
        }
        command: app_commands.Command[Any, ..., None] = app_commands.Command(
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
    ) -> Callable[[discord.Interaction, str], Coroutine[Any, Any, list[app_commands.Choice[Any]]]]:
        async def autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[Any]]:
            try:
                with speaking(str(interaction.locale)):
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
            roles=_role_ids(user),
        )

    async def _invoke(
        self, spec: CommandSpec, interaction: discord.Interaction, values: dict[str, Any]
    ) -> None:
        raw = _collect(spec, values)
        if spec.missing(raw) and form_capable(spec):
            await self._open_form(spec, interaction, raw, None)
            return
        await self._run(spec, interaction, self.invocation(spec.name, interaction), raw)

    async def _run(
        self,
        spec: CommandSpec,
        interaction: discord.Interaction,
        ctx: Invocation,
        raw: dict[str, Any],
        *,
        from_form: bool = False,
    ) -> None:
        """Validate, defer, run the handler and deliver its reply."""
        try:
            ctx.options = spec.bind(raw)
        except UserError as error:
            reply = error_reply(error.message)
            if from_form:
                reply = echo_reply(error.message, _typed_text(spec, raw))
            await interaction.response.send_message(**reply_kwargs(reply), ephemeral=True)
            self._acknowledged(interaction)
            return
        await interaction.response.defer(ephemeral=spec.ephemeral, thinking=True)
        self._acknowledged(interaction)
        reply = await execute(spec, ctx, self.core)
        await self._deliver(interaction, reply, public=not spec.ephemeral)

    def _acknowledged(self, interaction: discord.Interaction) -> None:
        """Time from the interaction's arrival to its first answer (Discord allows 3 s)."""
        received = interaction.extras.get(RECEIVED)
        if received is not None:
            self.core.metrics.acknowledged(self.name, time.monotonic() - received)

    async def _deliver(
        self, interaction: discord.Interaction, reply: Reply, *, public: bool
    ) -> None:
        """Replace the "thinking…" message with the reply.

        A private reply (an error, say) to a public command must not show in
        the channel, so the public placeholder is removed and the reply is
        sent as an ephemeral follow-up instead. A public reply to a message
        (from a context menu) is posted as a reply to it.
        """
        kwargs = reply_kwargs(reply)
        if reply.ephemeral and public:
            await interaction.delete_original_response()
            await interaction.followup.send(ephemeral=True, **kwargs)
        elif not reply.ephemeral and await self._answer_message(reply):
            await interaction.delete_original_response()
        else:
            message = await interaction.edit_original_response(**kwargs)
            if public:
                await card_posted(reply, _posted(message))

    async def _answer_message(self, reply: Reply) -> bool:
        """Post a reply to the message it answers; False when there is none or it failed."""
        message = reply.in_reply_to
        if message is None:
            return False
        try:
            posted = await self.post(Destination(self.name, message.channel_id), reply)
        except DeliveryError as error:
            log.warning("could not reply to message %s: %s", message.id, error)
            return False
        await card_posted(reply, posted)
        return True

    # --- forms (modals) ----------------------------------------------------

    def _message_menu(self, spec: CommandSpec) -> app_commands.ContextMenu:
        async def menu(interaction: discord.Interaction, message: discord.Message) -> None:
            with speaking(str(interaction.locale)):
                await self._open_menu_form(spec, interaction, message)

        return app_commands.ContextMenu(name=spec.message_menu or spec.name, callback=menu)

    async def _open_menu_form(
        self, spec: CommandSpec, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """The modal of a message's context-menu entry, prefilled from the message."""
        ref = MessageRef(
            id=str(message.id),
            channel_id=str(message.channel.id),
            text=message.content,
            author=message.author.display_name,
            url=_message_url(interaction.guild_id, message.channel.id, message.id),
            attachments=tuple(_neutral(a) for a in message.attachments),
        )
        given = {spec.message_option: message.content} if spec.message_option else {}
        await self._open_form(spec, interaction, given, ref)

    async def _open_form(
        self,
        spec: CommandSpec,
        interaction: discord.Interaction,
        given: dict[str, Any],
        message: MessageRef | None,
    ) -> None:
        """Answer with a modal for `spec`, prefilled with what the user already gave."""
        choices = await self._live_choices(spec, interaction)
        token = secrets.token_hex(4)
        # A modal can show text and choices again, but not files: those are kept.
        prefilled = {
            p.name
            for p in form_params(spec, choices, MAX_FIELDS)
            if p.kind is not OptionKind.ATTACHMENT
        }
        extras = {k: v for k, v in given.items() if k not in prefilled and v not in (None, [], "")}
        self._keep_extras(token, {"values": extras, "message": message})
        form_id = FormId(
            token,
            spec.name,
            message.channel_id if message else None,
            message.id if message else None,
        )
        title = _(spec.message_menu) if message and spec.message_menu else f"/{spec.name}"
        modal = build_form(spec, form_id, title, given, choices)
        await interaction.response.send_modal(modal)
        self._acknowledged(interaction)
        # Submissions are routed by custom id in `_on_interaction`, restart or not.
        modal.stop()

    async def _live_choices(
        self, spec: CommandSpec, interaction: discord.Interaction
    ) -> dict[str, list[Choice]]:
        """Choices for autocompleted options, if they come quickly (a modal cannot wait)."""
        found: dict[str, list[Choice]] = {}
        for name, handler in spec.autocompleters.items():
            param = spec.param(name)
            if param is None or param.kind is not OptionKind.TEXT:
                continue
            try:
                ctx = self.invocation(spec.name, interaction)
                found[name] = await asyncio.wait_for(handler(ctx, ""), FORM_CHOICES_TIMEOUT)
            except (TimeoutError, UserError):
                continue
        return {name: choices for name, choices in found.items() if choices}

    def _keep_extras(self, token: str, extras: dict[str, Any]) -> None:
        self._form_extras[token] = extras
        while len(self._form_extras) > FORM_EXTRAS_KEPT:
            self._form_extras.popitem(last=False)

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        """Modal submissions and button presses, routed by their custom ids."""
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        try:
            with speaking(str(interaction.locale)):
                if interaction.type is discord.InteractionType.modal_submit:
                    form = FormId.decode(custom_id)
                    if form is not None:
                        await self._submit_form(interaction, form, data)
                elif interaction.type is discord.InteractionType.component:
                    action = parse_action_id(custom_id)
                    if action is not None:
                        await self._press(interaction, *action)
        except discord.HTTPException:
            log.exception("Discord refused an answer to interaction %s", interaction.id)

    async def _submit_form(
        self, interaction: discord.Interaction, form: FormId, data: dict[str, Any]
    ) -> None:
        spec = self.core.commands.get(form.command)
        if spec is None:
            reply = error_reply(_("/{command} is not available any more.", command=form.command))
            await interaction.response.send_message(**reply_kwargs(reply), ephemeral=True)
            return
        extras = self._form_extras.pop(form.token, {})
        raw = dict(extras.get("values", {}))
        for name, value in submitted_values(data, spec).items():
            if value not in (None, "", []) or name not in raw:
                raw[name] = value
        ctx = self.invocation(spec.name, interaction)
        if form.message_id and form.channel_id:
            ctx.message = extras.get("message") or MessageRef(
                id=form.message_id,
                channel_id=form.channel_id,
                text="",
                author="",
                url=_message_url(interaction.guild_id, form.channel_id, form.message_id),
            )
        await self._run(spec, interaction, ctx, raw, from_form=True)

    # --- buttons -----------------------------------------------------------

    async def _press(self, interaction: discord.Interaction, action: str, argument: str) -> None:
        """Run a button's action; its message (a prompt) is replaced by the outcome.

        A public outcome (the card for an item created anyway) goes to the
        channel as a new message, since the prompt itself is private.
        """
        await interaction.response.defer()
        self._acknowledged(interaction)
        ctx = self.invocation(action, interaction)
        reply = await execute_action(action, argument, ctx, self.core)
        if reply.ephemeral:
            await interaction.edit_original_response(**reply_kwargs(reply))
            return
        if not await self._answer_message(reply):
            message = await interaction.followup.send(**reply_kwargs(reply), wait=True)
            await card_posted(reply, _posted(message))
        await interaction.edit_original_response(**reply_kwargs(Reply(text=_("✅ Done."))))

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("Discord command error", exc_info=error)
        with speaking(str(interaction.locale)):
            kwargs = reply_kwargs(error_reply(_("Something went wrong; it has been logged.")))
        try:
            if interaction.response.is_done():
                await interaction.followup.send(ephemeral=True, **kwargs)
            else:
                await interaction.response.send_message(ephemeral=True, **kwargs)
        except discord.HTTPException:
            log.warning("could not tell the user about the error")


def _signature(spec: CommandSpec) -> inspect.Signature:
    """The callback signature discord.py reads the options from.

    When a modal can ask for the required options, none is required on
    Discord: running the command bare (or with only some options) opens the
    modal. A `list[Attachment]` option becomes `name`, `name_2`, ... options.
    """
    by_form = form_capable(spec)
    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for param in spec.params:
        for index, (name, _description) in enumerate(_option_names(param)):
            annotation = _annotation(param)
            default: object = inspect.Parameter.empty
            if not param.required or by_form or index > 0:
                annotation = Optional[annotation]  # noqa: UP045 - Range[...] is an object, not a type
                default = None
            parameters.append(
                inspect.Parameter(
                    name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
                )
            )
    return inspect.Signature(parameters)


def _option_names(param: Param) -> list[tuple[str, str | app_commands.locale_str]]:
    """The Discord option names (and descriptions) for one parameter."""
    names: list[tuple[str, str | app_commands.locale_str]] = [(param.name, param.description)]
    if param.is_list:
        names += [
            (
                f"{param.name}_{n}",
                localized(N_("Another file ({number} of {count})"), number=n, count=param.many),
            )
            for n in range(2, param.many + 1)
        ]
    return names


def _collect(spec: CommandSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Discord's option values as neutral raw values (lists gathered back into one)."""
    raw: dict[str, Any] = {}
    for param in spec.params:
        if param.is_list:
            items = [values.get(name) for name, _description in _option_names(param)]
            raw[param.name] = [_neutral(item) for item in items if item is not None]
        elif values.get(param.name) is not None:
            raw[param.name] = _neutral(values[param.name])
    return raw


def _typed_text(spec: CommandSpec, raw: dict[str, Any]) -> str:
    """What the user typed into a form's text fields, to show back to them."""
    texts = [
        str(raw[p.name])
        for p in spec.params
        if p.kind is OptionKind.TEXT and not p.choices and raw.get(p.name)
    ]
    return "\n\n".join(texts)


def _posted(message: discord.Message) -> Posted:
    return Posted(NAME, str(message.channel.id), str(message.id))


def _message_url(guild_id: int | None, channel_id: int | str, message_id: int | str) -> str:
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


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


def _role_ids(user: discord.User | discord.Member) -> frozenset[str]:
    """The member's role ids, as the interaction payload carries them.

    `Member.roles` resolves ids through the guild cache and drops what is not
    cached yet; the ids themselves are all in the payload (`Member._roles`).
    """
    return frozenset(str(role_id) for role_id in getattr(user, "_roles", ()))


def _neutral(value: Any) -> Any:
    if isinstance(value, discord.Attachment):
        return Attachment(value.filename, value.url, value.size, value.content_type)
    if isinstance(value, discord.Role):
        return Role(str(value.id), value.name)
    if isinstance(value, app_commands.AppCommandChannel | app_commands.AppCommandThread):
        return Channel(str(value.id), value.name)
    return value
