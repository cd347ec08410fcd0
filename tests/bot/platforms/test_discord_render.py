"""Cards become embeds within Discord's limits, whatever the input."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import Card, CardField, Colour, LinkButton, Reply
from bot.platforms.discord_render import card_to_embed, reply_kwargs
from bot.text import escape
from tests.fakes.discord import check_message


def test_an_oversized_card_is_truncated_not_refused() -> None:
    card = Card(
        title="T" * 1000,
        url="https://example.com/item/1",
        description="D" * 10000,
        fields=[CardField(f"name {i}" * 50, "v" * 3000) for i in range(40)],
        author="A" * 500,
        footer="F" * 5000,
        colour=Colour.ERROR,
        timestamp=datetime(2026, 11, 22, tzinfo=UTC),
    )
    payload = card_to_embed(card).to_dict()

    assert check_message({"embeds": [payload]}) == {}
    assert len(payload["title"]) == 256
    assert payload["title"].endswith("…")
    assert len(payload["description"]) == 4096
    assert payload["color"] == Colour.ERROR
    assert payload["url"] == "https://example.com/item/1"


def test_empty_and_invalid_parts_are_left_out() -> None:
    card = Card(title=None, url="javascript:alert(1)", image_url="not a url")
    card.add_field("Assignee", None).add_field("Stage", "").add_field("Board", "Sprint 4")
    payload = card_to_embed(card).to_dict()
    assert "url" not in payload
    assert "image" not in payload
    assert payload["fields"] == [{"name": "Board", "value": "Sprint 4", "inline": True}]


def test_reply_text_is_capped_and_mentions_are_off() -> None:
    kwargs = reply_kwargs(
        Reply(
            text="x" * 3000,
            buttons=[LinkButton("Open", "https://e.com"), LinkButton("Bad", "ftp://x")],
        )
    )
    assert len(kwargs["content"]) == 2000
    assert kwargs["allowed_mentions"].to_dict() == {"parse": []}
    (button,) = kwargs["view"].children
    assert button.url == "https://e.com"


def test_urls_are_made_safe_and_escaped_field_values_stay_escaped() -> None:
    card = Card(title="T", url="https://x.example/a b)", image_url="https://i.example/<x>.png")
    card.add_field("Tags", escape("[free nitro](https://evil.example)"))
    payload = card_to_embed(card).to_dict()
    assert payload["url"] == "https://x.example/a%20b%29"
    assert payload["image"]["url"] == "https://i.example/%3Cx%3E.png"
    assert payload["fields"][0]["value"] == "\\[free nitro\\](https://evil.example)"
    kwargs = reply_kwargs(Reply(buttons=[LinkButton("Open", "https://e.com/a|b")]))
    (button,) = kwargs["view"].children
    assert button.url == "https://e.com/a%7Cb"
