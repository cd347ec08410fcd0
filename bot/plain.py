"""A reply flattened to lines of text: the stripped-down form of a refused message.

When a platform refuses a message for its content (a block or embed it will
not take), the delivery worker sends it once more as plain text, no blocks or
embeds. The text stays in Herald's markdown subset; each renderer makes it
safe for its platform.
"""

from __future__ import annotations

from bot.models import Reply


def reply_text(reply: Reply) -> str:
    """The reply's text and its card's title, link, description, fields and footer."""
    parts = [reply.text] if reply.text else []
    card = reply.card
    if card is not None:
        if card.title:
            parts.append(f"**{card.title}**")
        parts.extend(p for p in (card.url, card.author, card.description) if p)
        parts.extend(f"{f.name}: {f.value}" for f in card.fields)
        if card.footer:
            parts.append(card.footer)
    return "\n".join(parts) or "…"
