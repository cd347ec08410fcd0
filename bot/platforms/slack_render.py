"""Neutral cards and replies rendered as Slack Block Kit, within Slack's limits.

Card text is Herald's markdown subset; Slack speaks mrkdwn, so `**bold**`
becomes `*bold*`, `[label](url)` becomes `<url|label>`, and `&`, `<`, `>` are
escaped: with them escaped, text from a user or a webhook can never form a
`<!everyone>` or `<@U123>` mention. A channel reference (`<#C123>`, from
`bot.text.channel_mention`) is the one markup let through: it links, never
pings. A card's colour is the bar of a legacy attachment wrapping its
blocks, the one way Slack still shows colour.
"""

from __future__ import annotations

import re
from typing import Any

from bot.forms import action_id
from bot.models import ActionButton, Card, LinkButton, Reply
from bot.plain import reply_text
from bot.text import truncate

MAX_BLOCKS = 50
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
CONTEXT_ELEMENTS = 10
BUTTON_LABEL_LIMIT = 75
ACTIONS_LIMIT = 25
LINK_ACTION = "herald:link"
FALLBACK_LIMIT = 3000
MESSAGE_TEXT_BUDGET = 12000
URL_LIMIT = 3000

_TOKENS = re.compile(
    r"(?P<channel><#[A-Z0-9]+>)"
    r"|\\(?P<escaped>[\\*_`~|\[\]>#-])"
    r"|\[(?P<label>(?:\\.|[^\]\\])*)\]\((?P<url>https?://[^)\s]+)\)"
    r"|\*\*(?P<bold>.+?)\*\*",
    re.DOTALL,
)


def escape_slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Herald's markdown subset as Slack mrkdwn, with mentions made impossible."""
    out: list[str] = []
    position = 0
    for match in _TOKENS.finditer(text):
        out.append(escape_slack(text[position : match.start()]))
        if match.group("channel") is not None:
            out.append(match.group("channel"))
        elif match.group("escaped") is not None:
            out.append(escape_slack(match.group("escaped")))
        elif match.group("url") is not None:
            label = escape_slack(_unescape(match.group("label"))).replace("|", "¦")
            out.append(f"<{match.group('url')}|{label}>")
        else:
            out.append(f"*{mrkdwn(match.group('bold'))}*")
        position = match.end()
    out.append(escape_slack(text[position:]))
    return "".join(out)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def plain(text: str) -> str:
    """Fallback text (notifications, screen readers): no markup at all."""
    return _unescape(re.sub(r"\[((?:\\.|[^\]\\])*)\]\([^)]*\)", r"\1", text.replace("**", "")))


class _Budget:
    """Slack refuses messages over its total size; every text takes from one budget."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, text: str, limit: int) -> str:
        cut = truncate(text, min(limit, self.left))
        self.left -= len(cut)
        return cut


def card_blocks(card: Card, budget: _Budget | None = None) -> list[dict[str, Any]]:
    budget = budget or _Budget(MESSAGE_TEXT_BUDGET)
    blocks: list[dict[str, Any]] = []
    if card.title:
        title = mrkdwn(card.title)
        heading = f"*<{card.url}|{title}>*" if _url(card.url) else f"*{title}*"
        blocks.append(_section(budget.take(heading, SECTION_LIMIT)))
    if card.author:
        blocks.append(_context([budget.take(mrkdwn(card.author), SECTION_LIMIT)]))
    if card.description:
        blocks.append(_section(budget.take(mrkdwn(card.description), SECTION_LIMIT)))
    inline = [f for f in card.fields if f.inline]
    for start in range(0, len(inline), FIELDS_PER_SECTION):
        chunk = inline[start : start + FIELDS_PER_SECTION]
        texts = [budget.take(f"*{mrkdwn(f.name)}*\n{mrkdwn(f.value)}", FIELD_LIMIT) for f in chunk]
        blocks.append({"type": "section", "fields": [_mrkdwn(t) for t in texts if t]})
    for field in (f for f in card.fields if not f.inline):
        text = f"*{mrkdwn(field.name)}*\n{mrkdwn(field.value)}"
        blocks.append(_section(budget.take(text, SECTION_LIMIT)))
    if image := _url(card.image_url):
        blocks.append({"type": "image", "image_url": image, "alt_text": plain(card.title or "")})
    footer = [mrkdwn(card.footer)] if card.footer else []
    if card.timestamp:
        epoch = int(card.timestamp.timestamp())
        footer.append(
            f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{card.timestamp:%Y-%m-%d %H:%M}>"
        )
    if footer:
        blocks.append(_context([budget.take(t, SECTION_LIMIT) for t in footer]))
    return [b for b in blocks if _has_text(b)]


def reply_message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update / respond."""
    budget = _Budget(MESSAGE_TEXT_BUDGET)
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append(_section(budget.take(mrkdwn(reply.text), SECTION_LIMIT)))
    buttons = [b for b in (_button(b, i) for i, b in enumerate(reply.buttons)) if b]
    fallback = plain(reply.text or (reply.card.title if reply.card and reply.card.title else ""))
    message: dict[str, Any] = {"text": truncate(fallback, FALLBACK_LIMIT) or "Herald"}
    if reply.card:
        room = MAX_BLOCKS - len(blocks) - (1 if buttons else 0)
        card = card_blocks(reply.card, budget)[:room]
        message["attachments"] = [{"color": f"#{int(reply.card.colour):06x}", "blocks": card}]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons[:ACTIONS_LIMIT]})
    message["blocks"] = blocks[:MAX_BLOCKS]
    return message


def plain_message(reply: Reply) -> dict[str, Any]:
    """The stripped-down form (no blocks, no attachments) for a message Slack refused."""
    text = escape_slack(truncate(plain(reply_text(reply)), FALLBACK_LIMIT))
    return {"text": text or "Herald"}


def _button(button: LinkButton | ActionButton, index: int) -> dict[str, Any] | None:
    label = _plain_text(truncate(button.label, BUTTON_LABEL_LIMIT))
    if isinstance(button, LinkButton):
        if not _url(button.url):
            return None
        return {
            "type": "button",
            "text": label,
            "url": button.url,
            "action_id": f"{LINK_ACTION}:{index}",
        }
    element: dict[str, Any] = {"type": "button", "text": label, "action_id": action_id(button)}
    if button.argument:
        element["value"] = button.argument
    if button.primary:
        element["style"] = "primary"
    return element


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(texts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS] if t]}


def _plain_text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _has_text(block: dict[str, Any]) -> bool:
    if block["type"] == "section":
        return bool(block.get("fields") or block.get("text", {}).get("text"))
    if block["type"] == "context":
        return bool(block["elements"])
    return True


def _url(url: str | None) -> str | None:
    if not url or not url.startswith(("http://", "https://")) or len(url) > URL_LIMIT:
        return None
    return url
