"""What the store offers, one protocol per concern, the same for every engine.

A caller types against the narrowest protocol it uses (`SlotStore` for the
cooldown, `PollingStore` for a poller); `Store` is all of them plus the
store's lifecycle. Every method is one transaction of its own: a write is
committed (or rolled back) when it returns, and a conditional one (a
`claim_*`, `discard_draft`, `record_followup_status`, `reserve_slot`) says
whether it won, so that of two racing callers exactly one does.

What every engine keeps (tests/bot/test_store.py checks it, engine by
engine): ids grow in arrival order (routing follows the inbox's ids, a lane
the outbox's); `reserve_slot` counts and takes in one step, so concurrent
commands cannot all see a free place; `add_delivery` answers only once its
row is committed; a subscription's filter is found by equality whatever its
keys' order; `close` finishes the writes under way. Times are epoch seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Unpack

from bot.coordination import Coordination
from bot.events import KnownItem
from bot.files import FileData
from bot.store.rows import (
    INBOX_NEW,
    DeadLetters,
    DeadRow,
    Delivery,
    Followup,
    LostAccess,
    NewFollowup,
    NewSubmission,
    NewUpload,
    OutboxRow,
    PendingSubmission,
    PolledItem,
    Post,
    Route,
    SubmissionChanges,
    Subscription,
    Upload,
    UploadChanges,
    Verdict,
)


class SettingsStore(Protocol):
    """Small values by scope and key, and the database's own random id."""

    async def get_setting(self, scope: str, key: str) -> str | None: ...

    async def set_setting(self, scope: str, key: str, value: str) -> None: ...

    async def delete_setting(self, scope: str, key: str) -> None: ...

    async def settings_named(self, key: str, scope_prefix: str) -> dict[str, str]:
        """Every `key` setting whose scope starts with `scope_prefix`, by scope."""
        ...

    async def instance_id(self) -> str:
        """This database's random id, made once when the database was created; it salts
        the idempotency keys sent to platforms."""
        ...


class SubscriptionStore(Protocol):
    """Which channel wants which service's events, through which filter."""

    async def add_subscription(
        self,
        platform: str,
        scope: str,
        channel_id: str,
        service: str,
        filter_json: dict[str, Any],
        created_by: str | None,
    ) -> int: ...

    async def find_subscription(
        self, platform: str, channel_id: str, service: str, filter_json: dict[str, Any]
    ) -> Subscription | None:
        """The subscription with exactly this filter (compared as canonical JSON)."""
        ...

    async def resume_subscription(self, subscription_id: int) -> None: ...

    async def subscriptions(self, platform: str, scope: str) -> list[Subscription]:
        """Every subscription of one guild or workspace, oldest first."""
        ...

    async def channel_subscriptions(self, platform: str, channel_id: str) -> list[Subscription]: ...

    async def active_subscriptions(self, service: str) -> list[Subscription]:
        """The service's subscriptions not paused, oldest first."""
        ...

    async def remove_subscriptions(self, platform: str, scope: str, ids: Sequence[int]) -> int: ...


class InboxStore(Protocol):
    """Accepted deliveries (unique per delivery key), routed into the outbox."""

    async def add_delivery(
        self, source: str, kind: str, key: str, payload: str, state: str = INBOX_NEW
    ) -> int | None:
        """Store an accepted delivery, committed before it returns; None when `key` was
        stored before (a repeat). Ids follow arrival order. This is the path every
        acknowledged webhook waits on."""
        ...

    async def new_deliveries(self, limit: int = 100, source: str | None = None) -> list[Delivery]:
        """The oldest deliveries not routed yet (by id), of one source or of all."""
        ...

    async def unrouted_sources(self) -> list[str]: ...

    async def unrouted_count(self) -> int: ...

    async def known_item(self, item: str) -> KnownItem | None:
        """What earlier events said about an item."""
        ...

    async def record_routing(self, verdicts: Sequence[Verdict]) -> None:
        """Queue the outbox rows of routed deliveries (each route's event in its language),
        remember their items and close the deliveries, in one transaction; routing the same
        delivery again is harmless."""
        ...

    async def amend_routing(
        self,
        delivery: Delivery,
        events: Mapping[str, dict[str, Any]],
        edits: Mapping[str, dict[str, Any]],
        routes: Sequence[Route],
        known: tuple[str, KnownItem] | None,
    ) -> int:
        """A routed delivery's card came out better late: give the channels the better one
        (`events` and `edits` by the language each route speaks); the number of channels
        amended."""
        ...


