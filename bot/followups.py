"""Follow-ups: a player hears when what they created through Herald moves.

Every item a submission creates is remembered (`followups` table): service,
kind, id, link, title, who asked, and where the public confirmation card
landed (`Reply.on_posted`, called by the adapters). A cog that can read its
items' statuses registers a `StatusReader` and runs `poll(reader)` in the
background; a webhook that carries a status calls `observe`. The first
status read is only recorded. A later change is stored with "still to be
told" before anything is sent, then the card is edited in place (status field
and colour) and the reporter gets one private message with old → new and the
link, and a **Stop updates** button. Closed private messages are not replaced
by a public post. A restart tells what was stored but not yet told, and
nothing twice. `/notifications off|on` and `/mine` serve the users.

The reporter's language is remembered with the item: the private message
and its button speak it, however long after the report the change comes.
The card is edited in the channel's language, the one it was posted in.

Items are read no longer than `FOLLOWUP_RETENTION_DAYS` after they were
created, and forgotten that long after they closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated

from bot.cog import Cog
from bot.commands import Option, action, command
from bot.coordination import Job
from bot.errors import DeliveryError, UserError
from bot.events import card_from_json, card_to_json
from bot.i18n import N_, SOURCE, _, resolve, speaking
from bot.models import (
    ActionButton,
    CardField,
    Colour,
    Invocation,
    LinkButton,
    Posted,
    Reply,
    User,
)
from bot.polling import Problems
from bot.store import Followup, NewFollowup
from bot.text import escape, link

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

OPEN, IN_PROGRESS, DONE, CLOSED = "open", "in progress", "done", "closed"
COLOURS = {OPEN: Colour.INFO, IN_PROGRESS: Colour.WARN, DONE: Colour.OK, CLOSED: Colour.NEUTRAL}
# Words in a service's status that say which neutral state it is, checked in this order.
_STATE_WORDS = (
    (CLOSED, ("closed", "reject", "declin", "duplicate", "wontfix", "won't", "muted", "split")),
    (DONE, ("resolved", "solved", "complete", "done", "fixed", "answered", "implement", "release")),
    (IN_PROGRESS, ("progress", "planned", "started", "review", "pending", "hold", "accepted")),
)
STATUS_FIELD = N_("Status")
BATCH = 100  # items of one reader read per pass, those read longest ago first
MINE_LIMIT = 10
DAY = 86400.0
SCOPE = "followups"

StatusRead = Callable[[Sequence[Followup]], Awaitable[dict[int, str]]]
"""Reads the service's statuses of some followed items: row id -> status, for those it found."""


def neutral_state(status: str) -> str:
    """open, in progress, done or closed, for a service's own status word."""
    lowered = status.lower()
    for state, words in _STATE_WORDS:
        if any(word in lowered for word in words):
            return state
    return OPEN


def status_label(status: str) -> str:
    """`in_progress` -> `In progress`."""
    return status.replace("_", " ").strip().capitalize() or status


@dataclass(frozen=True, slots=True)
class StatusReader:
    """How one service's items are read: `kinds` maps each kind it reads to its noun
    ("bug report"); `interval` is the pause between two passes, in seconds."""

    service: str
    label: str
    kinds: dict[str, str]
    read: StatusRead
    interval: float


async def card_posted(reply: Reply, posted: Posted) -> None:
    """Tell a public reply's `on_posted` where it landed; never fails the delivery."""
    if reply.on_posted is None or reply.ephemeral:
        return
    try:
        await reply.on_posted(posted)
    except Exception:
        log.exception("could not remember where a confirmation card was posted")


