"""Build cards' pieces: sizes, durations, the progress bar, and ButterStack text kept as data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Colour
from cogs.butterstack.cards import (
    build_card,
    deployment_line,
    human_duration,
    human_size,
    progress_bar,
)
from cogs.butterstack.models import Build, Deployment

NOW = datetime(2026, 12, 15, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("size", "shown"),
    [(512, "512 B"), (2048, "2.00 KB"), (1234567890, "1.15 GB"), (50 * 1024**3, "50.0 GB")],
)
def test_human_sizes(size: int, shown: str) -> None:
    assert human_size(size) == shown


@pytest.mark.parametrize(
    ("seconds", "shown"), [(45, "45s"), (1234, "20m 34s"), (3900, "1h 05m"), (0.4, "0s")]
)
def test_human_durations(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_progress_bar_fills_against_the_typical_duration() -> None:
    assert progress_bar(480, 1200) == "▰▰▰▰▱▱▱▱▱▱ 40% · 8m 00s of ~20m 00s"
    assert progress_bar(1500, 1200) == (
        "▰▰▰▰▰▰▰▰▰▰ longer than usual: 25m 00s (typically ~20m 00s)"
    )


def test_a_running_card_without_a_typical_duration_has_no_bar() -> None:
    build = Build.parse(
        {
            "id": "build_1",
            "status": "running",
            "platform": "win64",
            "started_at": (NOW - timedelta(minutes=3)).isoformat(),
        }
    )
    card = build_card(build, now=NOW)
    assert card.colour is Colour.INFO
    assert {f.name: f.value for f in card.fields}["Duration"] == "3m 00s so far"
    assert "Progress" not in [f.name for f in card.fields]


def test_service_text_is_escaped_and_odd_payloads_do_not_break_the_card() -> None:
    build = Build.parse(
        {
            "id": "build_*x*",
            "status": "Exploded",
            "platform": "[win64](https://evil.example)",
            "artifacts": [{"name": "a_b.zip", "size_bytes": "oops"}, "junk"],
            "duration_seconds": None,
            "started_at": "not a date",
        }
    )
    card = build_card(build, now=NOW)
    assert card.title == "• Build build\\_\\*x\\* exploded"
    assert {f.name: f.value for f in card.fields}["Platform"] == (
        "\\[win64\\](https://evil.example)"
    )
    assert card.colour is Colour.NEUTRAL


def test_a_deployment_url_cannot_smuggle_a_second_link() -> None:
    url = "https://deploy.example/d1)[free nitro](https://evil.example"
    deployment = Deployment.parse({"id": "d1", "status": "live", "url": url})
    line = deployment_line(deployment)
    assert line.startswith("🚀 [Deployment d1](https://deploy.example/d1%29%5Bfree")
    assert "](https://evil.example" not in line
