"""/subscribe, /unsubscribe and /subscriptions: admins choose what each channel announces.

A channel may hold several subscriptions, even to one service with different
filters; an event matching several of them in one channel is posted once.
When a channel is gone (deleted, archived) its subscriptions are paused and
/subscriptions says why; /subscribe with the same options resumes one and
replays what the channel missed in the last 24 hours. A channel Herald lost
access to keeps its announcements waiting (/subscriptions shows it).
Announcements that could not be delivered at all are listed, and sent again,
with /herald deliveries.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

from bot.cog import Cog
from bot.commands import Choice, Option, command
from bot.errors import UserError
from bot.events import Event, Source
from bot.filters import Filter
from bot.i18n import N_, _, _n, format_number, speaking
from bot.languages import CHOICES as LANGUAGE_CHOICES
from bot.languages import NAMES as LANGUAGE_NAMES
from bot.languages import SERVER_DEFAULT
from bot.models import Card, Channel, Colour, Invocation, Reply
from bot.store import DeadLetters, DeadRow, LostAccess, Subscription
from bot.text import channel_mention, escape

if TYPE_CHECKING:
    from bot.core import Core

SERVICES = (
    Choice("HacknPlan", "hacknplan"),
    Choice("BugHerd", "bugherd"),
    Choice("UserEcho", "userecho"),
    Choice("ButterStack", "butterstack"),
    Choice("BetaHub", "betahub"),
)
ServiceOption = Option(
    N_("The service whose events to announce"), choices=SERVICES, label=N_("Service")
)
EVENTS_HELP = N_("Only these event kinds, comma-separated globs (workitem.*, board.closed)")
EXCLUDE_HELP = N_("Leave out these event kinds (workitem.worklog.*)")
WHERE_HELP = N_("Only events with these attributes (category:Art, board:Sprint 4, tag:ui)")
DELIVERIES_ACTIONS = (Choice(N_("list"), "list"), Choice(N_("retry"), "retry"))
DEAD_LISTED = 10
REPLAY_SECONDS = 24 * 3600


class Subscriptions(Cog):
    """Channel subscriptions to service events."""

    name = "subscriptions"

    def __init__(self, core: Core) -> None:
        self.core = core

    @command(
        "subscribe", N_("Announce a service's events in a channel"), admin=True, ephemeral=True
    )
    async def subscribe(
        self,
        ctx: Invocation,
        service: Annotated[str, ServiceOption],
        channel: Annotated[
            Channel | None, Option(N_("Where (default: this channel)"), label=N_("Channel"))
        ] = None,
        events: Annotated[
            str | None, Option(EVENTS_HELP, max_length=500, label=N_("Events"))
        ] = None,
        exclude: Annotated[
            str | None, Option(EXCLUDE_HELP, max_length=500, label=N_("Exclude"))
        ] = None,
        where: Annotated[str | None, Option(WHERE_HELP, max_length=500, label=N_("Where"))] = None,
    ) -> Reply:
        source = self._source(service)
        wanted = Filter.parse(source, events, exclude, where)
        channel_id = self._channel(ctx, channel)
        store = self.core.store
        existing = await store.find_subscription(
            ctx.platform, channel_id, service, wanted.to_json()
        )
        if existing is not None and existing.paused is None:
            return _done(
                _(
                    "{channel} already announces {what}.",
                    channel=channel_mention(channel_id),
                    what=_what(source, wanted),
                )
            )
        if existing is not None:
            await store.resume_subscription(existing.id)
            replayed = await store.revive(
                ctx.platform, channel_id=channel_id, since=time.time() - REPLAY_SECONDS
            )
            self.core.announcements.worker.wake()
            resumed = _(
                "Resumed: {channel} announces {what} again.",
                channel=channel_mention(channel_id),
                what=_what(source, wanted),
            )
            if replayed:
                again = _n(
                    "{count} announcement(s) of the last 24 h go out again.",
                    "{count} announcement(s) of the last 24 h go out again.",
                    replayed,
                )
                resumed = f"{resumed} {again}"
            return _done(resumed)
        await store.add_subscription(
            ctx.platform, _scope(ctx), channel_id, service, wanted.to_json(), ctx.user.id
        )
        text = _(
            "{channel} will announce {what}.",
            channel=channel_mention(channel_id),
            what=_what(source, wanted),
        )
        return _done(f"{text}\n{source.hint()}" if source.hint else text)

    @command(
        "unsubscribe",
        N_("Stop announcing a service's events in a channel"),
        admin=True,
        ephemeral=True,
    )
    async def unsubscribe(
        self,
        ctx: Invocation,
        service: Annotated[
            str | None, Option(N_("The service to stop"), choices=SERVICES, label=N_("Service"))
        ] = None,
        channel: Annotated[
            Channel | None, Option(N_("Which channel (default: this one)"), label=N_("Channel"))
        ] = None,
        subscription: Annotated[
            int | None,
            Option(
                N_("A subscription's number, as /subscriptions shows it"),
                min_value=1,
                label=N_("Subscription"),
            ),
        ] = None,
    ) -> Reply:
        mine = await self.core.store.subscriptions(ctx.platform, _scope(ctx))
        if subscription is not None:
            chosen = [s for s in mine if s.id == subscription]
            if not chosen:
                raise UserError(
                    _(
                        "There is no subscription #{number} here; see /subscriptions.",
                        number=subscription,
                    )
                )
        elif service is not None:
            channel_id = self._channel(ctx, channel)
            chosen = [s for s in mine if s.service == service and s.channel_id == channel_id]
            if not chosen:
                raise UserError(
                    _(
                        "{channel} has no {service} subscription.",
                        channel=channel_mention(channel_id),
                        service=self._label(service),
                    )
                )
        else:
            raise UserError(
                _(
                    "Say what to stop: a service (and channel), or a subscription number from"
                    " /subscriptions."
                )
            )
        await self.core.store.remove_subscriptions(
            ctx.platform, _scope(ctx), [s.id for s in chosen]
        )
        listed = "\n".join(f"• {self._describe(s)}" for s in chosen)
        return _done(_("Stopped:\n{listed}", listed=listed))

    @command(
        "subscriptions",
        N_("List what this server's channels announce"),
        admin=True,
        ephemeral=True,
    )
    async def subscriptions(self, ctx: Invocation) -> Reply:
        store = self.core.store
        mine = await store.subscriptions(ctx.platform, _scope(ctx))
        dead = await store.dead_letters(ctx.platform, _scope(ctx))
        shut_out = await store.lost_access(ctx.platform, _scope(ctx))
        if not mine and not dead:
            return Reply(
                text=_("No channel announces anything yet. Try `/subscribe service: hacknplan`."),
                ephemeral=True,
            )
        lines = [self._describe(s) for s in mine]
        lines.extend(
            [await self._speaks(ctx.platform, c) for c in dict.fromkeys(s.channel_id for s in mine)]
        )
        lines.extend(_shut_out_line(s) for s in shut_out)
        lines.extend(_dead_line(d) for d in dead)
        card = Card(
            title=_("Announcement subscriptions"),
            description="\n".join(lines),
            colour=Colour.WARN if dead or shut_out else Colour.INFO,
            footer=_("/unsubscribe subscription: <number> stops one"),
        )
        return Reply(card=card, ephemeral=True)

    @command(
        "herald deliveries",
        N_("List announcements that could not be delivered, or send them again"),
        admin=True,
        ephemeral=True,
    )
    async def deliveries(
        self,
        ctx: Invocation,
        action: Annotated[
            str,
            Option(
                N_("list them (default) or retry them"),
                choices=DELIVERIES_ACTIONS,
                label=N_("Action"),
            ),
        ] = "list",
        channel: Annotated[
            Channel | None, Option(N_("Only this channel"), label=N_("Channel"))
        ] = None,
    ) -> Reply:
        store = self.core.store
        channel_id = channel.id if channel else None
        shown = channel_mention(channel_id) if channel_id else None
        if action == "retry":
            count = await store.revive(ctx.platform, scope=_scope(ctx), channel_id=channel_id)
            if not count:
                return _done(
                    _("No undelivered announcement in {channel} to send again.", channel=shown)
                    if shown
                    else _("No undelivered announcement to send again.")
                )
            self.core.announcements.worker.wake()
            return _done(
                _n(
                    "{count} announcement(s) in {channel} queued to be sent again.",
                    "{count} announcement(s) in {channel} queued to be sent again.",
                    count,
                    channel=shown,
                )
                if shown
                else _n(
                    "{count} announcement(s) queued to be sent again.",
                    "{count} announcement(s) queued to be sent again.",
                    count,
                )
            )
        dead = await store.dead_rows(ctx.platform, _scope(ctx), channel_id, DEAD_LISTED)
        if not dead:
            return _done(
                _("Every announcement in {channel} was delivered.", channel=shown)
                if shown
                else _("Every announcement was delivered.")
            )
        card = Card(
            title=_("Undelivered announcements in {channel}", channel=shown)
            if shown
            else _("Undelivered announcements"),
            description="\n".join(_dead_row_line(d) for d in dead),
            colour=Colour.WARN,
            footer=_n(
                "The latest {count} at most; /herald deliveries retry sends them again",
                "The latest {count} at most; /herald deliveries retry sends them again",
                DEAD_LISTED,
            ),
        )
        return Reply(card=card, ephemeral=True)

    @command(
        "herald config language",
        N_("Choose the language announcements and public cards speak in a channel"),
        admin=True,
        ephemeral=True,
    )
    async def language(
        self,
        ctx: Invocation,
        language: Annotated[
            str,
            Option(
                N_("The language, or the server's own"),
                choices=LANGUAGE_CHOICES,
                label=N_("Language"),
            ),
        ],
        channel: Annotated[
            Channel | None, Option(N_("Which channel (default: this one)"), label=N_("Channel"))
        ] = None,
    ) -> Reply:
        channel_id = self._channel(ctx, channel)
        chosen = None if language == SERVER_DEFAULT else language
        await self.core.languages.choose(ctx.platform, channel_id, chosen)
        spoken = await self.core.channel_language(ctx.platform, channel_id)
        where, name = channel_mention(channel_id), LANGUAGE_NAMES[spoken]
        with speaking(spoken):
            if chosen is None:
                return _done(
                    _(
                        "{channel} speaks the server's language again: {language_name}.",
                        channel=where,
                        language_name=name,
                    )
                )
            return _done(
                _(
                    "Announcements and public cards in {channel} now speak {language_name}.",
                    channel=where,
                    language_name=name,
                )
            )

    def _source(self, service: str) -> Source:
        source = self.core.announcements.sources.get(service)
        if source is not None:
            return source
        label = self._label(service)
        needs = self.core.skipped.get(service)
        if needs:
            raise UserError(
                _(
                    "{service} is not set up on this Herald. Set {settings} and restart Herald.",
                    service=label,
                    settings=", ".join(needs),
                )
            )
        raise UserError(_("{service} is not set up on this Herald.", service=label))

    async def _speaks(self, platform: str, channel_id: str) -> str:
        """Which language the channel's announcements speak, and why."""
        languages = self.core.languages
        chosen = languages.chosen(platform, channel_id)
        where = channel_mention(channel_id)
        if chosen is None:
            name = LANGUAGE_NAMES[languages.default(platform, channel_id)]
            return _(
                "🌐 {channel} speaks the server's language, {language_name}.",
                channel=where,
                language_name=name,
            )
        return _(
            "🌐 {channel} speaks {language_name}.",
            channel=where,
            language_name=LANGUAGE_NAMES[chosen],
        )

    def _label(self, service: str) -> str:
        return next((c.name for c in SERVICES if c.value == service), service)

    def _describe(self, sub: Subscription) -> str:
        source = self.core.announcements.sources.get(sub.service)
        label = source.label if source else self._label(sub.service)
        wanted = Filter.from_json(sub.filter).describe()
        line = f"**#{sub.id}** {label} → {channel_mention(sub.channel_id)}: {wanted}"
        if sub.paused:
            paused = _(
                "⏸ paused: {reason}. Fix the channel or Herald's access,"
                " then /subscribe with the same options to resume.",
                reason=escape(sub.paused),
            )
            line += f"\n  {paused}"
        return line

    @staticmethod
    def _channel(ctx: Invocation, channel: Channel | None) -> str:
        channel_id = channel.id if channel else ctx.channel_id
        if not channel_id:
            raise UserError(_("Name a channel: this command was not run in one."))
        return channel_id