class OutboxStore(Protocol):
    """Announcements queued per channel, the posts that delivered them, dead letters
    and channels Herald lost access to."""

    async def due_lanes(self, platforms: Sequence[str], now: float) -> list[tuple[str, str]]:
        """(platform, channel) with announcements due at `now`."""
        ...

    async def next_due(self, platforms: Sequence[str]) -> float | None: ...

    async def lane_rows(
        self, platform: str, channel_id: str, now: float, limit: int = 500
    ) -> list[OutboxRow]:
        """A channel's due rows in queueing order."""
        ...

    async def pending_count(self) -> int: ...

    async def outbox_backlog(self) -> dict[str, tuple[int, float | None]]:
        """Per platform: rows not delivered yet, and when the oldest was queued."""
        ...

    async def assign_batch(self, ids: Sequence[int], batch: int, kind: str) -> None: ...

    async def complete(self, ids: Sequence[int], post: Post | None = None) -> None:
        """Mark rows delivered and record the post that delivered them, together."""
        ...

    async def retry_later(
        self, platform: str, channel_id: str, ids: Sequence[int], until: float, error: str
    ) -> None: ...

    async def expire(
        self,
        platform: str,
        channel_id: str,
        max_attempts: int,
        created_before: float,
        too_old: str,
    ) -> int: ...

    async def drop(self, ids: Sequence[int], reason: str) -> None: ...

    async def give_up(self, platform: str, channel_id: str, reason: str) -> int:
        """Kill the channel's queue and pause its subscriptions, together."""
        ...

    async def revive(
        self,
        platform: str,
        *,
        scope: str | None = None,
        channel_id: str | None = None,
        since: float | None = None,
    ) -> int: ...

    async def dead_rows(
        self, platform: str, scope: str, channel_id: str | None = None, limit: int = 10
    ) -> list[DeadRow]: ...

    async def dead_letters(self, platform: str, scope: str) -> list[DeadLetters]: ...

    async def access_lost(self, platform: str, channel_id: str, error: str) -> bool:
        """True the first time in this outage (when the admin is to be told)."""
        ...

    async def access_back(self, platform: str, channel_id: str) -> bool: ...

    async def has_lost_access(self, platform: str, channel_id: str) -> bool: ...

    async def lost_access(self, platform: str, scope: str) -> list[LostAccess]: ...

    async def post(self, key: str) -> Post | None: ...

    async def card(self, platform: str, channel_id: str, item: str) -> Post | None:
        """The message that shows `item` in a channel: the latest post made for it."""
        ...

    async def record_post(self, post: Post) -> None:
        """Remember a post; a second one with the same key is ignored."""
        ...

    async def set_thread(self, key: str, thread_id: str | None) -> None: ...

    async def forget_card(self, key: str) -> None: ...

    async def prune(self, before: float, dead_before: float | None = None) -> None:
        """Forget finished work (outbox, inbox, items, posts) older than `before`, dead
        rows older than `dead_before`; a pending row is never touched."""
        ...


class SubmissionStore(Protocol):
    """Submissions saved before their first try, retried until their service takes
    them, kept until their user is told; with their files."""

    async def add_submission(
        self, submission: NewSubmission, files: Sequence[FileData] = ()
    ) -> int: ...

    async def get_submission(self, submission_id: int) -> PendingSubmission | None: ...

    async def submission_files(self, submission_id: int) -> list[FileData]:
        """Its files, in the order given."""
        ...

    async def claim_submission(self, submission_id: int, from_state: str) -> bool:
        """Move it from `from_state` to `sending`; False if another got it first."""
        ...

    async def update_submission(
        self, submission_id: int, **changes: Unpack[SubmissionChanges]
    ) -> None: ...

    async def delete_submission(self, submission_id: int) -> None: ...

    async def discard_draft(self, submission_id: int) -> bool:
        """Delete it only while it is a draft; False when it was claimed first."""
        ...

    async def due_submissions(
        self, service: str, state: str, now: float, limit: int = 20
    ) -> list[PendingSubmission]:
        """In `state`, next attempt due at `now`, the earliest due first."""
        ...

    async def next_submission_at(self, service: str, states: Sequence[str]) -> float | None: ...

    async def recover_submissions(self, service: str) -> int:
        """At start: `sending` ones become pending and unsure; every waiting one is due."""
        ...

    async def delete_drafts(self, service: str, older_than: float) -> int: ...

    async def submissions_in_state(self, service: str, state: str) -> list[PendingSubmission]: ...

    async def submissions_waiting(self) -> dict[str, int]:
        """Per service: submissions saved for a retry (one being retried included)."""
        ...


