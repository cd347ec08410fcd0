"""Submissions that reach their service even when it is down, and per-user cooldowns.

A cog hands each submission (what to send, who sent it, from where) to its
`Submissions`. It is written to the store before the first try, so a crash
cannot lose it. When the service answers 5xx or 429, or does not answer, the
submission stays saved and a background worker retries it with backoff, across
restarts, then tells the user with the link: a private message, or a message
in the channel it came from when private messages are closed. A 4xx is the
service's verdict on the request and is not retried; a 401/403 (Herald's
credentials, not the user's request) is retried for a day, the user told once.

Every submission carries a short reference (`HRLD-…`) that its sender puts in
the item's text (`Ref: HRLD-…` on its own last line). When an attempt ends
ambiguously (a timeout, 502 or 504 after the request went out) the service may
have created the item: the cog's `find` looks it up by that reference, and the
submission is only sent again when it is not there.

Each submission takes one of its user's places (`bot.cooldown`) before any
work; a draft holds it, a refusal (4xx) gives it back. "Create anyway" and
"Cancel" both act on a draft conditionally: one wins, the other is told the
same outcome.

The submitter's language is stored with the submission (in its `user`
data), so that a saved report's outcome, told later, speaks it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bot.backoff import backoff
from bot.config import BaseHeraldSettings, load_settings
from bot.cooldown import Cooldown
from bot.coordination import Coordination, Job
from bot.dispatch import shown_back
from bot.errors import DeliveryError, ServiceError, UserError
from bot.files import FileData
from bot.i18n import SOURCE, _, resolve, speaking
from bot.logcontext import bound
from bot.metrics import CREATED, DUPLICATE_SHOWN, REFUSED, SAVED_FOR_RETRY
from bot.models import Destination, Invocation, LinkButton, Reply, User
from bot.platforms.base import Platforms
from bot.store import (
    DONE,
    DRAFT,
    PENDING,
    SENDING,
    NewSubmission,
    PendingSubmission,
    SlotStore,
    SubmissionStore,
)
from bot.text import escape
from bot.waiting import finish_or_cancel, wait_set

if TYPE_CHECKING:
    from bot.core import Core
    from bot.followups import Followups
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

NOTICE_RETRY_SECONDS = 2.0
MAX_WAIT = 300.0  # a retry worker looks at its rows at least this often
DRAFT_LIFETIME_SECONDS = 24 * 3600
# How long a submission the service refuses with 401/403 is kept and retried.
REFUSED_LIFETIME_SECONDS = 24 * 3600
REFERENCE_PREFIX = "HRLD-"
# How a draft ended, remembered for a while so a second button press is told the same.
SENT, CANCELLED = "sent", "cancelled"
ENDED_KEPT = 1000


class SubmissionSettings(BaseHeraldSettings):
    """How often a user may submit, and how saved submissions are retried (`HERALD_*`)."""

    model_config = SettingsConfigDict(env_prefix="HERALD_")

    submission_limit: int = Field(default=3, ge=1, le=1000)
    submission_window_seconds: float = Field(default=60.0, gt=0, le=86400)
    retry_first_seconds: float = Field(default=30.0, gt=0, le=86400)
    retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the service answered: the new item's id and link; its title when the
    sender knows it. `followup` is the item's row in `bot.followups`, once remembered."""

    id: str
    url: str | None
    title: str | None = None
    followup: int | None = None


@dataclass(frozen=True, slots=True)
class Saved:
    """The service could not take it now; it is stored and will be retried."""

    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a cog hands over: the `kind` of item and the `payload` its sender needs,
    how to name it to the user in markdown (`summary`: "bug report **Crash**"),
    the user's own words (`user_text`, shown back when refused) and files."""

    kind: str
    payload: dict[str, Any]
    summary: str
    user_text: str
    files: Sequence[FileData] = ()


