"""Text helpers shared by renderers: length limits and markdown escaping.

Card text is a small markdown subset (`**bold**`, `[label](url)`, `` `code` ``)
that every renderer understands. Text that came from a user or a webhook is
data, not markup: pass it through `escape` before putting it in a card.
"""

from __future__ import annotations

import html as _html
import re

ELLIPSIS = "…"
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_INLINE = re.compile(r"([\\*_`~|\[\]])")
# Markdown that only counts at a line's start: headings `# `, quotes `> `, `>>> `,
# list items `- ` and subtext `-# `. `#42` or `-1` mean nothing and stay as they are.
_BLOCK = r"(#(?=#{0,2}\s)|>(?=\s|>>\s)|-(?=\s|#\s))"
_LINE_START = re.compile(rf"^(\s*){_BLOCK}", re.MULTILINE)
_LATER_LINE_START = re.compile(rf"(\n\s*){_BLOCK}")


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def escape(text: str) -> str:
    """Make user text show literally: markdown characters lose their meaning."""
    return _LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))


def escape_inline(text: str) -> str:
    """`escape` for text placed after other text on a line (`💬 ada: <text>`).

    Its first character is not at a line's start, so a leading `#` or `-`
    stays as it is; lines after a break inside it are still escaped.
    """
    return _LATER_LINE_START.sub(r"\1\\\2", _INLINE.sub(r"\\\1", text))


def link(label: str, url: str | None) -> str:
    """A markdown link, or just the escaped label when there is no URL."""
    if not url:
        return escape(label)
    return f"[{escape_inline(label)}]({url})"


def quote_block(text: str, limit: int) -> str:
    """User text shown back to them as a quote, escaped and within `limit`."""
    body = truncate(escape(text), limit - 2)
    return "\n".join(f"> {line}" for line in body.splitlines() or [""])


def channel_mention(channel_id: str) -> str:
    """A reference to a channel that chat platforms show as a link (`<#id>`)."""
    return f"<#{channel_id}>"


def html_to_text(html: str) -> str:
    """Text from a vendor's HTML field: tags dropped, breaks kept, entities decoded."""
    text = _BREAKS.sub("\n", html)
    text = _TAGS.sub("", text)
    text = _html.unescape(text)
    return _BLANK_LINES.sub("\n\n", text).strip()
