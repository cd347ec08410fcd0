"""Submissions that reach their service even when it is down, and per-user cooldowns.

A cog hands each submission (what to send, who sent it, from where) to its
`Submissions`. It is written to the store before the first try, so a crash
cannot lose it. When the service answers 5xx or 429, or does not answer, the
submission stays saved and a background worker retries it with backoff, across
restarts, then tells the user with the link: a private message, or a message
in the channel it came from when private messages are closed. A 4xx is the
service's verdict on the request and is not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from bot.backoff import backoff
from bot.config import BaseHeraldSettings, load_settings
from bot.dispatch import ECHO_LIMIT
from bot.errors import DeliveryError, ServiceError, UserError
from bot.files import FileData
from bot.models import Destination, Invocation, LinkButton, Reply, User
from bot.store import DONE, DRAFT, PENDING, SENDING
from bot.text import escape, quote_block

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

NOTICE_RETRY_SECONDS = 2.0
DRAFT_LIFETIME_SECONDS = 24 * 3600


class SubmissionSettings(BaseHeraldSettings):
    """How often a user may submit, and how saved submissions are retried (`HERALD_*`)."""

    model_config = SettingsConfigDict(env_prefix="HERALD_")

    submission_limit: int = Field(default=3, ge=1, le=1000)
    submission_window_seconds: float = Field(default=60.0, gt=0, le=86400)
    retry_first_seconds: float = Field(default=30.0, gt=0, le=86400)
    retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the service answered: the new item's id and link."""

    id: str
    url: str | None


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
    """One stored submission, as a cog's sender sees it."""

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


Sender = Callable[[Submission], Awaitable[Receipt]]


