"""Text helpers shared by renderers: length limits and markdown escaping.

Card text is a small markdown subset (`**bold**`, `[label](url)`, `` `code` ``,
and `channel_mention`'s `<#id>`) that every renderer understands. Text that
came from a user or a webhook is data, not markup: pass it through `escape`
(or `escape_inline`, or `link` for a link) once, where it enters a card or a
line. Escaped, it can form no link, no formatting and no `<...>` reference
(`<#C1>`, `<@U1>`, `<!channel>`) on any platform. A card's `author` and
`footer` are plain text, never markup: renderers show them as they are.
URLs from outside pass through `safe_url`.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from urllib.parse import quote

ELLIPSIS = "…"
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\s*/?>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_INLINE = re.compile(r"([\\*_`~|\[\]<])")
# Characters that end or break a link in chat markup (`<url|label>`, `[label](url)`).
_URL_BREAKERS = re.compile(r"[\s<>|()\[\]\"`\\{}^]")
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


def safe_url(url: str | None) -> str | None:
    """`url` when it is an http(s) link that cannot break out of chat link markup.

    Spaces and characters that end a link (`<`, `>`, `|`, brackets, quotes) are
    percent-encoded; a URL of another scheme (`javascript:`) or with control
    characters is refused (None): show its label as plain text instead.
    """
    if not url or not url[:8].lower().startswith(("http://", "https://")):
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in url):
        return None
    return _URL_BREAKERS.sub(lambda m: quote(m.group(), safe=""), url)


def link(label: str, url: str | None) -> str:
    """A markdown link, or just the escaped label when there is no (safe) URL."""
    target = safe_url(url)
    if not target:
        return escape(label)
    return f"[{escape_inline(label)}]({target})"


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
