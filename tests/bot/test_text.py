"""Text helpers: escaping outside text and keeping only safe URLs."""

from __future__ import annotations

import pytest

from bot.text import escape, escape_inline, link, safe_url


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"),
        ("HTTP://example.com/x", "HTTP://example.com/x"),
        ("https://x.example/a>|b<!channel>", "https://x.example/a%3E%7Cb%3C!channel%3E"),
        ("https://x.example/a b", "https://x.example/a%20b"),
        ("https://x.example/a)[b](https://e.x)", "https://x.example/a%29%5Bb%5D%28https://e.x%29"),
        ("javascript:alert(1)", None),
        ("data:text/html,hi", None),
        ("https://x.example/\nline", None),
        ("https://x.example/\u202eevil", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, safe: str | None) -> None:
    assert safe_url(url) == safe


def test_escaped_text_forms_no_reference_or_link() -> None:
    assert escape("<#C1> <@U1> [a](https://e.x)") == "\\<#C1> \\<@U1> \\[a\\](https://e.x)"
    assert escape_inline("<!here>") == "\\<!here>"


def test_link_keeps_the_label_when_the_url_is_not_safe() -> None:
    assert link("a [b]", "javascript:alert(1)") == "a \\[b\\]"
    assert link("page", "https://e.x/a)b") == "[page](https://e.x/a%29b)"
