"""ButterStack cards in other languages: counts take the language's plural forms and digits.

The shipped catalogs are not translated yet, so the plural test compiles a
small Russian and Polish catalog of its own, as `python3 tasks.py
translations compile` would, and points Herald's catalogs at it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from bot import i18n
from bot.i18n import speaking
from cogs.butterstack.cards import MAX_ARTIFACTS, build_card
from cogs.butterstack.models import Build

NOW = datetime(2026, 12, 15, 15, 0, tzinfo=UTC)
MORE = ("… and {count} more", "… and {count} more")
# Test translations, one form per plural category of the language.
FORMS = {
    "ru": ("… и ещё {count} файл", "… и ещё {count} файла", "… и ещё {count} файлов"),
    "pl": ("… i {count} plik więcej", "… i {count} pliki więcej", "… i {count} plików więcej"),
}


@pytest.fixture
def catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for language, forms in FORMS.items():
        catalog = Catalog(locale=language, domain=i18n.DOMAIN)
        catalog.add(MORE, forms)
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        with (folder / f"{i18n.DOMAIN}.mo").open("wb") as handle:
            write_mo(handle, catalog)
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n._catalog.cache_clear()
    yield
    i18n._catalog.cache_clear()


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
    shown = {f.name: f.value for f in card.fields}["Artifacts"] or ""
    return shown.splitlines()[-1]


@pytest.mark.usefixtures("catalogs")
@pytest.mark.parametrize(
    ("language", "hidden", "line"),
    [
        ("ru", 1, "… и ещё 1 файл"),
        ("ru", 5, "… и ещё 5 файлов"),
        ("ru", 22, "… и ещё 22 файла"),
        ("pl", 1, "… i 1 plik więcej"),
        ("pl", 5, "… i 5 plików więcej"),
        ("pl", 3, "… i 3 pliki więcej"),
    ],
)
def test_artifacts_left_out_are_counted_in_the_languages_plural_forms(
    language: str, hidden: int, line: str
) -> None:
    assert last_artifact_line(language, MAX_ARTIFACTS + hidden) == line


@pytest.mark.parametrize(("hidden", "line"), [(1, "… and 1 more"), (5, "… and 5 more")])
def test_without_a_translation_the_count_reads_in_english(hidden: int, line: str) -> None:
    for language in ("ru", "pl"):
        assert last_artifact_line(language, MAX_ARTIFACTS + hidden) == line


def test_counts_are_written_with_the_languages_digits() -> None:
    assert last_artifact_line("de", MAX_ARTIFACTS + 1234) == "… and 1.234 more"
    assert last_artifact_line("en", MAX_ARTIFACTS + 1234) == "… and 1,234 more"


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
    assert fields["Duration"] == "20m 34s"
    assert fields["Artifacts"] == "game.zip · 1,15 GB"
