"""Folding many events into few messages: burst digests and thread follow-ups.

Both are built from events' one-line forms. A digest groups lines under
their item's linked title; what does not fit one message stays queued for
the next, so nothing is cut off. The size budget fits every platform's
smallest text block (Slack's 3000-character section).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.events import Event
from bot.i18n import _, _n
from bot.models import Card, Colour, Reply
from bot.text import link, truncate

DIGEST_CHARS = 3000
THREAD_CHARS = 1900
LINE_CHARS = 300
URL_CHARS = 512
THREAD_NAME_CHARS = 100


def heading(event: Event) -> str:
    """The item's plain title, escaped, bold and linked when there is a (sane) link."""
    url = event.url if event.url and len(event.url) <= URL_CHARS else None
    return f"**{link(truncate(event.title or event.kind, 200), url)}**"


def bullet(event: Event) -> str:
    return f"• {truncate(event.line, LINE_CHARS)}"


def digest_text(groups: Sequence[Sequence[Event]]) -> str:
    blocks = []
    for events in groups:
        lines = [heading(events[0]), *(bullet(e) for e in events)]
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def take_digest(groups: Sequence[Sequence[Event]]) -> int:
    """How many events, taken in order, fit one digest (at least one)."""
    used = 0
    taken = 0
    for events in groups:
        cost = len(heading(events[0])) + 1
        for event in events:
            cost += len(bullet(event)) + 1
            if used + cost > DIGEST_CHARS and taken:
                return taken
            taken += 1
        used += cost
    return taken


def digest_reply(groups: Sequence[Sequence[Event]]) -> Reply:
    count = sum(len(events) for events in groups)
    sources = sorted({e.source for events in groups for e in events})
    card = Card(
        title=_n("{count} update", "{count} updates", count),
        description=digest_text(groups),
        colour=Colour.NEUTRAL,
        footer=_(
            "{sources} · folded into one message: they came faster than this channel's rate limit",
            sources=", ".join(sources),
        ),
        timestamp=datetime.now(UTC),
    )
    return Reply(card=card)


def thread_messages(lines: Sequence[str]) -> list[str]:
    """Follow-up lines joined into as few messages as the platform's text limit allows."""
    messages: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, THREAD_CHARS)
        if current and len(current) + 1 + len(line) > THREAD_CHARS:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        messages.append(current)
    return messages


def thread_name(event: Event) -> str:
    return truncate(event.title or _("Updates"), THREAD_NAME_CHARS)