class Followups(Cog):
    """The follow-up engine, and `/mine`, `/notifications` and **Stop updates**."""

    name = "followups"

    def __init__(self, core: Core) -> None:
        self.core = core
        self.readers: dict[str, StatusReader] = {}
        self.retention = core.settings.followup_retention_days * DAY
        self._telling = asyncio.Lock()

    def register(self, reader: StatusReader) -> None:
        self.readers[reader.service] = reader

    def noun(self, item: Followup) -> str:
        """What the item is, in the current language ("bug report")."""
        reader = self.readers.get(item.service)
        if reader is None or item.kind not in reader.kinds:
            return item.kind.replace("_", " ")
        return _(reader.kinds[item.kind])

    # --- remembering ---------------------------------------------------------

    async def created(
        self,
        service: str,
        kind: str,
        item_id: str,
        url: str | None,
        title: str,
        user: User,
        *,
        language: str = SOURCE,
    ) -> int:
        """Remember an item created for `user`, who speaks `language` (any locale tag);
        its row id (0 when it has no id)."""
        if not item_id:
            return 0
        store = self.core.store
        wanted = await store.get_setting(SCOPE, _user_key(user.platform, user.id)) != "off"
        return await store.add_followup(
            NewFollowup(
                service,
                kind,
                item_id,
                url,
                title,
                user.platform,
                user.id,
                wanted,
                resolve(language),
            )
        )

    def track_card(self, reply: Reply, followup_id: int | None) -> Reply:
        """`reply`, set to remember where it is posted (so its card can be edited)."""
        if not followup_id or reply.card is None:
            return reply

        async def remember(posted: Posted) -> None:
            links = [[b.label, b.url] for b in reply.buttons if isinstance(b, LinkButton)]
            card = {"card": card_to_json(reply.card) if reply.card else {}, "links": links}
            await self.core.store.set_followup_card(
                followup_id, posted.channel_id, posted.message_id, card
            )

        return replace(reply, on_posted=remember)

    # --- reading ---------------------------------------------------------------

    async def poll(self, reader: StatusReader) -> None:
        """Read `reader`'s items every `reader.interval` seconds, for ever, while this
        process holds the job (one process at a time reads them)."""
        source = f"{reader.service}_followups"
        problems = Problems(reader.label, lambda: self.core.metrics.poller_succeeded(source))
        job = Job(lambda: self.core.coordination, f"followups-{reader.service}", reader.interval)
        await job.repeat(lambda: problems.attempt("follow-ups", self.poll_once(reader)))

    async def poll_once(self, reader: StatusReader) -> None:
        store = self.core.store
        now = time.time()
        await store.prune_followups(now - self.retention)
        for pending in await store.followup_notices(reader.service):
            await self._tell(pending)
        due = await store.followups_due(
            reader.service, list(reader.kinds), now - self.retention, BATCH
        )
        if not due:
            return
        statuses = await reader.read(due)
        for item in due:
            status = statuses.get(item.id)
            if status:
                await self._seen(item, status)
        await store.followups_checked([item.id for item in due])

    async def observe(self, service: str, kind: str, item_id: str, status: str) -> None:
        """A status a webhook carried; the same as a reading, never a failure for the caller."""
        try:
            item = await self.core.store.followup_of(service, kind, item_id)
            if item is not None and item.created_at >= time.time() - self.retention:
                await self._seen(item, status)
        except Exception:
            log.exception("could not follow up %s %s %s", service, kind, item_id)

    async def _seen(self, item: Followup, status: str) -> None:
        if status == item.status:
            return
        state = neutral_state(status)
        closed_at = (item.closed_at or time.time()) if state in (DONE, CLOSED) else None
        first = item.status is None
        recorded = await self.core.store.record_followup_status(
            item.id, item.status, status, notice=not first, closed_at=closed_at
        )
        if recorded and not first:
            log.info("%s %s %s: %s -> %s", item.service, item.kind, item.id, item.status, status)
            await self._tell(item)

    # --- telling -------------------------------------------------------------------

    async def _tell(self, item: Followup) -> None:
        """Edit the card and message the reporter about the change stored for `item`.

        A private message the platform refuses for good (closed DMs) is not
        tried again, nor posted publicly; one that fails for now is tried at
        the next pass.
        """
        async with self._telling:
            current = await self.core.store.followup(item.id)
            if current is None or not current.notice_due or current.status is None:
                return
            platform = self.core.platform(current.platform)
            if platform is None or platform.status() != "connected":
                return
            if current.card_channel and current.card_message and current.card:
                posted = Posted(current.platform, current.card_channel, current.card_message)
                language = await self.core.channel_language(current.platform, current.card_channel)
                with speaking(language):  # the card's: it was posted in the channel's
                    card = self._card(current)
                try:
                    await platform.edit(posted, card)
                except DeliveryError as error:
                    log.warning("could not edit the card of follow-up %d: %s", current.id, error)
            if current.wants_updates:
                with speaking(current.language):
                    notice = self._notice(current)
                try:
                    await platform.direct(current.user_id, notice)
                except DeliveryError as error:
                    if not error.permanent:
                        log.info("follow-up %d: not told yet (%s)", current.id, error)
                        return
                    log.info("follow-up %d: the reporter takes no private messages", current.id)
            await self.core.store.followup_told(current.id, current.status)

    def _card(self, item: Followup) -> Reply:
        stored = item.card or {}
        card = card_from_json(stored.get("card") or {})
        status = item.status or ""
        card.colour = COLOURS[neutral_state(status)]
        name = _(STATUS_FIELD)
        card.fields = [f for f in card.fields if f.name not in (STATUS_FIELD, name)]
        card.fields.insert(0, CardField(name, escape(status_label(status)), True))
        links = [LinkButton(label, url) for label, url in stored.get("links") or []]
        return Reply(card=card, buttons=list(links))

    def _notice(self, item: Followup) -> Reply:
        old = status_label(item.previous_status or "")
        new = status_label(item.status or "")
        title = link(item.title, item.url) if item.url else f"**{escape(item.title)}**"
        changed = _(
            "Your {noun} {title}: {old} → **{new}**",
            noun=self.noun(item),
            title=title,
            old=escape(old),
            new=escape(new),
        )
        text = f"🔔 {changed}"
        if item.url:
            text += f"\n{item.url}"
        buttons: list[LinkButton | ActionButton] = []
        if item.url:
            buttons.append(LinkButton(_("Open"), item.url))
        buttons.append(
            ActionButton(_("Stop updates"), "followups:stop", str(item.id), primary=False)
        )
        return Reply(text=text, buttons=buttons)

    # --- commands ---------------------------------------------------------------

    @command("mine", N_("Your latest reports, suggestions, tickets and topics"), ephemeral=True)
    async def mine(self, ctx: Invocation) -> Reply:
        items = await self.core.store.user_followups(ctx.user.platform, ctx.user.id, MINE_LIMIT)
        if not items:
            return Reply(
                text=_("You have not created anything through Herald yet."), ephemeral=True
            )
        lines = [
            "• "
            + _(
                "{noun} {title}: {status}",
                noun=self.noun(i).capitalize(),
                title=_titled(i),
                status=escape(status_label(i.status)) if i.status else _("not read yet"),
            )
            for i in items
        ]
        return Reply(text=_("Your latest items:") + "\n" + "\n".join(lines), ephemeral=True)

    @command(
        "notifications", N_("Turn messages about your items' progress off or on"), ephemeral=True
    )
    async def notifications(
        self,
        ctx: Invocation,
        setting: Annotated[
            str, Option(N_("off or on"), choices=("off", "on"), label=N_("Setting"))
        ],
    ) -> Reply:
        wanted = setting == "on"
        user = ctx.user
        await self.core.store.set_setting(SCOPE, _user_key(user.platform, user.id), setting)
        await self.core.store.set_followup_updates(user.platform, user.id, wanted)
        text = (
            "🔔 " + _("You will get a message when your items move.")
            if wanted
            else "🔕 "
            + _("No more messages about your items. `/notifications on` turns them back on.")
        )
        return Reply(text=text, ephemeral=True)

    @action("stop")
    async def stop_updates(self, ctx: Invocation, argument: str) -> Reply:
        """**Stop updates** under a follow-up message: no more about that item."""
        item = await self.core.store.followup(int(argument)) if argument.isdigit() else None
        if item is None or (item.platform, item.user_id) != (ctx.user.platform, ctx.user.id):
            raise UserError(_("This item is no longer followed."))
        await self.core.store.set_followup_updates(item.platform, item.user_id, False, item.id)
        stopped = _(
            "No more messages about {title}. `/notifications on` turns them back on for all"
            " your items.",
            title=_titled(item),
        )
        return Reply(text=f"🔕 {stopped}", ephemeral=True)


def _titled(item: Followup) -> str:
    return link(item.title, item.url) if item.url else f"**{escape(item.title)}**"


def _user_key(platform: str, user_id: str) -> str:
    return f"{platform}:{user_id}"
