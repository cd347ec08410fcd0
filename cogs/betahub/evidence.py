"""A bug report's evidence: screenshots, videos and logs, uploaded once the issue exists.

The files travel with the stored submission. When BetaHub has created the
issue, each file becomes a stored upload (`pending_uploads`), tried once at
once so the confirmation can say how it went, and retried with backoff when
BetaHub is down or slow, across restarts, like submissions. A file BetaHub
refuses (4xx) is not retried: the user is told its reason. In the draft flow
(a project `FormUser` token, whose create answer carries a JWT) the issue is
published after the first try of every file, whatever became of them, so the
report never waits for its evidence. A file that ends after that first try
(attached late, refused, given up) is told to its reporter by DM.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from bot.backoff import backoff
from bot.coordination import Job
from bot.errors import DeliveryError, ServiceError
from bot.files import FileData
from bot.i18n import N_, _, current_language, speaking
from bot.models import Attachment, Reply, User
from bot.pending import MAX_WAIT, SubmissionSettings
from bot.store import PENDING, SENDING, NewUpload, Upload
from bot.text import escape
from bot.waiting import finish_or_cancel, wait_set
from cogs.betahub.client import BetaHubClient, Created

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

SCREENSHOT, VIDEO, LOG = "screenshot", "video_clip", "log_file"
PUBLISH = "publish"
MB = 1024 * 1024
# What BetaHub takes, per kind; checked before and while downloading.
LIMITS = {SCREENSHOT: 10 * MB, LOG: 25 * MB, VIDEO: 100 * MB}
KIND_NOUNS = {SCREENSHOT: N_("images"), VIDEO: N_("videos"), LOG: N_("logs")}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"})
# The command's own first try comes before the worker's.
FIRST_TRY_GRACE = 60.0
GIVE_UP_SECONDS = 24 * 3600
KEEP_FINISHED_SECONDS = 7 * 86400
ATTACHED, REFUSED, RETRYING = "attached", "refused", "retrying"
# Refused by Herald after BetaHub did not take the file for GIVE_UP_SECONDS.
EXPIRED = "expired"


def kind_of(attachment: Attachment) -> str:
    """The upload a message's file goes to, by its content type, else its extension."""
    content_type = (attachment.content_type or "").lower()
    suffix = PurePath(attachment.filename).suffix.lower()
    if content_type.startswith("image/") or suffix in IMAGE_SUFFIXES:
        return SCREENSHOT
    if content_type.startswith("video/") or suffix in VIDEO_SUFFIXES:
        return VIDEO
    return LOG


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one file: attached, refused (with BetaHub's reason), expired
    (with the last error) or retrying."""

    filename: str
    state: str
    reason: str | None = None

    def line(self) -> str:
        name = f"**{escape(self.filename)}**"
        reason = escape(self.reason or "")
        if self.state == ATTACHED:
            return _("✅ {file} attached", file=name)
        if self.state == EXPIRED:
            return _(
                "⚠️ {file} refused: BetaHub did not take it for a day ({reason})",
                file=name,
                reason=reason,
            )
        if self.state == REFUSED and reason:
            return _("⚠️ {file} refused: {reason}", file=name, reason=reason)
        if self.state == REFUSED:
            return _("⚠️ {file} refused: no reason given", file=name)
        return _("⏳ {file} not attached yet: BetaHub is busy, Herald keeps trying", file=name)


class Evidence:
    """The uploads of one BetaHub project: queued, tried, retried, told."""

    service = "betahub"

    def __init__(self, core: Core, api: BetaHubClient, settings: SubmissionSettings) -> None:
        self.core = core
        self.api = api
        self.settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # One process retries (and recovers what a stopped one was sending) at a time.
        self.job = Job(
            lambda: core.coordination, f"uploads-{self.service}", MAX_WAIT, gained=self._recover
        )

    async def queue(
        self,
        reference: str,
        created: Created,
        files: Sequence[FileData],
        kinds: Sequence[str],
        user: User,
        *,
        token: str | None = None,
        publish: bool = False,
        first_try_follows: bool = True,
    ) -> None:
        """Store the uploads of a created issue (again: ignored), then its publish step.

        `first_try_follows` when the command is still answering: it tries them
        (`first_try`) and the worker waits; otherwise they are due at once. The
        reporter is told later in the language spoken now (theirs, in a command).
        """
        now = time.time()
        steps: list[tuple[str, str, str | None, bytes | None]] = [
            (kind, f.filename, f.content_type, f.data) for f, kind in zip(files, kinds, strict=True)
        ]
        if publish:
            steps.append((PUBLISH, "", None, None))
        uploads = [
            NewUpload(
                service=self.service,
                reference=reference,
                position=position,
                item_id=created.id,
                item_url=created.url,
                token=token,
                step=step,
                filename=filename,
                content_type=content_type,
                data=data,
                user=user,
                language=current_language(),
                state=PENDING,
                next_attempt_at=now + FIRST_TRY_GRACE if first_try_follows else now,
                created_at=now,
            )
            for position, (step, filename, content_type, data) in enumerate(steps)
        ]
        await self.core.store.add_uploads(uploads)
        self._wake.set()

    async def first_try(self, item_id: str) -> list[Outcome]:
        """Try each waiting step of an issue once, in order; what became of each file."""
        store = self.core.store
        for row in await store.uploads_of(self.service, item_id):
            if await store.claim_upload(row.id, PENDING):
                await self._attempt(row)
        return [
            _outcome(row)
            for row in await store.uploads_of(self.service, item_id)
            if row.step != PUBLISH
        ]

    # --- the retry worker --------------------------------------------------

    def start(self) -> None:
        self._task = self.core.spawn(self._run(), name="betahub-uploads")

    async def stop(self, grace: float) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        await finish_or_cancel(self._task, grace)

    async def _recover(self) -> None:
        """What the last holder of the job was sending when it stopped is due again."""
        await self.core.store.recover_uploads(self.service, time.time() - KEEP_FINISHED_SECONDS)

    async def _run(self) -> None:
        store = self.core.store
        while not self._stopping:
            self._wake.clear()
            if not await self.job.held():
                await wait_set(self._wake, self.job.standby)
                continue
            for row in await store.due_uploads(self.service, time.time()):
                if self._stopping:
                    return
                if await store.claim_upload(row.id, PENDING):
                    await self._attempt(row)
                    await self._tell_if_ended(row.id)
            due = await store.next_upload_at(self.service)
            delay = MAX_WAIT if due is None else min(MAX_WAIT, max(0.0, due - time.time()))
            await wait_set(self._wake, delay)

    async def _attempt(self, row: Upload) -> None:
        """One try of one step; the row says how it ended."""
        store = self.core.store
        try:
            if row.step == PUBLISH:
                await self.api.publish(row.item_id, row.token)
            else:
                file = FileData(row.filename, row.content_type, row.data or b"")
                await self.api.upload(row.item_id, row.step, file, row.token)
        except ServiceError as error:
            if row.token and error.status in (401, 403):
                # The draft's JWT lasts an hour: go on with Herald's own credentials.
                await store.update_upload(row.id, state=PENDING, token=None, next_attempt_at=0)
                self._wake.set()
            elif error.retryable or error.status in (401, 403):
                await self._reschedule(row, error.message, error.retry_after)
            else:
                await self._end(row, REFUSED, error.message)
            return
        except Exception:
            log.exception("betahub upload %d failed unexpectedly", row.id)
            await self._reschedule(row, "unexpected error", None)
            return
        await self._end(row, ATTACHED, None)

    async def _reschedule(self, row: Upload, reason: str, wait: float | None) -> None:
        attempts = row.attempts + 1
        if time.time() - row.created_at > GIVE_UP_SECONDS:
            await self._end(row, EXPIRED, reason)
            return
        delay = backoff(
            attempts,
            first=self.settings.retry_first_seconds,
            cap=self.settings.retry_max_seconds,
            server_delay=wait,
        )
        log.info("betahub upload %d (%s) retried in %.0f s: %s", row.id, row.step, delay, reason)
        await self.core.store.update_upload(
            row.id,
            state=PENDING,
            attempts=attempts,
            next_attempt_at=time.time() + delay,
            last_error=reason,
        )
        self._wake.set()

    async def _end(self, row: Upload, state: str, reason: str | None) -> None:
        if state in (REFUSED, EXPIRED):
            log.warning("betahub refused upload %d (%s): %s", row.id, row.step, reason)
        await self.core.store.update_upload(
            row.id, state=state, data=None, last_error=reason, next_attempt_at=0
        )

    async def _tell_if_ended(self, upload_id: int) -> None:
        """DM the reporter how a file ended after the confirmation was given; best effort."""
        row = await self.core.store.get_upload(upload_id)
        if row is None or row.step == PUBLISH or row.state in (PENDING, SENDING):
            return
        user = row.user
        platform = self.core.platform(user.platform)
        if platform is None:
            return
        with speaking(row.language):
            outcome = _outcome(row).line()
            if row.item_url:
                text = _("{outcome} on your bug report: {url}", outcome=outcome, url=row.item_url)
            else:
                text = _("{outcome} on your bug report.", outcome=outcome)
        try:
            await platform.direct(user.id, Reply(text=text))
        except DeliveryError as error:
            log.info("could not tell about upload %d: %s", upload_id, error)


def _outcome(row: Upload) -> Outcome:
    state = row.state
    if state in (PENDING, SENDING):
        return Outcome(row.filename, RETRYING)
    return Outcome(row.filename, state, row.last_error)