class SlotStore(Protocol):
    """Per-user places in a sliding window (the submission cooldown)."""

    async def reserve_slot(
        self,
        platform: str,
        user_id: str,
        now: float,
        window: float,
        limit: int,
        submission_id: int | None = None,
    ) -> tuple[int, bool] | None:
        """Take one of the user's `limit` places atomically (concurrent callers cannot all
        see a free one), reusing the one `submission_id` holds; (place, new) or None."""
        ...

    async def hold_slot(self, slot_id: int, submission_id: int) -> None: ...

    async def release_slot(self, slot_id: int) -> None: ...

    async def slots_since(self, platform: str, user_id: str, since: float) -> list[float]: ...


class UploadStore(Protocol):
    """Steps that follow a created item (files to attach, a draft to publish)."""

    async def add_uploads(self, uploads: Sequence[NewUpload]) -> None:
        """Store them in one transaction; a step stored before is ignored."""
        ...

    async def uploads_of(self, service: str, item_id: str) -> list[Upload]:
        """An item's steps in order."""
        ...

    async def get_upload(self, upload_id: int) -> Upload | None: ...

    async def claim_upload(self, upload_id: int, from_state: str) -> bool: ...

    async def update_upload(self, upload_id: int, **changes: Unpack[UploadChanges]) -> None: ...

    async def due_uploads(self, service: str, now: float, limit: int = 20) -> list[Upload]: ...

    async def next_upload_at(self, service: str) -> float | None: ...

    async def recover_uploads(self, service: str, older_than: float) -> int: ...


class PollingStore(Protocol):
    """What each polled feed has seen."""

    async def feed_primed(self, source: str, feed: str) -> bool: ...

    async def polled(self, source: str, feed: str, ids: Sequence[str]) -> dict[str, PolledItem]: ...

    async def polled_in_states(
        self, source: str, feed: str, states: Sequence[str], limit: int = 1000
    ) -> list[PolledItem]: ...

    async def record_polled(self, source: str, feed: str, items: Sequence[PolledItem]) -> None:
        """Store a reading and mark the feed primed, in one transaction."""
        ...

    async def trim_polled(
        self, source: str, feed: str, keep: int, keep_states: Sequence[str]
    ) -> int: ...


class FollowupStore(Protocol):
    """Items Herald created for a user, followed until closed."""

    async def add_followup(self, item: NewFollowup) -> int:
        """Remember it (once per service item); its id."""
        ...

    async def set_followup_card(
        self, followup_id: int, channel_id: str, message_id: str, card: dict[str, Any]
    ) -> None: ...

    async def followup(self, followup_id: int) -> Followup | None: ...

    async def followup_of(self, service: str, kind: str, item_id: str) -> Followup | None: ...

    async def followups_due(
        self, service: str, kinds: Sequence[str], created_after: float, limit: int
    ) -> list[Followup]: ...

    async def followup_notices(self, service: str) -> list[Followup]: ...

    async def user_followups(self, platform: str, user_id: str, limit: int) -> list[Followup]: ...

    async def record_followup_status(
        self,
        followup_id: int,
        seen: str | None,
        status: str,
        *,
        notice: bool,
        closed_at: float | None,
    ) -> bool:
        """Store a new status only if the last one is still `seen`; False when lost."""
        ...

    async def followups_checked(self, ids: Sequence[int]) -> None: ...

    async def followup_told(self, followup_id: int, status: str) -> None: ...

    async def set_followup_updates(
        self, platform: str, user_id: str, wanted: bool, followup_id: int | None = None
    ) -> int: ...

    async def prune_followups(self, closed_before: float) -> int: ...


class Store(
    SettingsStore,
    SubscriptionStore,
    InboxStore,
    OutboxStore,
    SubmissionStore,
    SlotStore,
    UploadStore,
    PollingStore,
    FollowupStore,
    Protocol,
):
    """All of Herald's storage, opened (and migrated) by `bot.store.open_store`."""

    async def close(self) -> None:
        """Finish the writes under way, then close."""
        ...

    async def ping(self) -> bool:
        """Whether the database answers now (False, not an error, when it does not)."""
        ...

    async def schema_version(self) -> int:
        """The highest migration applied."""
        ...

    def coordination(self, holder: str, lease_seconds: float) -> Coordination:
        """How the process `holder` shares lanes and jobs with the others on this
        database (see `bot.coordination`); leases last `lease_seconds`."""
        ...
