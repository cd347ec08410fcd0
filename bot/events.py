"""Neutral events: what a webhook or a poller says happened, ready to announce.

A cog registers a `Source` per service: the event kinds it formats, the
attributes subscriptions may filter on, and a `normalise` callback that turns
a stored delivery (kind + JSON payload) into an `Event`. The core never reads
a payload itself: it stores it, asks the source for the `Event`, matches it
against subscriptions and hands it to delivery.

An event about an item (a work item, a task, a build) names it in `item`.
The first event about an item in a channel posts its card; later `CARD`
events edit that card in place (a build goes pending -> running -> success in
one message); `FOLLOW_UP` events (comments, worklogs) become a line in a
thread under it.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.i18n import SOURCE, _
from bot.models import Card, CardField, Colour
from bot.text import escape_inline

Attributes = dict[str, list[str]]


class Mode(StrEnum):
    CARD = "card"
    """The item's state changed: post its card, or edit the one already posted."""
    FOLLOW_UP = "follow_up"
    """Something happened under the item: a line in the thread under its card."""


@dataclass(slots=True)
class Event:
    """One thing that happened, as every channel will see it.

    `card` is the full message; `line` is the one-line form used in digests
    and threads (markdown subset, payload text already escaped). `title` and
    `url` name the item in plain text; `attributes` are what `where` filters
    look at (`category`, `board`, `tag`, `status`...), lower-case keys.
    """

    source: str
    kind: str
    card: Card
    line: str
    item: str | None = None
    title: str | None = None
    url: str | None = None
    mode: Mode = Mode.CARD
    attributes: Attributes = field(default_factory=dict)
    language: str = SOURCE
    """The language Herald's own words in the card and line are in."""

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "card": card_to_json(self.card),
            "line": self.line,
            "item": self.item,
            "title": self.title,
            "url": self.url,
            "mode": self.mode.value,
            "attributes": self.attributes,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        return cls(
            source=data["source"],
            kind=data["kind"],
            card=card_from_json(data["card"]),
            line=data["line"],
            item=data.get("item"),
            title=data.get("title"),
            url=data.get("url"),
            mode=Mode(data.get("mode", Mode.CARD)),
            attributes={k: list(v) for k, v in (data.get("attributes") or {}).items()},
            language=data.get("language", SOURCE),
        )


Normaliser = Callable[[str, dict[str, Any]], Awaitable["Event | None"]]


@dataclass(frozen=True, slots=True)
class Source:
    """A service whose events Herald announces.

    `kinds` lists every kind Herald formats (`workitem.created`...). A kind
    whose family (all but the last dotted part) is listed is formatted too,
    so a new verb in a known family still gets a card. `normalise` returns
    None for a payload it chooses not to announce. `hint` tells an admin how
    to point the service at Herald, shown after /subscribe: it is called then,
    so it speaks the admin's language. `card_shows` names
    attributes every card of the service already shows where no one can miss
    them (a build's status is its title): their changes are not listed again.
    """

    name: str
    label: str
    kinds: tuple[str, ...]
    attributes: tuple[str, ...]
    normalise: Normaliser
    hint: Callable[[], str] | None = None
    card_shows: tuple[str, ...] = ()

    def formats(self, kind: str) -> bool:
        if kind in self.kinds:
            return True
        family = kind.rpartition(".")[0]
        return bool(family) and any(k.rpartition(".")[0] == family for k in self.kinds)

    def kinds_matching(self, pattern: str) -> list[str]:
        return [k for k in self.kinds if fnmatch.fnmatchcase(k, pattern.lower())]


@dataclass(frozen=True, slots=True)
class KnownItem:
    """What earlier events told about an item, for events that carry less."""

    title: str | None
    url: str | None
    attributes: Attributes


def enrich(event: Event, known: KnownItem | None, card_shows: Sequence[str] = ()) -> Event:
    """Fill what the event lacks from what is known about its item, and show changes.

    A comment event rarely carries its work item's title or category: it
    inherits them, so `where category:Art` still matches it and its card
    still names the item. Attributes that changed since the item was last
    seen are listed on the card and in the line (`stage: To do → Done`),
    except those in `card_shows`, which the card says loudly enough itself.
    """
    if known is None:
        return event
    attributes = {**known.attributes, **event.attributes}
    changes = [
        _(
            "{attribute}: {old} → {new}",
            attribute=key.capitalize(),
            old=_listed(known.attributes[key]),
            new=_listed(new),
        )
        for key, new in event.attributes.items()
        if key in known.attributes
        and key not in card_shows
        and sorted(known.attributes[key]) != sorted(new)
    ]
    card = replace(event.card, fields=list(event.card.fields))
    card.title = card.title or known.title
    card.url = card.url or known.url
    line = event.line
    if changes and event.mode is Mode.CARD:
        card.fields.append(CardField(_("Changed"), "\n".join(changes), inline=False))
        line = f"{line} ({'; '.join(changes)})"
    return replace(
        event,
        card=card,
        line=line,
        title=event.title or known.title,
        url=event.url or known.url,
        attributes=attributes,
    )


def _listed(values: Sequence[str]) -> str:
    """Attribute values (payload text) as escaped markdown for a card or a line."""
    return escape_inline(", ".join(values)) or "—"


def card_to_json(card: Card) -> dict[str, Any]:
    return {
        "title": card.title,
        "url": card.url,
        "description": card.description,
        "fields": [[f.name, f.value, f.inline] for f in card.fields],
        "colour": int(card.colour),
        "author": card.author,
        "footer": card.footer,
        "timestamp": card.timestamp.isoformat() if card.timestamp else None,
        "image_url": card.image_url,
        "thumbnail_url": card.thumbnail_url,
    }


def card_from_json(data: Mapping[str, Any]) -> Card:
    stamp = data.get("timestamp")
    try:
        colour = Colour(data.get("colour", Colour.INFO))
    except ValueError:
        colour = Colour.INFO
    return Card(
        title=data.get("title"),
        url=data.get("url"),
        description=data.get("description"),
        fields=[CardField(n, v, bool(i)) for n, v, i in data.get("fields") or []],
        colour=colour,
        author=data.get("author"),
        footer=data.get("footer"),
        timestamp=datetime.fromisoformat(stamp) if stamp else None,
        image_url=data.get("image_url"),
        thumbnail_url=data.get("thumbnail_url"),
    )
