"""ButterStack cards in other languages: counts take the language's plural forms and digits.

Read against the shipped catalogs: Russian and Polish have three plural forms
(1 файл / 3 файла / 5 файлов), and the card must pick the one the count needs.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, speaking, translate
from cogs.butterstack.cards import MAX_ARTIFACTS, build_card
from cogs.butterstack.models import Build

NOW = datetime(2026, 12, 15, 15, 0, tzinfo=UTC)
MORE = "… and {count} more artifact"


def forms(language: str) -> tuple[str, ...]:
    """The catalog's plural forms of the "and N more artifacts" line, in its order."""
    with (LOCALES / language / "LC_MESSAGES" / "herald.po").open("rb") as handle:
        entry = read_po(handle, locale=language).get(MORE)
    assert entry is not None
    assert isinstance(entry.string, tuple)
    return entry.string


def succeeded(artifacts: int) -> Build:
    return Build.parse(
        {
            "id": "build_1",
            "status": "success",
            "duration_seconds": 60,
            "artifacts": [
                {"name": f"part{n}.zip", "url": f"https://cdn.example/{n}"}
                for n in range(artifacts)
            ],
        }
    )


def last_artifact_line(language: str, artifacts: int) -> str:
    with speaking(language):
        card = build_card(succeeded(artifacts), now=NOW)
    shown = {f.name: f.value for f in card.fields}[translate("Artifacts", language)] or ""
    return shown.splitlines()[-1]


@pytest.mark.parametrize(
    ("language", "hidden", "form", "word"),
    [
        ("ru", 1, 0, "артефакт"),
        ("ru", 3, 1, "артефакта"),
        ("ru", 5, 2, "артефактов"),
        ("ru", 21, 0, "артефакт"),
        ("ru", 22, 1, "артефакта"),
        ("pl", 1, 0, "artefakt"),
        ("pl", 3, 1, "artefakty"),
        ("pl", 5, 2, "artefaktów"),
        ("pl", 22, 1, "artefakty"),
    ],
)
def test_artifacts_left_out_are_counted_in_the_languages_plural_forms(
    language: str, hidden: int, form: int, word: str
) -> None:
    line = last_artifact_line(language, MAX_ARTIFACTS + hidden)
    assert line == forms(language)[form].format(count=hidden)
    assert f"{hidden} {word}" in line


@pytest.mark.parametrize(
    ("hidden", "line"), [(1, "… and 1 more artifact"), (5, "… and 5 more artifacts")]
)
def test_english_and_an_unknown_language_read_english(hidden: int, line: str) -> None:
    for language in ("en", "xx"):
        assert last_artifact_line(language, MAX_ARTIFACTS + hidden) == line


def test_counts_are_written_with_the_languages_digits() -> None:
    assert "1.234" in last_artifact_line("de", MAX_ARTIFACTS + 1234)
    assert last_artifact_line("en", MAX_ARTIFACTS + 1234) == "… and 1,234 more artifacts"


def test_durations_and_sizes_are_written_with_the_languages_digits() -> None:
    build = Build.parse(
        {
            "id": "build_1",
            "status": "success",
            "duration_seconds": 1234,
            "artifacts": [{"name": "game.zip", "size_bytes": 1234567890}],
        }
    )
    with speaking("de"):
        card = build_card(build, now=NOW)
    fields = {f.name: f.value for f in card.fields}
    assert fields[translate("Duration", "de")] == translate(
        "{minutes}m {seconds}s", "de", minutes="20", seconds="34"
    )
    assert fields[translate("Artifacts", "de")] == "game.zip · 1,15 GB"
    assert translate("Artifacts", "de") != "Artifacts", "the German catalog names the field"
