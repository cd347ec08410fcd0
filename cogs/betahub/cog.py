"""The BetaHub cog: `/suggest`, `/report`, `/ticket`, where they may be used, and releases.

Every submission goes through `Submissions`: stored first, sent at once, and
kept and retried when BetaHub is down. `/suggest` and `/report` look for
existing items first and, when one is close, ask before creating another.
A bug report's files (screenshot, video, log) follow the issue through
`Evidence`, which uploads and retries them.
New releases are read by `ReleasePoller` and announced once each.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Annotated, Any

from bot.cog import Cog
from bot.commands import Choice, Option, action, command
from bot.dispatch import echo_reply
from bot.duplicates import DuplicateCheck, Match, Prompt, title_choices
from bot.errors import ServiceError, UserError
from bot.files import Downloader, FileData, size_label
from bot.i18n import N_, _, speaking
from bot.models import (
    ActionButton,
    Attachment,
    Card,
    Channel,
    Colour,
    Invocation,
    LinkButton,
    MessageRef,
    Reply,
)
from bot.pending import (
    Outgoing,
    Receipt,
    Saved,
    Submission,
    Submissions,
    SubmissionSettings,
)
from bot.ratelimit import RateLimiter
from bot.text import escape, truncate
from cogs.betahub.channels import ChannelRules, channel_label
from cogs.betahub.client import (
    BetaHubClient,
    Created,
    feature_request_form,
    issue_form,
    read_error,
    ticket_form,
)
from cogs.betahub.evidence import KIND_NOUNS, LIMITS, LOG, SCREENSHOT, VIDEO, Evidence, kind_of
from cogs.betahub.followups import status_reader
from cogs.betahub.releases import SOURCE as RELEASES
from cogs.betahub.releases import ReleasePoller, release_source
from cogs.betahub.settings import BetaHubSettings

if TYPE_CHECKING:
    from bot.core import Core

SEARCH_TIMEOUT = 2.5
# Uploads are bulky (videos up to 100 MB) and retried by the evidence worker, not inline.
UPLOAD_TIMEOUT = 300.0
MAX_ATTACHMENTS = 3
SUGGESTION_TOO_SHORT = N_(
    "Tell us a little more: a suggestion needs at least 10 characters."
    " What would you like to see in the game, and how would it help you?"
)
REPORT_TOO_SHORT = N_(
    "Tell us a little more: a bug report needs at least 10 characters."
    " What happened, and what did you expect to happen?"
)
TICKET_TOO_SHORT = N_(
    "Tell us a little more: a ticket needs at least 10 characters. What do you need help with?"
)
# A ticket's priority as BetaHub spells it, and as people read it.
PRIORITIES = {
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "critical": N_("critical"),
}
# How the user is told of their item: "Your {summary} is saved…".
SUMMARIES = {
    "feature_request": N_("suggestion **{title}**"),
    "issue": N_("bug report **{title}**"),
}
FEEDBACK_COMMANDS = ("report", "suggest")
CHANGES = {
    "add": N_("add"),
    "remove": N_("remove"),
    "clear": N_("clear"),
    "show": N_("show"),
}


class BetaHub(Cog):
    """Feature requests, bug reports and support tickets into BetaHub, for the user;
    new releases announced."""

    name = "betahub"

    def __init__(
        self, core: Core, settings: BetaHubSettings, submissions: SubmissionSettings
    ) -> None:
        self.core = core
        self.settings = settings
        options: dict[str, Any] = {
            "headers": {
                "Authorization": settings.authorization,
                "BetaHub-Project-ID": settings.project_id,
                "Accept": "application/json",
            },
            "limiter": RateLimiter(rate=5, per=1.0, burst=5),
            "read_error": read_error,
            "auth_hint": "BETAHUB_TOKEN",
        }
        http = core.http("BetaHub", settings.url, timeout=settings.timeout_seconds, **options)
        search = core.http(
            "BetaHub",
            settings.url,
            timeout=min(settings.timeout_seconds, SEARCH_TIMEOUT),
            max_attempts=1,
            **options,
        )
        uploads = core.http(
            "BetaHub", settings.url, timeout=UPLOAD_TIMEOUT, max_attempts=1, **options
        )
        self.api = BetaHubClient(http, search, settings.project_id, settings.url, uploads)
        self.submissions = Submissions(
            core, "betahub", "BetaHub", self._send, submissions, find=self._find
        )
        self.evidence = Evidence(core, self.api, submissions)
        self.duplicates = DuplicateCheck(self.submissions, self.name)
        self.downloader = Downloader()
        self.rules = ChannelRules(core)
        interval = settings.releases_poll_seconds
        self.releases = ReleasePoller(
            self.api,
            lambda: core.store,
            lambda: core.coordination,
            core.announcements.submit,
            interval,
            lambda: core.metrics.poller_succeeded(RELEASES),
        )
        core.announcements.add_source(release_source(settings.project_id, interval))
        self.followups = status_reader(self.api, settings.followup_poll_seconds)
        core.followups.register(self.followups)
        self.tracker_language = core.settings.herald_tracker_language

    async def load(self) -> None:
        self.submissions.start()
        self.evidence.start()
        if self.settings.releases_poll_seconds > 0:
            self.run_in_background(self.core, self.releases.run(), "betahub-releases")
        if self.settings.followup_poll_seconds > 0:
            self.run_in_background(
                self.core, self.core.followups.poll(self.followups), "betahub-followups"
            )

    async def unload(self) -> None:
        await super().unload()
        await self.submissions.stop(grace=self.settings.timeout_seconds + 2)
        await self.evidence.stop(grace=self.settings.timeout_seconds + 2)
        await self.downloader.close()

    # --- commands ------------------------------------------------------------

    @command(
        "suggest",
        N_("Suggest a feature for the game"),
        message_menu=N_("Suggest as feature"),
        message_option="description",
    )
    async def suggest(
        self,
        ctx: Invocation,
        description: Annotated[
            str,
            Option(
                N_("What you would like to see, and why"),
                min_length=10,
                max_length=4000,
                paragraph=True,
                too_short=SUGGESTION_TOO_SHORT,
                label=N_("Description"),
            ),
        ],
        title: Annotated[
            str | None,
            Option(
                N_("A short title for your idea"),
                max_length=100,
                autocomplete="similar_requests",
                label=N_("Title"),
            ),
        ] = None,
    ) -> Reply:
        await self.rules.check(ctx, "suggest")
        async with self.submissions.cooldown(ctx.user) as slot:
            with speaking(self.tracker_language):
                form = feature_request_form(description, title, ctx.user, ctx.message)
            return await self._submit_or_ask(ctx, slot, "feature_request", form, description, title)

    @command(
        "report",
        N_("Report a bug in the game"),
        message_menu=N_("Report as bug"),
        message_option="description",
    )
    async def report(
        self,
        ctx: Invocation,
        description: Annotated[
            str,
            Option(
                N_("What went wrong, and what you expected"),
                min_length=10,
                max_length=4000,
                paragraph=True,
                too_short=REPORT_TOO_SHORT,
                label=N_("Description"),
            ),
        ],
        steps: Annotated[
            str | None,
            Option(
                N_("Steps to reproduce it, one per line"),
                max_length=2000,
                paragraph=True,
                label=N_("Steps"),
            ),
        ] = None,
        title: Annotated[
            str | None,
            Option(
                N_("A short title for the bug"),
                max_length=100,
                autocomplete="similar_issues",
                label=N_("Title"),
            ),
        ] = None,
        screenshot: Annotated[
            Attachment | None,
            Option(N_("A screenshot of the bug (images up to 10 MB)"), label=N_("Screenshot")),
        ] = None,
        video: Annotated[
            Attachment | None, Option(N_("A video of the bug (up to 100 MB)"), label=N_("Video"))
        ] = None,
        log: Annotated[
            Attachment | None, Option(N_("A log file (up to 25 MB)"), label=N_("Log"))
        ] = None,
    ) -> Reply:
        await self.rules.check(ctx, "report")
        async with self.submissions.cooldown(ctx.user) as slot:
            with speaking(self.tracker_language):
                form = issue_form(description, steps, title, ctx.user, ctx.message)
            chosen = [(SCREENSHOT, screenshot), (VIDEO, video), (LOG, log)]
            given = [(kind, a) for kind, a in chosen if a is not None]
            found = [(kind_of(a), a) for a in (ctx.message.attachments if ctx.message else ())]
            files, kinds, refused = await self._fetch_evidence((given + found)[:MAX_ATTACHMENTS])
            evidence = {"evidence": kinds, "refused": refused}
            return await self._submit_or_ask(
                ctx, slot, "issue", form, description, title, steps=steps, files=files, **evidence
            )

    @command("ticket", N_("Ask the team for help (only you see the answer)"), ephemeral=True)
    async def ticket(
        self,
        ctx: Invocation,
        description: Annotated[
            str,
            Option(
                N_("What you need help with"),
                min_length=10,
                max_length=4000,
                paragraph=True,
                too_short=TICKET_TOO_SHORT,
                label=N_("Description"),
            ),
        ],
        title: Annotated[
            str | None, Option(N_("A short title"), max_length=100, label=N_("Title"))
        ] = None,
        priority: Annotated[
            str | None,
            Option(
                N_("How urgent it is (default: low)"),
                choices=_choices(PRIORITIES),
                label=N_("Priority"),
            ),
        ] = None,
        attachment: Annotated[
            list[Attachment] | None,
            Option(
                N_("Screenshots or logs (up to 3 files, 25 MB each)"),
                max_items=MAX_ATTACHMENTS,
                label=N_("Attachment"),
            ),
        ] = None,
    ) -> Reply:
        async with self.submissions.cooldown(ctx.user) as slot:
            files = await self.downloader.fetch_all(attachment or [])
            with speaking(self.tracker_language):
                form = ticket_form(description, title, priority, ctx.user)
            payload = {
                "form": form,
                "heading": _heading(description, title),
                "text": description,
                "priority": priority or "low",
                "files": [f"{f.filename} ({size_label(len(f.data))})" for f in files],
            }
            # A ticket is private: the saved-notice names no title in a channel.
            summary = _("support ticket")
            return await self._create(ctx, slot, "ticket", payload, summary, files=files)

    @command(
        "herald channels",
        N_("Choose the channels where /report and /suggest may be used"),
        ephemeral=True,
        admin=True,
    )
    async def channels(
        self,
        ctx: Invocation,
        change: Annotated[
            str,
            Option(
                N_("add or remove a channel, clear the limit, or show it"),
                choices=_choices(CHANGES),
                label=N_("Change"),
            ),
        ],
        feedback: Annotated[
            str | None,
            Option(
                N_("Which command (default: both)"), choices=FEEDBACK_COMMANDS, label=N_("Feedback")
            ),
        ] = None,
        channel: Annotated[
            Channel | None, Option(N_("The channel (default: this one)"), label=N_("Channel"))
        ] = None,
    ) -> Reply:
        rules = self.rules
        where = channel or Channel(ctx.channel_id or "", "")
        lines = []
        for name in (feedback,) if feedback else FEEDBACK_COMMANDS:
            allowed = await rules.allowed(ctx, name)
            if change == "add" and where.id not in {c.id for c in allowed}:
                allowed.append(where)
            elif change == "remove":
                allowed = [c for c in allowed if c.id != where.id]
            elif change == "clear":
                allowed = []
            if change != "show":
                await rules.save(ctx, name, allowed)
            shown = ", ".join(channel_label(c) for c in allowed) or _("any channel")
            lines.append(f"/{name}: {shown}")
        return Reply(text="\n".join(lines), ephemeral=True)

    # --- autocomplete ----------------------------------------------------------

    async def similar_requests(self, ctx: Invocation, current: str) -> list[Choice]:
        return await self._similar_titles("feature_requests", current)

    async def similar_issues(self, ctx: Invocation, current: str) -> list[Choice]:
        return await self._similar_titles("issues", current)

    async def _similar_titles(self, collection: str, current: str) -> list[Choice]:
        return await title_choices(current, lambda query: self.api.titles(collection, query))

    # --- buttons ---------------------------------------------------------------

    @action("create")
    async def create_anyway(self, ctx: Invocation, argument: str) -> Reply:
        """ "Create anyway" on the duplicate prompt: send the stored draft."""
        return await self.duplicates.create_anyway(
            ctx,
            argument,
            lambda draft, outcome: self._confirmation(
                draft.kind, draft.payload, outcome, draft.summary, _card_language(ctx, draft.kind)
            ),
        )

    @action("discard")
    async def discard(self, ctx: Invocation, argument: str) -> Reply:
        """ "Cancel" on the duplicate prompt."""
        return await self.duplicates.cancel(ctx, argument)

    # --- the flow ----------------------------------------------------------------

    async def _submit_or_ask(
        self,
        ctx: Invocation,
        slot: int,
        kind: str,
        form: dict[str, str],
        description: str,
        title: str | None,
        *,
        steps: str | None = None,
        files: list[FileData] | None = None,
        **extra: Any,
    ) -> Reply:
        heading = _heading(description, title)
        # The message's files are downloaded already: they travel on their own.
        message = asdict(replace(ctx.message, attachments=())) if ctx.message else None
        if message is not None:
            del message["attachments"]
        payload = {
            "form": form,
            "heading": heading,
            "text": description,
            "steps": steps,
            "message": message,
            **extra,
        }
        summary = _(SUMMARIES[kind], title=escape(heading))
        matches = await self._duplicates(kind, title or heading)
        if not matches:
            return await self._create(ctx, slot, kind, payload, summary, files=files)
        outgoing = Outgoing(kind, payload, summary, description, files or [])
        return await self.duplicates.ask(ctx, outgoing, slot, matches, _PROMPTS[kind])

    async def _duplicates(self, kind: str, query: str) -> list[Match]:
        collection = "feature_requests" if kind == "feature_request" else "issues"
        return await self.duplicates.close_to(query, lambda text: self.api.search(collection, text))

    async def _create(
        self,
        ctx: Invocation,
        slot: int,
        kind: str,
        payload: dict[str, Any],
        summary: str,
        *,
        files: list[FileData] | None = None,
    ) -> Reply:
        outgoing = Outgoing(kind, payload, summary, payload["text"], files or [])
        submitted = self.submissions.submit(ctx, outgoing, slot)
        outcome = await self._outcome_of(submitted, payload["text"])
        if isinstance(outcome, Reply):
            return outcome
        return await self._confirmation(kind, payload, outcome, summary, _card_language(ctx, kind))

    async def _outcome_of(
        self, submitted: Awaitable[Receipt | Saved], user_text: str
    ) -> Receipt | Saved | Reply:
        """A receipt or saved marker, or the reply for BetaHub's refusal (4xx)."""
        try:
            return await submitted
        except ServiceError as error:
            return echo_reply(error.message, user_text)

    async def _confirmation(
        self,
        kind: str,
        payload: dict[str, Any],
        outcome: Receipt | Saved,
        summary: str,
        language: str | None,
    ) -> Reply:
        """The card in `language` (the channel's for a public card, see `_card_language`)."""
        # Files refused before download; their reasons are written for the chat already.
        refused = [f"⚠️ {reason}" for reason in payload.get("refused", [])]
        if isinstance(outcome, Saved):
            reply = self.submissions.saved_reply(outcome, summary)
            return replace(reply, text="\n".join([reply.text or "", *refused]))
        tried = await self.evidence.first_try(outcome.id) if payload.get("evidence") else []
        with speaking(language):
            card = _CARDS[kind](payload, outcome)
            if payload.get("evidence") or refused:
                lines = [o.line() for o in tried] + refused
                card.add_field(_("Files"), "\n".join(lines), inline=False)
            buttons: list[LinkButton | ActionButton] = []
            if outcome.url:
                buttons.append(LinkButton(_("View on BetaHub"), outcome.url))
        message = payload.get("message")
        reply = Reply(
            card=card,
            buttons=buttons,
            ephemeral=kind == "ticket",
            in_reply_to=MessageRef(**message) if message else None,
        )
        return self.submissions.confirmed(reply, outcome)

    async def _send(self, submission: Submission) -> Receipt:
        form = dict(submission.payload["form"])
        field = f"{submission.kind}[description]"
        form[field] = submission.marked(form[field])
        if not submission.payload.get("evidence"):
            created = await self.api.create(submission.kind, form, submission.files)
            return Receipt(created.id, created.url, submission.payload["heading"])
        # Only a project token's create answers with the JWT a draft's uploads need.
        draft = self.settings.authorization.startswith("FormUser ")
        created = await self.api.create(submission.kind, form, draft=draft)
        await self._queue_evidence(submission, created, draft=draft)
        return Receipt(created.id, created.url, submission.payload["heading"])

    async def _find(self, submission: Submission) -> Receipt | None:
        found = await self.api.find(submission.kind, submission.reference)
        if found is None:
            return None
        if submission.payload.get("evidence"):
            await self._queue_evidence(submission, found, draft=False)
        return Receipt(found.id, found.url, submission.payload["heading"])

    async def _queue_evidence(
        self, submission: Submission, created: Created, *, draft: bool
    ) -> None:
        """The files go after the issue exists; a draft is published after them."""
        await self.evidence.queue(
            submission.reference,
            created,
            submission.files,
            submission.payload["evidence"],
            submission.user,
            token=created.token if draft else None,
            publish=draft,
            # Only a submission's first try is the command's, whose confirmation follows.
            first_try_follows=submission.attempts == 0,
        )

    async def _fetch_evidence(
        self, chosen: list[tuple[str, Attachment]]
    ) -> tuple[list[FileData], list[str], list[str]]:
        """Each file within its kind's limit (checked before and while downloading); the
        others are named with the reason, and the report goes without them."""
        files, kinds, refused = [], [], []
        for kind, attachment in chosen:
            try:
                files.append(
                    await self.downloader.fetch(attachment, LIMITS[kind], _(KIND_NOUNS[kind]))
                )
            except UserError as error:
                refused.append(error.message)
                continue
            kinds.append(kind)
        return files, kinds, refused


