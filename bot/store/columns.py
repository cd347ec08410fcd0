"""How rows are written to and read from columns, the same for every engine.

JSON is written canonical (`dump`: equal values are equal text, so a
subscription is found by comparing its filter's text); a user column holds
the `User` and, for submissions and uploads, the language to tell them in.
The decoders read a row by column name (an `aiosqlite.Row` or an
`asyncpg.Record`); a flag stored as 0/1 (SQLite) or as a boolean
(PostgreSQL) comes back a bool.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from bot.i18n import SOURCE
from bot.models import User
from bot.store.rows import (
    Followup,
    NewSubmission,
    NewUpload,
    PendingSubmission,
    PolledItem,
    Subscription,
    Upload,
    Verdict,
)


class Columns(Protocol):
    """A row read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def dump(value: Any) -> str:
    """Canonical JSON: equal values are equal text (subscriptions are found by filter)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def dump_user(user: User, language: str | None = None) -> str:
    """A `User` as its JSON column holds it (with the language to tell them in, if any)."""
    fields = dataclasses.asdict(user)
    if language is not None:
        fields["language"] = language
    return json.dumps(fields)


def load_user(text: str) -> tuple[User, str | None]:
    """A user JSON column: the `User`, and the language stored with it (if any)."""
    fields = json.loads(text)
    language = fields.pop("language", None)
    return User(**fields), language


def submission_values(s: NewSubmission) -> tuple[Any, ...]:
    """A new submission's columns: service, kind, state, reference, payload, summary,
    user_text, user, channel_id, guild_id, created_at."""
    return (
        s.service,
        s.kind,
        s.state,
        s.reference,
        json.dumps(s.payload),
        s.summary,
        s.user_text,
        dump_user(s.user, s.language),
        s.channel_id,
        s.guild_id,
        s.created_at,
    )


def upload_values(u: NewUpload) -> tuple[Any, ...]:
    """A new upload step's columns: service, reference, position, item_id, item_url,
    token, step, filename, content_type, data, user, state, next_attempt_at, created_at."""
    return (
        u.service,
        u.reference,
        u.position,
        u.item_id,
        u.item_url,
        u.token,
        u.step,
        u.filename,
        u.content_type,
        u.data,
        dump_user(u.user, u.language),
        u.state,
        u.next_attempt_at,
        u.created_at,
    )


INBOX_BATCH = 200
"""The most deliveries one inbox write takes: one statement, and its callers' wait, stay small."""


class NewDelivery(NamedTuple):
    """An accepted delivery's inbox columns, as `add_delivery` queues them."""

    source: str
    kind: str
    key: str
    payload: str
    received_at: float
    state: str


def first_arrivals(rows: Sequence[NewDelivery]) -> list[NewDelivery]:
    """The rows to insert for a batch, in arrival order: of a key queued more than once,
    the first (the later ones are repeats)."""
    first: dict[str, NewDelivery] = {}
    for row in rows:
        first.setdefault(row.key, row)
    return list(first.values())


def delivery_ids(rows: Sequence[NewDelivery], inserted: Iterable[Columns]) -> list[int | None]:
    """Each row's answer, given the rows the insert returned (`id`, `delivery_key`): its
    id, or None for a repeat (a key stored before, or queued earlier in the batch)."""
    ids = {r["delivery_key"]: r["id"] for r in inserted}
    return [ids.pop(row.key, None) for row in rows]


class Routing(NamedTuple):
    """What `record_routing` writes for a batch of verdicts."""

    queued: list[tuple[Any, ...]]
    """Outbox rows: inbox_id, platform, channel_id, subscription_id, item, event."""
    items: list[tuple[Any, ...]]
    """What is known about items: item, title, url, attributes, updated_at."""
    closed: list[tuple[Any, ...]]
    """The deliveries' ends: state, note, inbox id."""


def routing(verdicts: Sequence[Verdict], now: float) -> Routing:
    """The rows of routed deliveries: each route's event in the language it speaks."""
    done = Routing([], [], [])
    for verdict in verdicts:
        event = dump(verdict.event) if verdict.event is not None else None
        item = verdict.event.get("item") if verdict.event is not None else None
        spoken = {language: dump(e) for language, e in verdict.translations.items()}
        done.queued.extend(
            (
                verdict.delivery_id,
                r.platform,
                r.channel_id,
                r.subscription_id,
                item,
                spoken.get(r.language, event),
            )
            for r in verdict.routes
        )
        if verdict.known is not None:
            key, known = verdict.known
            done.items.append((key, known.title, known.url, dump(known.attributes), now))
        done.closed.append((verdict.state, verdict.note, verdict.delivery_id))
    return done


def subscription(r: Columns) -> Subscription:
    return Subscription(
        r["id"],
        r["platform"],
        r["scope"],
        r["channel_id"],
        r["service"],
        json.loads(r["filter"]),
        r["created_by"],
        r["paused"],
    )


def submission(row: Columns) -> PendingSubmission:
    user, language = load_user(row["user"])
    return PendingSubmission(
        id=row["id"],
        service=row["service"],
        kind=row["kind"],
        state=row["state"],
        payload=json.loads(row["payload"]),
        summary=row["summary"],
        user_text=row["user_text"],
        user=user,
        language=language or SOURCE,
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        result_url=row["result_url"],
        created_at=row["created_at"],
        reference=row["reference"],
        unsure=bool(row["unsure"]),
        refused_at=row["refused_at"],
    )


def upload(row: Columns) -> Upload:
    user, language = load_user(row["user"])
    return Upload(
        id=row["id"],
        service=row["service"],
        reference=row["reference"],
        position=row["position"],
        item_id=row["item_id"],
        item_url=row["item_url"],
        token=row["token"],
        step=row["step"],
        filename=row["filename"],
        content_type=row["content_type"],
        data=None if row["data"] is None else bytes(row["data"]),
        user=user,
        language=language,
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        created_at=row["created_at"],
    )


def polled(row: Columns) -> PolledItem:
    return PolledItem(row["item_id"], row["state"], json.loads(row["data"]))


def followup(row: Columns) -> Followup:
    return Followup(
        id=row["id"],
        service=row["service"],
        kind=row["kind"],
        item_id=row["item_id"],
        url=row["url"],
        title=row["title"],
        platform=row["platform"],
        user_id=row["user_id"],
        card_channel=row["card_channel"],
        card_message=row["card_message"],
        card=json.loads(row["card"]) if row["card"] else None,
        status=row["status"],
        previous_status=row["previous_status"],
        notice_due=bool(row["notice_due"]),
        wants_updates=bool(row["wants_updates"]),
        created_at=row["created_at"],
        closed_at=row["closed_at"],
        language=row["language"],
    )
