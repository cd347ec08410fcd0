"""Neutral cards and replies rendered as Slack Block Kit, within Slack's limits.

Card text is Herald's markdown subset; Slack speaks mrkdwn, so `**bold**`
becomes `*bold*` and `[label](url)` becomes `<url|label>`. Everything else,
whatever its source, passes through `escape_slack` (`&`, `<`, `>` as
entities) on its way out: `mrkdwn` for blocks and `fallback` for the
top-level `text` notifications show are the only ways text leaves this
module, so no text from a user or a webhook can form a `<!channel>`,
`<!subteam^S1>` or `<@U123>` mention, whichever caller forgot what. The
markup let through is Herald's own: links to a `safe_url`, bold, and a
channel reference (`<#C123>` from `bot.text.channel_mention`, which links
and never pings; `bot.text.escape` makes the same text from outside inert).
A card's author and footer are plain text: escaped, with no markup. A
card's colour is the bar of a legacy attachment wrapping its blocks, the one
way Slack still shows colour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.forms import action_id
from bot.models import ActionButton, Card, LinkButton, Reply
from bot.plain import reply_text
from bot.text import ELLIPSIS, safe_url, truncate

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
    r"|\\(?P<escaped>[\\*_`~|\[\]<>#-])"
    r"|\[(?P<label>(?:\\.|[^\]\\])*)\]\((?P<url>[^)\s]+)\)"
    r"|\*\*(?P<bold>.+?)\*\*",
    re.DOTALL,
)

Link = Callable[[str, str | None], str]
Bold = Callable[[str], str]


def escape_slack(text: str) -> str:
    """The one escape for Slack: `&`, `<` and `>` become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _convert(text: str, link: Link, bold: Bold) -> str:
    """Herald's markup in `text` through `link` and `bold`; everything else escaped."""
    out: list[str] = []
    position = 0
    for match in _TOKENS.finditer(text):
        out.append(escape_slack(text[position : match.start()]))
        if match.group("channel") is not None:
            out.append(match.group("channel"))
        elif match.group("escaped") is not None:
            out.append(escape_slack(match.group("escaped")))
        elif match.group("url") is not None:
            label = escape_slack(_unescape(match.group("label")))
            out.append(link(label, _url(match.group("url"))))
        else:
            out.append(bold(_convert(match.group("bold"), link, bold)))
        position = match.end()
    out.append(escape_slack(text[position:]))
    return "".join(out)


def mrkdwn(text: str) -> str:
    """Herald's markdown subset as Slack mrkdwn, with mentions made impossible."""
    return _convert(text, _mrkdwn_link, lambda inner: f"*{inner}*")


def fallback(text: str) -> str:
    """The top-level `text` (notifications, screen readers): no formatting, no mentions."""
    return _convert(text, lambda label, url: label, lambda inner: inner)


def _mrkdwn_link(label: str, url: str | None) -> str:
    """`<url|label>`; a label alone when the URL is not a safe http(s) one."""
    return f"<{url}|{label.replace('|', '¦')}>" if url else label


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def plain(text: str) -> str:
    """Herald's markup removed, for `plain_text` fields (which Slack never parses)."""
    return _unescape(re.sub(r"\[((?:\\.|[^\]\\])*)\]\([^)]*\)", r"\1", text.replace("**", "")))


class _Budget:
    """Slack refuses messages over its total size; every text takes from one budget."""

    def __init__(self, total: int) -> None:
        self.left = total

    def take(self, text: str, limit: int) -> str:
        cut = _cut(text, min(limit, self.left))
        self.left -= len(cut)
        return cut


def _cut(text: str, limit: int) -> str:
    """`truncate` for Slack text: markup cut in half (a link) is dropped, not left open."""
    cut = truncate(text, limit)
    if len(cut) < len(text) and cut.rfind("<") > cut.rfind(">"):
        return cut[: cut.rfind("<")].rstrip() + ELLIPSIS
    return cut


def card_blocks(card: Card, budget: _Budget | None = None) -> list[dict[str, Any]]:
    budget = budget or _Budget(MESSAGE_TEXT_BUDGET)
    blocks: list[dict[str, Any]] = []
    if card.title:
        title = mrkdwn(card.title)
        url = _url(card.url)
        heading = f"*<{url}|{title}>*" if url else f"*{title}*"
        blocks.append(_section(budget.take(heading, SECTION_LIMIT)))
    if card.author:
        blocks.append(_context([_mrkdwn(budget.take(escape_slack(card.author), SECTION_LIMIT))]))
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
    footer = [budget.take(escape_slack(card.footer), SECTION_LIMIT)] if card.footer else []
    if card.timestamp:
        epoch = int(card.timestamp.timestamp())
        footer.append(
            f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{card.timestamp:%Y-%m-%d %H:%M}>"
        )
    if footer:
        blocks.append(_context([_mrkdwn(t) for t in footer]))
    return [b for b in blocks if _has_text(b)]


def reply_message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for chat.postMessage / chat.update / respond."""
    budget = _Budget(MESSAGE_TEXT_BUDGET)
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append(_section(budget.take(mrkdwn(reply.text), SECTION_LIMIT)))
    buttons = [b for b in (_button(b, i) for i, b in enumerate(reply.buttons)) if b]
    summary = reply.text or (reply.card.title if reply.card and reply.card.title else "")
    message: dict[str, Any] = {"text": _cut(fallback(summary), FALLBACK_LIMIT) or "Herald"}
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
        url = _url(button.url)
        if not url:
            return None
        return {
            "type": "button",
            "text": label,
            "url": url,
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


def _context(elements: list[dict[str, str]]) -> dict[str, Any]:
    return {"type": "context", "elements": [e for e in elements if e["text"]][:CONTEXT_ELEMENTS]}


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
    safe = safe_url(url)
    return safe if safe and len(safe) <= URL_LIMIT else None
