"""Cards become Block Kit within Slack's limits; user text can never mention anyone."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.models import Card, CardField, Colour, LinkButton, Reply
from bot.platforms.slack_render import mrkdwn, plain, reply_message
from bot.text import escape, link
from tests.fakes.slack import check_message


def test_markdown_subset_becomes_mrkdwn() -> None:
    text = f"**Build** {link('log [1]', 'https://ci.example/1')} by {escape('*dev*')} & co"
    assert mrkdwn(text) == "*Build* <https://ci.example/1|log [1]> by *dev* &amp; co"
    assert plain(text) == "Build log [1] by *dev* & co"


def test_user_text_cannot_mention() -> None:
    hostile = escape("<!everyone> <@U123> <!subteam^S1> hi")
    assert "<" not in mrkdwn(hostile)
    assert mrkdwn(hostile).startswith("&lt;!everyone&gt;")


def test_a_huge_card_stays_within_block_kit_limits() -> None:
    card = Card(
        title="T" * 5000,
        url="https://example.com/x",
        description="D" * 20000,
        fields=[CardField(f"F{i}", "v" * 2500, inline=i % 2 == 0) for i in range(80)],
        footer="footer",
        timestamp=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
        colour=Colour.ERROR,
    )
    message = reply_message(
        Reply(text="x" * 5000, card=card, buttons=[LinkButton("Open", "https://e.com")])
    )

    assert check_message(message) is None
    blocks = message["blocks"] + message["attachments"][0]["blocks"]
    assert len(blocks) <= 50
    assert message["attachments"][0]["color"] == "#e74c3c"
    total = sum(len(b.get("text", {}).get("text", "")) for b in blocks)
    assert total <= 13000
    assert message["blocks"][-1]["type"] == "actions"


def test_empty_parts_are_left_out() -> None:
    message = reply_message(Reply(card=Card(title="Only a title")))
    (block,) = message["attachments"][0]["blocks"]
    assert block["text"]["text"] == "*Only a title*"
    assert message["text"] == "Only a title"
    assert message["blocks"] == []


def test_the_notification_text_is_escaped_too() -> None:
    """Slack parses the top-level `text` (what notifications show) for mentions."""
    message = reply_message(Reply(card=Card(title=escape("<!channel> urgent & <@U1>"))))
    assert message["text"] == "&lt;!channel&gt; urgent &amp; &lt;@U1&gt;"
    line = reply_message(Reply(text=f"💬 **ada**: {escape('<!here> [x](https://e.x)')}"))
    assert line["text"] == "💬 ada: &lt;!here&gt; [x](https://e.x)"


def test_a_url_cannot_break_out_of_its_link() -> None:
    card = Card(title="Task", url="https://x.example/a>|b<!channel>")
    heading = reply_message(Reply(card=card))["attachments"][0]["blocks"][0]["text"]["text"]
    assert heading == "*<https://x.example/a%3E%7Cb%3C!channel%3E|Task>*"
    assert mrkdwn("[run](javascript:alert(1))") == "run)"
    assert mrkdwn(link("run", "javascript:alert(1)")) == "run"


def test_author_and_footer_are_plain_escaped_text() -> None:
    card = Card(title="T", author="[free nitro](https://evil.example) <!here>", footer="<@U1>")
    blocks = reply_message(Reply(card=card))["attachments"][0]["blocks"]
    author, footer = blocks[1]["elements"][0]["text"], blocks[2]["elements"][0]["text"]
    assert author == "[free nitro](https://evil.example) &lt;!here&gt;"
    assert footer == "&lt;@U1&gt;"


def test_a_link_cut_by_the_length_limit_is_dropped_not_left_open() -> None:
    text = "x" * 2990 + link("label", "https://example.com/long/path")
    section = reply_message(Reply(text=text))["blocks"][0]["text"]["text"]
    assert section == "x" * 2990 + "…"
