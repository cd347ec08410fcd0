"""Text helpers shared by renderers: length limits and markdown escaping.

Card text is a small markdown subset (`**bold**`, `[label](url)`, `` `code` ``)
that every renderer understands. Text that came from a user or a webhook is
data, not markup: pass it through `escape` before putting it in a card.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_INLINE = re.compile(r"([\\*_`~|\[\]])")
_LINE_START = re.compile(r"^(\s*)([>#-])", re.MULTILINE)


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


def link(label: str, url: str | None) -> str:
    """A markdown link, or just the escaped label when there is no URL."""
    label = escape(label)
    return f"[{label}]({url})" if url else label


def quote_block(text: str, limit: int) -> str:
    """User text shown back to them as a quote, escaped and within `limit`."""
    body = truncate(escape(text), limit - 2)
    return "\n".join(f"> {line}" for line in body.splitlines() or [""])