@dataclass(slots=True)
class Submission:
    """One stored submission, as a cog's sender sees it.

    `reference` identifies it at the service: the sender ends the item's text
    with `marked(...)` so that `find` can tell whether an ambiguous attempt
    created it. `unsure` says an earlier attempt may have done so. `language`
    is the one its user speaks.
    """

    id: int
    kind: str
    payload: dict[str, Any]
    summary: str
    user_text: str
    user: User
    channel_id: str | None
    guild_id: str | None
    attempts: int
    files: list[FileData]
    reference: str
    unsure: bool = False
    language: str = SOURCE

    @property
    def marker(self) -> str:
        return f"Ref: {self.reference}"

    def marked(self, text: str) -> str:
        """`text` with the reference on its own last line."""
        return f"{text}\n\n{self.marker}"


class DraftCancelled(UserError):
    """The draft was cancelled (perhaps by a press racing this one): nothing was sent."""

    def __init__(self) -> None:
        super().__init__(_("Not sent: it was cancelled."))


Sender = Callable[[Submission], Awaitable[Receipt]]
# Looks for the item an earlier ambiguous attempt may have created, by the
# submission's reference: its receipt, or None when the service has no such item.
Finder = Callable[[Submission], Awaitable[Receipt | None]]


def new_reference() -> str:
    return REFERENCE_PREFIX + secrets.token_hex(4).upper()


class PendingStore(SubmissionStore, SlotStore, Protocol):
    """What submitting needs of the store: the saved submissions and the users' places."""


class SubmissionHost(Platforms, Protocol):
    """What a service's submissions need of Herald (the core is one): the store once it
    is open (and the process's share of the work), the running platforms, follow-ups,
    metrics and a task spawner."""

    @property
    def store(self) -> PendingStore: ...

    @property
    def coordination(self) -> Coordination: ...

    @property
    def followups(self) -> Followups: ...

    @property
    def metrics(self) -> Metrics: ...

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]: ...