def _heading(description: str, title: str | None) -> str:
    return title or truncate(description.strip().splitlines()[0], 80)


def _choices(names: dict[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(name, value) for value, name in names.items())


def _card_language(ctx: Invocation, kind: str) -> str | None:
    """A ticket's card is for its author alone; the others are public."""
    return ctx.locale if kind == "ticket" else ctx.public_language


# How the duplicate prompt speaks of each kind that is searched first.
_PROMPTS = {
    "feature_request": Prompt(
        N_("suggestion"),
        N_("Vote for"),
        N_("Votes on an existing one count more than a new copy."),
    ),
    "issue": Prompt(
        N_("bug report"), N_("Open"), N_("Adding to an existing report helps more than a new copy.")
    ),
}


def _suggestion_card(payload: dict[str, Any], receipt: Receipt) -> Card:
    return Card(
        title=_("Suggestion received: {title}", title=escape(payload["heading"])),
        url=receipt.url,
        description=escape(truncate(payload["text"], 500)),
        colour=Colour.OK,
        footer=_("BetaHub feature request · others can vote on it"),
    )


def _report_card(payload: dict[str, Any], receipt: Receipt) -> Card:
    card = Card(
        title=_("Bug report received: {title}", title=escape(payload["heading"])),
        url=receipt.url,
        description=escape(truncate(payload["text"], 500)),
        colour=Colour.OK,
        footer=_("BetaHub bug report · thank you for reporting it"),
    )
    if payload.get("steps"):
        steps = escape(truncate(payload["steps"], 1000))
        card.add_field(_("Steps to reproduce"), steps, inline=False)
    else:
        card.add_field(
            _("Help us fix it faster"),
            _("Add the steps to reproduce it, and a screenshot or log, on the report."),
            inline=False,
        )
    return card


def _ticket_card(payload: dict[str, Any], receipt: Receipt) -> Card:
    card = Card(
        title=_("Support ticket created: {title}", title=escape(payload["heading"])),
        url=receipt.url,
        description=escape(truncate(payload["text"], 500)),
        colour=Colour.OK,
        footer=_("Only you can see this. The team will answer on BetaHub."),
    )
    card.add_field(_("Priority"), _(PRIORITIES[payload["priority"]]))
    card.add_field(_("Attachments"), escape(", ".join(payload["files"])))
    return card


_CARDS = {
    "feature_request": _suggestion_card,
    "issue": _report_card,
    "ticket": _ticket_card,
}
