"""Every shipped catalog is complete, keeps its placeholders, and compiles.

The message ids are extracted from the source afresh (as `python3 tasks.py
translations extract` does), so a message added without translations fails
here, not in front of a player.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.commands import CommandSpec
from bot.i18n import LANGUAGES, LOCALES, SOURCE, has_translation, placeholders
from bot.languages import NAMES
from tests.conftest import (
    StartHerald,
    betahub_env,
    bugherd_env,
    butterstack_env,
    hacknplan_env,
    userecho_env,
    userecho_webhook_env,
)
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.butterstack import FakeButterStack
from tests.fakes.userecho import FakeUserEcho

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "N_": None, "_n": (1, 2)}
PRODUCTS = re.compile(r"BetaHub|HacknPlan|ButterStack|UserEcho|BugHerd")
COMMANDS = re.compile(r"(?<![\w/.:])/[a-z][\w-]*")
TRANSLATED = sorted(language for language in LANGUAGES if language != SOURCE)


def source_messages() -> dict[str, str | None]:
    """Every message id in bot/ and cogs/: singular -> plural (None when not counted)."""
    found: dict[str, str | None] = {}
    for folder in ("bot", "cogs"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=()
        ):
            if isinstance(message, tuple):
                found[message[0]] = message[1]
            else:
                found[message] = None
    return found


@pytest.fixture(scope="module")
def messages() -> dict[str, str | None]:
    found = source_messages()
    assert len(found) > 300, "extraction found too few messages: is the extractor broken?"
    return found


def catalog(language: str) -> Catalog:
    with (LOCALES / language / "LC_MESSAGES" / "herald.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_every_shipped_language_has_a_catalog() -> None:
    shipped = {p.parent.parent.name for p in LOCALES.glob("*/LC_MESSAGES/herald.po")}
    assert shipped == set(TRANSLATED)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(
    language: str, messages: dict[str, str | None]
) -> None:
    translations = catalog(language)
    problems = []
    for singular, plural in messages.items():
        entry = translations.get(singular)
        if entry is None or entry.fuzzy:
            problems.append(f"missing: {singular!r}")
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = translations.num_plurals if plural is not None else 1
        if len(forms) != expected or not all(forms):
            problems.append(f"untranslated form(s): {singular!r}")
            continue
        wanted = placeholders(singular) | placeholders(plural or "")
        for form in forms:
            if (have := placeholders(form)) != wanted:
                problems.append(f"placeholders {sorted(have)} != {sorted(wanted)}: {singular!r}")
    assert not problems, f"{language}: {len(problems)} problem(s):\n" + "\n".join(problems[:40])


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_compiles(language: str) -> None:
    translations = catalog(language)
    assert not list(translations.check()), list(translations.check())[:5]
    compiled = io.BytesIO()
    write_mo(compiled, translations)
    assert len(compiled.getvalue()) > 1000


@pytest.mark.parametrize("language", TRANSLATED)
def test_product_names_and_commands_stay_as_they_are(
    language: str, messages: dict[str, str | None]
) -> None:
    translations = catalog(language)
    changed = []
    for singular in messages:
        entry = translations.get(singular)
        if entry is None:
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for token in set(PRODUCTS.findall(singular)) | set(COMMANDS.findall(singular)):
            if not all(token in form for form in forms if form):
                changed.append(f"{token} in {singular!r}")
    assert not changed, changed[:20]


@pytest.fixture
async def every_command(
    herald: StartHerald, betahub: FakeBetaHub, butterstack: FakeButterStack, userecho: FakeUserEcho
) -> list[CommandSpec]:
    """The commands of every cog, each service configured."""
    core = await herald(
        **betahub_env(betahub),
        **butterstack_env(butterstack),
        **userecho_env(userecho),
        **userecho_webhook_env(),
        **hacknplan_env(),
        **bugherd_env(),
    )
    return [spec for cog in core.cogs.values() for spec in cog.commands()]


def shown(spec: CommandSpec) -> list[str]:
    """Every text a command's metadata shows people: descriptions, form labels, choices.

    Not choices that are names: a language named in itself, a product, or a value
    people type as it is (`suggest`, `on`).
    """
    texts = [spec.description, *([spec.message_menu] if spec.message_menu else [])]
    for param in spec.params:
        texts += [param.description, param.title]
        texts += [param.too_short] if param.too_short else []
        texts += [
            choice.name
            for choice in param.choices
            if choice.name != choice.value
            and choice.name not in NAMES.values()
            and not PRODUCTS.fullmatch(choice.name)
        ]
    return texts


async def test_every_text_of_every_command_is_translated(every_command: list[CommandSpec]) -> None:
    assert len(every_command) > 15, "every cog's commands were loaded"
    missing = {
        f"/{spec.name}: {text!r}"
        for spec in every_command
        for text in shown(spec)
        for language in TRANSLATED
        if not has_translation(text, language)
    }
    assert not missing, "\n".join(sorted(missing))
