"""Look before creating: existing items like a new one, and the draft that waits meanwhile.

A cog searches its service for items like the one about to be created. The
search is best effort: it runs on a client with a short time budget, and
one that fails or times out never stops the creation. When some are close
(`bot.similar`), the submission is kept as a draft (it holds the user's
cooldown place) and the user sees the matches with **Create anyway** and
**Cancel**. The cog's `@action("create")` and `@action("discard")` hand
those presses to `create_anyway` and `cancel`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.commands import Choice
from bot.dispatch import echo_reply
from bot.errors import ServiceError, UserError
from bot.i18n import N_, _
from bot.models import ActionButton, Card, Colour, Invocation, LinkButton, Reply
from bot.pending import DraftCancelled, Outgoing, Receipt, Saved, Submission, Submissions
from bot.similar import close_matches
from bot.text import link, truncate

log = logging.getLogger(__name__)

CHOICE_LIMIT = 100  # characters in an autocomplete choice's name and value
NOT_SENT = N_("Not sent. Thanks for checking the existing ones!")


@dataclass(frozen=True, slots=True)
class Match:
    """An existing item a search found."""

    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class Prompt:
    """How the question names things: "Is your {noun} already here?", "{verb}: <title>"
    on each match's link button, and a `footer` saying why an existing one is better.

    All three are English, marked with `N_`: they are translated when shown."""

    noun: str
    verb: str
    footer: str


Search = Callable[[str], Awaitable[Sequence[Match]]]
Titles = Callable[[str], Awaitable[list[str]]]
# The reply for a draft that went through (a receipt) or was saved for a retry
# (a coroutine: what follows a creation may need the service again).
Confirm = Callable[[Submission, Receipt | Saved], Awaitable[Reply]]


class DuplicateCheck:
    """One cog's look-before-create: its `Submissions` keep the drafts, and its
    buttons call back `<cog>:create` and `<cog>:discard`."""

    def __init__(self, submissions: Submissions, cog: str) -> None:
        self.submissions = submissions
        self.cog = cog

    async def close_to(self, query: str, search: Search) -> list[Match]:
        """The existing items close to `query`, closest first; none when the search fails."""
        try:
            found = await search(query)
        except ServiceError as error:
            log.info("duplicate search skipped: %s", error.message)
            return []
        return close_matches(query, found)

    async def ask(
        self, ctx: Invocation, outgoing: Outgoing, slot: int, matches: list[Match], prompt: Prompt
    ) -> Reply:
        """Keep `outgoing` as a draft on the user's place `slot`, and ask about `matches`."""
        draft_id = await self.submissions.draft(ctx, outgoing, slot)
        lines = [f"• {link(m.title, m.url)}" for m in matches]
        card = Card(
            title=_("Is your {noun} already here?", noun=_(prompt.noun)),
            description=_("These look alike:") + "\n" + "\n".join(lines),
            colour=Colour.WARN,
            footer=_(prompt.footer),
        )
        verb = _(prompt.verb)
        buttons: list[LinkButton | ActionButton] = [
            LinkButton(truncate(_("{action}: {title}", action=verb, title=m.title), 80), m.url)
            for m in matches
            if m.url
        ]
        buttons.append(ActionButton(_("Create anyway"), f"{self.cog}:create", str(draft_id)))
        buttons.append(
            ActionButton(_("Cancel"), f"{self.cog}:discard", str(draft_id), primary=False)
        )
        return Reply(card=card, buttons=buttons, ephemeral=True)

    async def create_anyway(self, ctx: Invocation, argument: str, confirm: Confirm) -> Reply:
        """ "Create anyway": send the draft. A press that loses the race with "Cancel"
        answers as "Cancel" did, so the user reads one outcome whichever answer lands last."""
        draft_id = _draft_id(argument)
        draft = await self.submissions.find(draft_id)
        try:
            if draft is None:
                raise self.submissions.closed(draft_id)
            outcome = await self.submissions.submit_draft(draft.id, ctx.user)
        except DraftCancelled:
            return not_sent()
        except ServiceError as error:  # the service refused it (4xx): the text goes back
            return echo_reply(error.message, draft.user_text if draft else "")
        return await confirm(draft, outcome)

    async def cancel(self, ctx: Invocation, argument: str) -> Reply:
        """ "Cancel": delete the draft, unless "Create anyway" took it first."""
        with contextlib.suppress(DraftCancelled):
            await self.submissions.discard_draft(_draft_id(argument), ctx.user)
        return not_sent()


async def title_choices(current: str, titles: Titles) -> list[Choice]:
    """Autocomplete for a title: the user's own text first (so Enter keeps it), then
    existing titles like it. A failing search leaves just the user's text."""
    current = current.strip()[:CHOICE_LIMIT]
    if len(current) < 3:
        return [Choice(current, current)] if current else []
    try:
        found = await titles(current)
    except ServiceError:
        found = []
    choices = [Choice(current, current)]
    choices += [
        Choice(truncate(_("Existing: {title}", title=title), CHOICE_LIMIT), title[:CHOICE_LIMIT])
        for title in found
        if title.lower() != current.lower()
    ]
    return choices[:25]


def not_sent() -> Reply:
    return Reply(text=_(NOT_SENT), ephemeral=True)


def _draft_id(argument: str) -> int:
    if not argument.isdigit():
        raise UserError(_("This button is broken; please run the command again."))
    return int(argument)