def _scope(ctx: Invocation) -> str:
    return ctx.guild_id or ctx.channel_id or ctx.user.id


def _what(source: Source, wanted: Filter) -> str:
    if wanted == Filter():
        return _("every {service} event", service=source.label)
    return _("{service} {filter}", service=source.label, filter=wanted.describe())


def _done(text: str) -> Reply:
    return Reply(text=f"✅ {text}", ephemeral=True)


def _minutes_ago(at: float) -> str:
    """How long ago `at` was, in whole minutes written for the current language."""
    return format_number(max(0, int((time.time() - at) / 60)))


def _refusal(error: str | None) -> str:
    """Why a platform refused an announcement: its own words, or ours when it gave none."""
    return escape(error) if error else _("refused")


def _shut_out_line(lost: LostAccess) -> str:
    return _n(
        "🔒 {channel}: Herald may not post there ({error}, {minutes} min ago);"
        " {count} announcement(s) wait for access to come back.",
        "🔒 {channel}: Herald may not post there ({error}, {minutes} min ago);"
        " {count} announcement(s) wait for access to come back.",
        lost.waiting,
        channel=channel_mention(lost.channel_id),
        error=escape(lost.error),
        minutes=_minutes_ago(lost.lost_at),
    )


def _dead_row_line(dead: DeadRow) -> str:
    event = Event.from_json(json.loads(dead.event))
    what = escape(event.title) if event.title else event.card.title or event.kind
    said = _(
        "{channel}, {minutes} min ago: {what}, {line}",
        channel=channel_mention(dead.channel_id),
        minutes=_minutes_ago(dead.dead_at),
        what=what,
        line=event.line,
    )
    return f"• {said}\n  {_refusal(dead.error)}"


def _dead_line(dead: DeadLetters) -> str:
    return _n(
        "⚠️ {channel}: {count} announcement(s) could not be delivered ({error},"
        " {minutes} min ago); /herald deliveries lists them.",
        "⚠️ {channel}: {count} announcement(s) could not be delivered ({error},"
        " {minutes} min ago); /herald deliveries lists them.",
        dead.count,
        channel=channel_mention(dead.channel_id),
        error=_refusal(dead.error),
        minutes=_minutes_ago(dead.last_at),
    )