class Submissions:
    """One service's submissions: first try at once, then saved and retried.

    `service` keys the stored rows (`"betahub"`); `label` names the service to
    people (`"BetaHub"`); `send` performs one attempt and raises `ServiceError`
    when the service does not take it.
    """

    def __init__(
        self, core: Core, service: str, label: str, send: Sender, settings: SubmissionSettings
    ) -> None:
        self.core = core
        self.service = service
        self.label = label
        self.send = send
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def settings_for(cls, core: Core) -> SubmissionSettings:
        return load_settings(SubmissionSettings, core.env_file)

    # --- cooldown ----------------------------------------------------------

    async def check_cooldown(self, user: User) -> None:
        """Refuse, with how long to wait, a user who has used up their submissions."""
        now = time.time()
        window = self.settings.submission_window_seconds
        limit = self.settings.submission_limit
        times = await self.core.store.submissions_since(user.platform, user.id, now - window)
        if len(times) >= limit:
            wait = max(1, math.ceil(times[len(times) - limit] + window - now))
            raise UserError(
                f"You have sent {limit} submissions in the last {window:g} seconds;"
                f" please try again in {wait} s."
            )

    async def _record(self, user: User) -> None:
        now = time.time()
        keep_after = now - self.settings.submission_window_seconds
        await self.core.store.log_submission(user.platform, user.id, now, keep_after)

    # --- submitting --------------------------------------------------------

    async def submit(self, ctx: Invocation, outgoing: Outgoing) -> Receipt | Saved:
        """Store, then send: a `Receipt` when it went through, `Saved` when it will be retried.

        Raises the service's `ServiceError` when it refused the request (4xx).
        """
        await self._record(ctx.user)
        return await self._first_try(await self._store(ctx, outgoing, SENDING))

    async def draft(self, ctx: Invocation, outgoing: Outgoing) -> int:
        """Keep a submission until the user confirms it (see `submit_draft`)."""
        return await self._store(ctx, outgoing, DRAFT)

    async def submit_draft(self, draft_id: int, user: User) -> Receipt | Saved:
        """Send a draft its author confirmed; a second press finds it already gone."""
        await self._own_draft(draft_id, user)
        await self.check_cooldown(user)
        if not await self.core.store.claim_submission(draft_id, DRAFT):
            raise UserError("This was already sent.")
        await self._record(user)
        return await self._first_try(draft_id)

    async def discard_draft(self, draft_id: int, user: User) -> None:
        await self._own_draft(draft_id, user)
        await self.core.store.delete_submission(draft_id)

    async def _own_draft(self, draft_id: int, user: User) -> None:
        row = await self.core.store.get_submission(draft_id)
        if row is None or row["state"] != DRAFT or row["service"] != self.service:
            raise UserError("This was already sent, or has expired; please run the command again.")
        owner = json.loads(row["user"])
        if (owner["platform"], owner["id"]) != (user.platform, user.id):
            raise UserError("Only the person who wrote it can send it.")

    async def _first_try(self, submission_id: int) -> Receipt | Saved:
        submission = await self._load(submission_id)
        try:
            receipt = await self.send(submission)
        except ServiceError as error:
            if not error.retryable:
                await self.core.store.delete_submission(submission_id)
                raise
            await self._reschedule(submission, error.message, error.retry_after)
            return Saved(submission_id, error.message)
        except Exception:
            log.exception("%s submission %d failed unexpectedly", self.service, submission_id)
            await self._reschedule(submission, "unexpected error", None)
            return Saved(submission_id, f"{self.label} could not be reached.")
        await self.core.store.delete_submission(submission_id)
        return receipt

    def saved_reply(self, saved: Saved, summary: str) -> Reply:
        return Reply(
            text=f"💾 {saved.reason} Your {summary} is saved and will be sent as soon as"
            f" {self.label} is back; you will get a message with the link.",
            ephemeral=True,
        )

    # --- the retry worker --------------------------------------------------

    def start(self) -> None:
        self._task = self.core.spawn(self._run(), name=f"{self.service}-submissions")

    async def stop(self, grace: float) -> None:
        """Let an attempt in flight finish (so it is recorded once), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        store = self.core.store
        recovered = await store.recover_submissions(self.service)
        if recovered:
            log.warning(
                "%d %s submission(s) were being sent when Herald stopped; sending them again",
                recovered,
                self.service,
            )
        while not self._stopping:
            self._wake.clear()
            await store.delete_drafts(self.service, time.time() - DRAFT_LIFETIME_SECONDS)
            await self._drain()
            if self._stopping:
                break
            due = await store.next_submission_at(self.service, (PENDING, DONE))
            delay = 300.0 if due is None else min(300.0, max(0.0, due - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _drain(self) -> None:
        store = self.core.store
        for state, step in ((PENDING, self._retry), (DONE, self._tell)):
            for row in await store.due_submissions(self.service, state, time.time()):
                if self._stopping:
                    return
                try:
                    await step(row)
                except Exception:
                    log.exception("%s submission %d: worker step failed", self.service, row["id"])
                    await store.update_submission(
                        row["id"], state=state, next_attempt_at=time.time() + 60
                    )

    async def _retry(self, row: dict[str, Any]) -> None:
        store = self.core.store
        if not await store.claim_submission(row["id"], PENDING):
            return
        submission = await self._load(row["id"])
        try:
            receipt = await self.send(submission)
        except ServiceError as error:
            if error.retryable:
                await self._reschedule(submission, error.message, error.retry_after)
            elif error.status in (401, 403):
                log.error("%s refuses Herald's credentials: %s", self.label, error.message)
                await self._reschedule(submission, error.message, self.settings.retry_max_seconds)
            else:
                await store.update_submission(
                    submission.id, state=DONE, last_error=error.message, next_attempt_at=0
                )
            return
        log.info("%s submission %d went through: %s", self.service, submission.id, receipt.url)
        await store.update_submission(
            submission.id, state=DONE, result_url=receipt.url or "", next_attempt_at=0
        )
        refreshed = await store.get_submission(submission.id)
        if refreshed is not None:
            await self._tell(refreshed)

    async def _reschedule(self, submission: Submission, reason: str, wait: float | None) -> None:
        attempts = submission.attempts + 1
        delay = backoff(
            attempts,
            first=self.settings.retry_first_seconds,
            cap=self.settings.retry_max_seconds,
            server_delay=wait,
        )
        await self.core.store.update_submission(
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

    async def _tell(self, row: dict[str, Any]) -> None:
        """Tell the user how their saved submission ended: DM, else the original channel."""
        store = self.core.store
        user = User(**json.loads(row["user"]))
        platform = self.core.platform(user.platform)
        if platform is None or platform.status() != "connected":
            await store.update_submission(
                row["id"], next_attempt_at=time.time() + NOTICE_RETRY_SECONDS
            )
            return
        try:
            await platform.direct(user.id, self._notice(row, in_channel=False))
        except DeliveryError as closed:
            if not closed.permanent or not row["channel_id"]:
                await self._tell_later(row, closed)
                return
            try:
                await platform.post(
                    Destination(user.platform, row["channel_id"]),
                    self._notice(row, in_channel=True),
                    key=f"submission:{row['id']}",
                )
            except DeliveryError as failed:
                if not failed.permanent:
                    await self._tell_later(row, failed)
                    return
                log.warning(
                    "could not tell %s:%s about submission %d: %s",
                    user.platform,
                    user.id,
                    row["id"],
                    failed,
                )
        await store.delete_submission(row["id"])

    async def _tell_later(self, row: dict[str, Any], error: DeliveryError) -> None:
        attempts = row["attempts"] + 1
        delay = backoff(
            attempts, first=NOTICE_RETRY_SECONDS, cap=600.0, server_delay=error.retry_after
        )
        await self.core.store.update_submission(
            row["id"], attempts=attempts, next_attempt_at=time.time() + delay
        )

    def _notice(self, row: dict[str, Any], *, in_channel: bool) -> Reply:
        summary = row["summary"]
        url = row["result_url"]
        user = User(**json.loads(row["user"]))
        to = f"{escape(user.label)}, your" if in_channel else "Your"
        if row["last_error"] and not url:
            text = f"⚠️ {to} saved {summary} could not be sent: {row['last_error']}"
            if not in_channel:
                text += (
                    "\nHere is what you wrote, so you can fix it and send it again:\n"
                    + quote_block(row["user_text"], ECHO_LIMIT)
                )
            return Reply(text=text)
        text = f"✅ {to} saved {summary} reached {self.label}" + (f": {url}" if url else ".")
        buttons = [LinkButton(f"Open in {self.label}", url)] if url else []
        return Reply(text=text, buttons=list(buttons))

    # --- rows ----------------------------------------------------------------

    async def _store(self, ctx: Invocation, outgoing: Outgoing, state: str) -> int:
        row = {
            "service": self.service,
            "kind": outgoing.kind,
            "state": state,
            "payload": json.dumps(outgoing.payload),
            "summary": outgoing.summary,
            "user_text": outgoing.user_text,
            "user": json.dumps(dataclasses.asdict(ctx.user)),
            "channel_id": ctx.channel_id,
            "guild_id": ctx.guild_id,
            "created_at": time.time(),
        }
        files = [(f.filename, f.content_type, f.data) for f in outgoing.files]
        return await self.core.store.add_submission(row, files)

    async def find(self, submission_id: int) -> Submission | None:
        """A stored submission of this service (a draft, say), if it still exists."""
        row = await self.core.store.get_submission(submission_id)
        if row is None or row["service"] != self.service:
            return None
        return await self._load(submission_id)

    async def _load(self, submission_id: int) -> Submission:
        store = self.core.store
        row = await store.get_submission(submission_id)
        if row is None:
            raise UserError("This submission no longer exists.")
        files = await store.submission_files(submission_id)
        return Submission(
            id=row["id"],
            kind=row["kind"],
            payload=json.loads(row["payload"]),
            summary=row["summary"],
            user_text=row["user_text"],
            user=User(**json.loads(row["user"])),
            channel_id=row["channel_id"],
            guild_id=row["guild_id"],
            attempts=row["attempts"],
            files=[FileData(*file) for file in files],
        )