class Submissions:
    """One service's submissions: first try at once, then saved and retried.

    `service` keys the stored rows (`"betahub"`); `label` names the service to
    people (`"BetaHub"`); `send` performs one attempt and raises `ServiceError`
    when the service does not take it; `find` looks an item up by reference
    (see `Finder`).
    """

    def __init__(
        self,
        host: SubmissionHost,
        service: str,
        label: str,
        send: Sender,
        settings: SubmissionSettings,
        find: Finder,
    ) -> None:
        self.host = host
        self.service = service
        self.label = label
        self.send = send
        self.find_created = find
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._ended: OrderedDict[int, str] = OrderedDict()
        # One process retries (and recovers what a stopped one was sending) at a time.
        self.job = Job(
            lambda: host.coordination, f"submissions-{service}", MAX_WAIT, gained=self._recover
        )
        self.places = Cooldown(
            lambda: host.store, settings.submission_limit, settings.submission_window_seconds
        )
        host.metrics.submitting(service)

    @classmethod
    def settings_for(cls, core: Core) -> SubmissionSettings:
        return load_settings(SubmissionSettings, core.env_file)

    def cooldown(self, user: User) -> AbstractAsyncContextManager[int]:
        """Reserve the user's place before the work (see `bot.cooldown`)."""
        return self.places.held(user)

    # --- submitting --------------------------------------------------------

    async def submit(self, ctx: Invocation, outgoing: Outgoing, slot: int) -> Receipt | Saved:
        """Store, then send: a `Receipt` when it went through, `Saved` when it will be retried.

        Raises the service's `ServiceError` when it refused the request (4xx),
        after giving the user's place (`slot`, from `cooldown`) back.
        """
        submission_id = await self._store(ctx, outgoing, SENDING)
        return await self._first_try(submission_id, slot)

    async def draft(self, ctx: Invocation, outgoing: Outgoing, slot: int) -> int:
        """Keep a submission until the user confirms it (see `submit_draft`); it holds
        the user's place meanwhile."""
        draft_id = await self._store(ctx, outgoing, DRAFT)
        await self.places.hold(slot, draft_id)
        self._count(outgoing.kind, DUPLICATE_SHOWN)
        return draft_id

    async def submit_draft(self, draft_id: int, user: User) -> Receipt | Saved:
        """Send a draft its author confirmed. Claiming it is conditional, like `discard_draft`,
        so of two racing presses exactly one wins and the other is told the same outcome."""
        await self._own_draft(draft_id, user)
        slot, new = await self.places.reserve(user, draft_id)
        if not await self.host.store.claim_submission(draft_id, DRAFT):
            if new:
                await self.places.release(slot)
            raise self.closed(draft_id)
        self._end(draft_id, SENT)
        return await self._first_try(draft_id, slot)

    async def discard_draft(self, draft_id: int, user: User) -> None:
        """Cancel a draft, unless "Create anyway" claimed it first (then say so)."""
        await self._own_draft(draft_id, user)
        if not await self.host.store.discard_draft(draft_id):
            raise self.closed(draft_id)
        self._end(draft_id, CANCELLED)

    def closed(self, draft_id: int) -> UserError:
        """What to tell a press on a draft that is no longer waiting."""
        ended = self._ended.get(draft_id)
        if ended == CANCELLED:
            return DraftCancelled()
        if ended == SENT:
            return UserError(_("This was already sent."))
        return UserError(_("This was already sent, or has expired; please run the command again."))

    def _end(self, draft_id: int, how: str) -> None:
        self._ended[draft_id] = how
        while len(self._ended) > ENDED_KEPT:
            self._ended.popitem(last=False)

    async def _own_draft(self, draft_id: int, user: User) -> None:
        row = await self.host.store.get_submission(draft_id)
        if row is None or row.state != DRAFT or row.service != self.service:
            raise self.closed(draft_id)
        if (row.user.platform, row.user.id) != (user.platform, user.id):
            raise UserError(_("Only the person who wrote it can send it."))

    async def _first_try(self, submission_id: int, slot: int) -> Receipt | Saved:
        submission = await self._load(submission_id)
        try:
            receipt = await self._attempt(submission)
        except ServiceError as error:
            if not error.retryable:
                await self.host.store.delete_submission(submission_id)
                await self.places.release(slot)
                self._count(submission.kind, REFUSED)
                raise
            await self._reschedule(submission, error.message, error.retry_after)
            self._count(submission.kind, SAVED_FOR_RETRY)
            return Saved(submission_id, error.message)
        except Exception:
            log.exception("%s submission %d failed unexpectedly", self.service, submission_id)
            await self._reschedule(submission, "unexpected error", None)
            self._count(submission.kind, SAVED_FOR_RETRY)
            return Saved(submission_id, _("{service} could not be reached.", service=self.label))
        await self.host.store.delete_submission(submission_id)
        self._count(submission.kind, CREATED)
        return await self._remembered(submission, receipt)

    async def _remembered(self, submission: Submission, receipt: Receipt) -> Receipt:
        """The receipt, with the item remembered for its status follow-ups."""
        try:
            followup = await self.host.followups.created(
                self.service,
                submission.kind,
                receipt.id,
                receipt.url,
                receipt.title
                or (submission.user_text.strip().splitlines() or [submission.kind])[0][:100],
                submission.user,
                language=submission.language,
            )
        except Exception:
            log.exception("%s submission %d: could not remember it", self.service, submission.id)
            return receipt
        return dataclasses.replace(receipt, followup=followup)

    def confirmed(self, reply: Reply, receipt: Receipt) -> Reply:
        """The public confirmation `reply`, set to remember where it is posted so that a
        status change edits it in place."""
        return self.host.followups.track_card(reply, receipt.followup)

    def _count(self, kind: str, outcome: str) -> None:
        self.host.metrics.submission(self.service, kind, outcome)

    async def _attempt(self, submission: Submission) -> Receipt:
        """One try: look for the item first when an earlier try may have created it,
        send only when it is not there, and look again when this send is ambiguous."""
        if submission.unsure and (found := await self._look(submission)) is not None:
            return found
        try:
            return await self.send(submission)
        except ServiceError as error:
            if not error.ambiguous:
                raise
            log.warning(
                "%s submission %d (%s): the outcome is unknown (%s); looking for it",
                self.service,
                submission.id,
                submission.reference,
                error.message,
            )
            submission.unsure = True
            await self.host.store.update_submission(submission.id, unsure=True)
            try:
                found = await self._look(submission)
            except ServiceError:
                raise error from None
            if found is None:
                raise
            return found

    async def _look(self, submission: Submission) -> Receipt | None:
        """The item an earlier try created, if any. A lookup the service refuses (4xx)
        cannot tell: the submission is then sent again rather than held forever."""
        try:
            found = await self.find_created(submission)
        except ServiceError as error:
            if error.retryable:
                raise
            log.warning(
                "%s refuses the lookup for %s (%s); sending it again",
                self.label,
                submission.reference,
                error.message,
            )
            return None
        if found is not None:
            log.info(
                "%s submission %d was created after all: %s",
                self.service,
                submission.id,
                found.url,
            )
        return found

    def saved_reply(self, saved: Saved, summary: str) -> Reply:
        kept = _(
            "Your {summary} is saved and will be sent as soon as {service} is back;"
            " you will get a message with the link.",
            summary=summary,
            service=self.label,
        )
        return Reply(text=f"💾 {saved.reason} {kept}", ephemeral=True)

    # --- the retry worker --------------------------------------------------

    def start(self) -> None:
        with bound(service=self.service):  # the task keeps the context it started in
            self._task = self.host.spawn(self._run(), name=f"{self.service}-submissions")

    async def stop(self, grace: float) -> None:
        """Let an attempt in flight finish (so it is recorded once), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        await finish_or_cancel(self._task, grace)

    async def _recover(self) -> None:
        """What the last holder of the job was sending when it stopped is sent again."""
        recovered = await self.host.store.recover_submissions(self.service)
        if recovered:
            log.warning(
                "%d %s submission(s) were being sent when Herald stopped; sending them again",
                recovered,
                self.service,
            )

    async def _run(self) -> None:
        store = self.host.store
        while not self._stopping:
            self._wake.clear()
            if not await self.job.held():
                await wait_set(self._wake, self.job.standby)
                continue
            await store.delete_drafts(self.service, time.time() - DRAFT_LIFETIME_SECONDS)
            await self._drain()
            if self._stopping:
                break
            due = await store.next_submission_at(self.service, (PENDING, DONE))
            delay = MAX_WAIT if due is None else min(MAX_WAIT, max(0.0, due - time.time()))
            await wait_set(self._wake, delay)

    async def _drain(self) -> None:
        """Retry what is due, and tell users how it ended: each row in its user's
        language, so the service's refusals and Herald's notices speak it."""
        store = self.host.store
        for state, step in ((PENDING, self._retry), (DONE, self._tell)):
            for row in await store.due_submissions(self.service, state, time.time()):
                if self._stopping:
                    return
                try:
                    with speaking(row.language):
                        await step(row)
                except Exception:
                    log.exception("%s submission %d: worker step failed", self.service, row.id)
                    await store.update_submission(
                        row.id, state=state, next_attempt_at=time.time() + 60
                    )

    async def _retry(self, row: PendingSubmission) -> None:
        store = self.host.store
        if not await store.claim_submission(row.id, PENDING):
            return
        submission = await self._load(row.id)
        try:
            receipt = await self._attempt(submission)
        except ServiceError as error:
            if error.retryable:
                await self._reschedule(submission, error.message, error.retry_after)
            elif error.status in (401, 403):
                await self._refused(submission, row, error)
            else:
                await store.update_submission(
                    submission.id, state=DONE, last_error=error.message, next_attempt_at=0
                )
                self._count(submission.kind, REFUSED)
            return
        log.info("%s submission %d went through: %s", self.service, submission.id, receipt.url)
        self._count(submission.kind, CREATED)
        await self._remembered(submission, receipt)
        await store.update_submission(
            submission.id, state=DONE, result_url=receipt.url or "", next_attempt_at=0
        )
        refreshed = await store.get_submission(submission.id)
        if refreshed is not None:
            await self._tell(refreshed)

    async def _refused(
        self, submission: Submission, row: PendingSubmission, error: ServiceError
    ) -> None:
        """The service refuses Herald's credentials: an admin can fix that, so keep trying
        for a day; tell the user once, at the first refusal; then give up."""
        log.error("%s refuses Herald's credentials: %s", self.label, error.message)
        now = time.time()
        refused_at = row.refused_at
        if refused_at is not None and now - refused_at >= REFUSED_LIFETIME_SECONDS:
            log.warning(
                "%s submission %d abandoned after a day of refusals", self.service, submission.id
            )
            await self.host.store.delete_submission(submission.id)
            return
        await self._reschedule(submission, error.message, self.settings.retry_max_seconds)
        if refused_at is None:
            await self.host.store.update_submission(submission.id, refused_at=now)
            await self._tell_refused(row, error.message)

    async def _reschedule(self, submission: Submission, reason: str, wait: float | None) -> None:
        attempts = submission.attempts + 1
        delay = backoff(
            attempts,
            first=self.settings.retry_first_seconds,
            cap=self.settings.retry_max_seconds,
            server_delay=wait,
        )
        await self.host.store.update_submission(
            submission.id,
            state=PENDING,
            attempts=attempts,
            next_attempt_at=time.time() + delay,
            last_error=reason,
        )
        log.info(
            "%s submission %d saved for retry in %.0f s (%s)",
            self.service,
            submission.id,
            delay,
            reason,
        )
        self._wake.set()

    async def _tell(self, row: PendingSubmission) -> None:
        """Tell the user how their saved submission ended: DM, else the original channel."""
        store = self.host.store
        if not self._connected(row):
            await store.update_submission(
                row.id, next_attempt_at=time.time() + NOTICE_RETRY_SECONDS
            )
            return
        failed = await self._reach(
            row, lambda in_channel: self._notice(row, in_channel=in_channel), "submission"
        )
        if failed is not None:
            await self._tell_later(row, failed)
            return
        await store.delete_submission(row.id)

    async def _tell_refused(self, row: PendingSubmission, reason: str) -> None:
        """The one message about a refusal of Herald's credentials; best effort."""
        if not self._connected(row):
            log.warning("could not tell about refused submission %d: not connected", row.id)
            return
        failed = await self._reach(
            row,
            lambda in_channel: self._refused_notice(row, reason, in_channel=in_channel),
            "refused",
        )
        if failed is not None:
            log.warning("could not tell about refused submission %d: %s", row.id, failed)

    def _connected(self, row: PendingSubmission) -> bool:
        platform = self.host.platform(row.user.platform)
        return platform is not None and platform.status() == "connected"

    async def _reach(
        self, row: PendingSubmission, notice: Callable[[bool], Reply], key: str
    ) -> DeliveryError | None:
        """DM the user `notice(False)`, else post `notice(True)` in the original channel.

        Returns the error when it is worth trying later, None when done (sent,
        or impossible for good).
        """
        user = row.user
        platform = self.host.platform(user.platform)
        if platform is None:
            return None
        try:
            await platform.direct(user.id, notice(False))
        except DeliveryError as closed:
            if not closed.permanent or not row.channel_id:
                return closed
            try:
                await platform.post(
                    Destination(user.platform, row.channel_id),
                    notice(True),
                    key=f"{key}:{row.id}",
                )
            except DeliveryError as failed:
                if not failed.permanent:
                    return failed
                log.warning(
                    "could not tell %s:%s about submission %d: %s",
                    user.platform,
                    user.id,
                    row.id,
                    failed,
                )
        return None

    async def _tell_later(self, row: PendingSubmission, error: DeliveryError) -> None:
        attempts = row.attempts + 1
        delay = backoff(
            attempts, first=NOTICE_RETRY_SECONDS, cap=600.0, server_delay=error.retry_after
        )
        await self.host.store.update_submission(
            row.id, attempts=attempts, next_attempt_at=time.time() + delay
        )

    def _notice(self, row: PendingSubmission, *, in_channel: bool) -> Reply:
        """How a saved submission ended, in the current language."""
        url = row.result_url
        said = {
            "user": escape(row.user.label),
            "summary": row.summary,
            "service": self.label,
            "url": url,
        }
        if row.last_error and not url:
            said["error"] = row.last_error
            if in_channel:
                failed = _("{user}, your saved {summary} could not be sent: {error}", **said)
                return Reply(text=f"⚠️ {failed}")
            failed = _("Your saved {summary} could not be sent: {error}", **said)
            return Reply(text=f"⚠️ {failed}{shown_back(row.user_text)}")
        if in_channel:
            sent = (
                _("{user}, your saved {summary} reached {service}: {url}", **said)
                if url
                else _("{user}, your saved {summary} reached {service}.", **said)
            )
        else:
            sent = (
                _("Your saved {summary} reached {service}: {url}", **said)
                if url
                else _("Your saved {summary} reached {service}.", **said)
            )
        buttons = [LinkButton(_("Open in {service}", service=self.label), url)] if url else []
        return Reply(text=f"✅ {sent}", buttons=list(buttons))

    def _refused_notice(self, row: PendingSubmission, reason: str, *, in_channel: bool) -> Reply:
        """The one message about a refusal of Herald's credentials, in the current language."""
        said = {"user": escape(row.user.label), "summary": row.summary, "reason": reason}
        waiting = (
            _("{user}, your saved {summary} could not be sent yet: {reason}", **said)
            if in_channel
            else _("Your saved {summary} could not be sent yet: {reason}", **said)
        )
        text = f"⚠️ {waiting}\n" + _(
            "Herald keeps trying for a day and sends you the link if it goes through."
        )
        if not in_channel:
            text += shown_back(row.user_text, _("Here is what you wrote, in case it does not:"))
        return Reply(text=text)

    # --- rows ----------------------------------------------------------------

    async def _store(self, ctx: Invocation, outgoing: Outgoing, state: str) -> int:
        submission = NewSubmission(
            service=self.service,
            kind=outgoing.kind,
            state=state,
            reference=new_reference(),
            payload=outgoing.payload,
            summary=outgoing.summary,
            user_text=outgoing.user_text,
            user=ctx.user,
            language=resolve(ctx.locale),
            channel_id=ctx.channel_id,
            guild_id=ctx.guild_id,
            created_at=time.time(),
        )
        return await self.host.store.add_submission(submission, outgoing.files)

    async def find(self, submission_id: int) -> Submission | None:
        """A stored submission of this service (a draft, say), if it still exists."""
        row = await self.host.store.get_submission(submission_id)
        if row is None or row.service != self.service:
            return None
        return await self._load(submission_id)

    async def _load(self, submission_id: int) -> Submission:
        store = self.host.store
        row = await store.get_submission(submission_id)
        if row is None:
            raise UserError(_("This submission no longer exists."))
        return Submission(
            id=row.id,
            kind=row.kind,
            payload=row.payload,
            summary=row.summary,
            user_text=row.user_text,
            user=row.user,
            channel_id=row.channel_id,
            guild_id=row.guild_id,
            attempts=row.attempts,
            files=await store.submission_files(submission_id),
            reference=row.reference or f"{REFERENCE_PREFIX}{row.id}",
            unsure=row.unsure,
            language=row.language,
        )
