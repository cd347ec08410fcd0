"""Neutral cards and replies rendered as Discord messages, within Discord's limits.

Every limit is enforced by truncating with an ellipsis: a long work-item title
or a huge build log never makes a post fail. Card text arrives as Herald's
markdown with outside text already escaped (`bot.text.escape`); the author and
footer are plain text, as Discord shows them. Every URL passes `safe_url`.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.forms import action_id
from bot.models import ActionButton, Card, LinkButton, Reply
from bot.plain import reply_text
from bot.text import safe_url, truncate

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_COUNT_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
URL_LIMIT = 2048

NO_MENTIONS = discord.AllowedMentions.none()
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100


def card_to_embed(card: Card) -> discord.Embed:
    """Render `card`; parts take from the 6000-character budget in order of importance."""
    budget = EMBED_TOTAL_LIMIT

    def take(text: str | None, limit: int) -> str | None:
        nonlocal budget
        if not text:
            return None
        cut = truncate(text, min(limit, budget))
        budget -= len(cut)
        return cut or None

    embed = discord.Embed(
        title=take(card.title, TITLE_LIMIT),
        url=_url(card.url),
        colour=int(card.colour),
        timestamp=card.timestamp,
    )
    if author := take(card.author, AUTHOR_LIMIT):
        embed.set_author(name=author)
    embed.description = take(card.description, DESCRIPTION_LIMIT)
    for field in card.fields[:FIELD_COUNT_LIMIT]:
        name = take(field.name, FIELD_NAME_LIMIT) or "\u200b"
        value = take(field.value, FIELD_VALUE_LIMIT)
        if value is None:
            break
        embed.add_field(name=name, value=value, inline=field.inline)
    if footer := take(card.footer, FOOTER_LIMIT):
        embed.set_footer(text=footer)
    if image := _url(card.image_url):
        embed.set_image(url=image)
    if thumbnail := _url(card.thumbnail_url):
        embed.set_thumbnail(url=thumbnail)
    return embed


def _url(url: str | None) -> str | None:
    safe = safe_url(url)
    return safe if safe and len(safe) <= URL_LIMIT else None


def reply_kwargs(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for send/edit calls: content, embed, link buttons, no mentions."""
    kwargs: dict[str, Any] = {
        "content": truncate(reply.text, CONTENT_LIMIT) if reply.text else None,
        "embeds": [card_to_embed(reply.card)] if reply.card else [],
        "allowed_mentions": NO_MENTIONS,
    }
    buttons = [_button(b) for b in reply.buttons]
    view = discord.ui.View()
    for button in [b for b in buttons if b is not None][:25]:
        view.add_item(button)
    kwargs["view"] = view
    return kwargs


def plain_kwargs(reply: Reply) -> dict[str, Any]:
    """The stripped-down form (text only, no embeds or buttons) for a refused message."""
    return {
        "content": truncate(reply_text(reply), CONTENT_LIMIT),
        "embeds": [],
        "allowed_mentions": NO_MENTIONS,
        "view": None,
    }


def action_custom_id(button: ActionButton) -> str:
    custom_id = action_id(button)
    if len(custom_id) > CUSTOM_ID_LIMIT:
        raise ValueError(f"button id too long for Discord: {custom_id!r}")
    return custom_id


def _button(button: LinkButton | ActionButton) -> discord.ui.Button[Any] | None:
    label = truncate(button.label, BUTTON_LABEL_LIMIT)
    if isinstance(button, LinkButton):
        url = _url(button.url)
        return discord.ui.Button(label=label, url=url) if url else None
    style = discord.ButtonStyle.primary if button.primary else discord.ButtonStyle.secondary
    return discord.ui.Button(label=label, style=style, custom_id=action_custom_id(button))
