"""What the store hands back and takes: typed rows, the same for every engine.

JSON columns are decoded here (a `PendingSubmission.user` is a `User`, a
`Followup.card` a dict), so no caller parses the schema. The state names
are the values stored in the `state` columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from bot.events import KnownItem
from bot.i18n import SOURCE
from bot.models import User

# Submission (and upload) states: a draft waits for the user's "Create anyway";
# `sending` is in flight in this process; `pending` waits for its next attempt;
# `done` went through (or was refused) and the user is still to be told. A
# submission is deleted once the user knows.
DRAFT, SENDING, PENDING, DONE = "draft", "sending", "pending", "done"
INBOX_NEW = "new"
INBOX_ROUTED = "routed"
INBOX_IGNORED = "ignored"
INBOX_FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    platform: str
    scope: str
    channel_id: str
    service: str
    filter: dict[str, Any]
    created_by: str | None
    paused: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """An inbox row: a webhook body or poller payload waiting to be routed."""

    id: int
    source: str
    kind: str
    payload: str


@dataclass(frozen=True, slots=True)
class Route:
    """Where a routed event goes: a channel, and the subscription that chose it."""

    platform: str
    channel_id: str
    subscription_id: int
    language: str = SOURCE


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the router made of one delivery: routed to channels, ignored or failed.

    `event` is in the language of most of its channels; `translations` are
    the event in the other languages its routes speak, by language.
    """

    delivery_id: int
    state: str
    note: str | None = None
    event: dict[str, Any] | None = None
    routes: tuple[Route, ...] = ()
    known: tuple[str, KnownItem] | None = None
    translations: Mapping[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    platform: str
    channel_id: str
    item: str | None
    event: str
    batch: int | None
    batch_kind: str | None
    attempts: int
    created_at: float = 0.0
    received_at: float = 0.0
    """When its webhook was received, or its poller noticed the change."""


@dataclass(frozen=True, slots=True)
class Post:
    """A message Herald posted; with `item` set it is that item's card in the channel."""

    key: str
    platform: str
    channel_id: str
    message_id: str
    item: str | None = None
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeadLetters:
    """Undeliverable announcements for one channel, for /subscriptions."""

    channel_id: str
    count: int
    error: str | None
    last_at: float


@dataclass(frozen=True, slots=True)
class DeadRow:
    """One undeliverable announcement, for /herald deliveries."""

    id: int
    channel_id: str
    event: str
    error: str | None
    dead_at: float


@dataclass(frozen=True, slots=True)
class LostAccess:
    """A channel Herald may not post to for now; its announcements wait."""

    channel_id: str
    error: str
    lost_at: float
    waiting: int


@dataclass(frozen=True, slots=True)
class PolledItem:
    """The last known state of one item a poller watches (a build, a release).

    `state` is what the poller compares (a status); `data` is the item as last
    seen, for cards and statistics.
    """

    item_id: str
    state: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewFollowup:
    """An item Herald just created for a user, to follow its status."""

    service: str
    kind: str
    item_id: str
    url: str | None
    title: str
    platform: str
    user_id: str
    wants_updates: bool = True
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Followup:
    """A followed item as stored: its card (where posted, as posted) and what was seen."""

    id: int
    service: str
    kind: str
    item_id: str
    url: str | None
    title: str
    platform: str
    user_id: str
    card_channel: str | None
    card_message: str | None
    card: dict[str, Any] | None
    status: str | None
    previous_status: str | None
    notice_due: bool
    wants_updates: bool
    created_at: float
    closed_at: float | None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class NewSubmission:
    """A submission to save before its first try (or as a draft); `language` is the one
    its user speaks, for telling them how it ended."""

    service: str
    kind: str
    state: str
    reference: str
    payload: dict[str, Any]
    summary: str
    user_text: str
    user: User
    language: str
    channel_id: str | None
    guild_id: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class PendingSubmission:
    """A saved submission: what to send, who sent it from where, and how trying went.

    `language` is the one its user speaks (English for rows saved before languages);
    `reference` is None only for rows saved before references existed;
    `unsure` says an earlier attempt may have created the item; `refused_at`
    when the service first refused Herald's credentials.
    """

    id: int
    service: str
    kind: str
    state: str
    payload: dict[str, Any]
    summary: str
    user_text: str
    user: User
    language: str
    channel_id: str | None
    guild_id: str | None
    attempts: int
    next_attempt_at: float
    last_error: str | None
    result_url: str | None
    created_at: float
    reference: str | None
    unsure: bool
    refused_at: float | None


class SubmissionChanges(TypedDict, total=False):
    """What `update_submission` may change."""

    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    result_url: str | None
    unsure: bool
    refused_at: float | None


@dataclass(frozen=True, slots=True)
class NewUpload:
    """One step that follows a created item: a file to upload (`data`), or the call
    that publishes a draft. `(service, reference, position)` is unique: queueing the
    same step again is ignored. `language` is the reporter's, to tell them later."""

    service: str
    reference: str
    position: int
    item_id: str
    item_url: str | None
    token: str | None
    step: str
    filename: str
    content_type: str | None
    data: bytes | None
    user: User
    language: str | None
    state: str
    next_attempt_at: float
    created_at: float


@dataclass(frozen=True, slots=True)
class Upload:
    """A stored upload step; a finished one keeps no bytes (`data` is None)."""

    id: int
    service: str
    reference: str
    position: int
    item_id: str
    item_url: str | None
    token: str | None
    step: str
    filename: str
    content_type: str | None
    data: bytes | None
    user: User
    language: str | None
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float


class UploadChanges(TypedDict, total=False):
    """What `update_upload` may change (`data` only to None: the bytes are dropped)."""

    state: str
    token: None
    data: None
    attempts: int
    next_attempt_at: float
    last_error: str | None
