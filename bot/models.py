"""Platform-neutral shapes that flow between adapters and cogs.

An adapter turns a Discord interaction, a Slack command or a console line into
an `Invocation`; a cog answers with a `Reply`; the adapter renders the reply's
`Card` its own way. Neither side sees the other's types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any


class Colour(IntEnum):
    """Card accent colours, as 0xRRGGBB."""

    OK = 0x2ECC71
    INFO = 0x3498DB
    WARN = 0xF1C40F
    ERROR = 0xE74C3C
    NEUTRAL = 0x95A5A6
    ACCENT = 0x9B59B6
    TEAL = 0x1ABC9C
    ORANGE = 0xE67E22
    PINK = 0xE91E63
    NAVY = 0x34495E
    BROWN = 0xA0522D


@dataclass(frozen=True, slots=True)
class User:
    """Who invoked a command, in their platform's own terms."""

    platform: str
    id: str
    name: str
    discriminator: str = "0"
    display_name: str | None = None
    email: str | None = None
    workspace: str | None = None

    @property
    def label(self) -> str:
        """How to name this user to people: their display name, else their handle."""
        return self.display_name or self.name


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user attached; `url` is where the platform serves it.

    `local` marks a file on this machine (a `file:` URL), which only the
    console, run by whoever runs Herald, may name. `auth` is the
    `Authorization` value the platform's file host wants (Slack's bot token);
    it is sent to that host only, and never shown.
    """

    filename: str
    url: str
    size: int
    content_type: str | None = None
    local: bool = False
    auth: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Role:
    """A role (a group of members) picked as a command option."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel picked as a command option; `name` when the platform said it."""

    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A chat message a command acts on (message context menus and shortcuts),
    with the files attached to it."""

    id: str
    channel_id: str
    text: str
    author: str
    url: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(slots=True)
class Invocation:
    """One use of a command, with options already validated and typed."""

    command: str
    user: User
    options: dict[str, Any] = field(default_factory=dict)
    guild_id: str | None = None
    channel_id: str | None = None
    locale: str | None = None
    channel_language: str | None = None
    """What the channel speaks (see `bot.languages`), for public cards; None outside one."""
    is_admin: bool = False
    roles: frozenset[str] = frozenset()
    message: MessageRef | None = None

    @property
    def platform(self) -> str:
        return self.user.platform

    @property
    def public_language(self) -> str | None:
        """The language of a reply posted for everyone in the channel: the channel's."""
        return self.channel_language or self.locale


@dataclass(slots=True)
class CardField:
    name: str
    value: str
    inline: bool = False


@dataclass(slots=True)
class Card:
    """A rich message: one renderer per platform turns it into an embed or blocks.

    Title, description and field text are Herald's markdown subset, outside
    text in them escaped by `bot.text` where it entered; `author` and `footer`
    are plain text, shown as they are. URLs may come from anywhere: each
    renderer keeps only `bot.text.safe_url` ones.
    """

    title: str | None = None
    url: str | None = None
    description: str | None = None
    fields: list[CardField] = field(default_factory=list)
    colour: Colour = Colour.INFO
    author: str | None = None
    footer: str | None = None
    timestamp: datetime | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None

    def add_field(self, name: str, value: object, *, inline: bool = True) -> Card:
        """Add a field when it has a value; empty values are left out."""
        if value not in (None, ""):
            self.fields.append(CardField(name, str(value), inline))
        return self


@dataclass(frozen=True, slots=True)
class LinkButton:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class ActionButton:
    """A button that calls back into a cog: `action` is `"<cog>:<name>"` (see `bot.cog.action`).

    `argument` travels with the button (keep it short: an id, not a payload)
    and reaches the handler as its second parameter.
    """

    label: str
    action: str
    argument: str = ""
    primary: bool = True


@dataclass(slots=True)
class Reply:
    """What a command answers: text and/or a card, privately or to the channel.

    `in_reply_to` asks the platform to post a public reply as an answer to
    that message (the message a "Report as bug" menu was used on).
    `on_posted` is told where a public reply landed, when the platform knows
    (so a confirmation card can be edited later); adapters call it through
    `bot.followups.posted`.
    """

    text: str | None = None
    card: Card | None = None
    ephemeral: bool = False
    buttons: list[LinkButton | ActionButton] = field(default_factory=list)
    in_reply_to: MessageRef | None = None
    on_posted: Callable[[Posted], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a message goes: a channel (or a thread in it) on one platform."""

    platform: str
    channel_id: str
    thread_id: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """A message a platform accepted, enough to edit it or thread under it later."""

    platform: str
    channel_id: str
    message_id: str
