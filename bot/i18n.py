"""Herald's one translation function, and the language it speaks right now.

Every sentence Herald shows people goes through `_` (or `_n` for plurals):

    raise UserError(_("Please give a {option}.", option=param.title))
    card.add_field(_("Artifacts"), _n("{count} file", "{count} files", len(files)))

The English text is the message id; `{name}` placeholders are filled after
translation, so a translator may move them. Strings defined before any
language is known (command descriptions, option labels) are marked with `N_`
for extraction and translated where they are shown (`translate`).

The language is a context variable, as in Django and Flask-Babel: whoever
starts work for someone sets it (`speaking`) — an adapter for an interaction,
the router for a channel's announcements, a cog for the text it adds to a
tracker item — and everything below speaks it without passing it along.

Catalogs are gettext `.po` files in `bot/locales/<language>/LC_MESSAGES/`,
compiled to `.mo` when Herald is installed (`python3 tasks.py translations
compile`). A message a catalog lacks is shown in English and logged once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from babel.support import Translations

log = logging.getLogger(__name__)

DOMAIN = "herald"
LOCALES = Path(__file__).with_name("locales")
SOURCE = "en"

# The shipped languages: catalog name -> Discord's locale code for it.
LANGUAGES: dict[str, str] = {
    "en": "en-US",
    "de": "de",
    "fr": "fr",
    "es": "es-ES",
    "pt_BR": "pt-BR",
    "ru": "ru",
    "pl": "pl",
    "tr": "tr",
    "ja": "ja",
    "ko": "ko",
    "zh_CN": "zh-CN",
}
# Tags that name a shipped language under another spelling.
_ALIASES = {"zh": "zh_CN", "zh_Hans": "zh_CN", "zh_SG": "zh_CN", "pt": "pt_BR"}

# Simplified Chinese is not what Taiwan, Hong Kong or Macau read: they get English.
_TRADITIONAL_CHINESE = {"zh_TW", "zh_HK", "zh_MO", "zh_HANT"}

_current: ContextVar[str] = ContextVar("herald language", default=SOURCE)
_reported: set[tuple[str, str]] = set()


def resolve(tag: str | None) -> str:
    """The shipped language for a locale tag from anywhere, English when none fits.

    Accepts Discord's (`pt-BR`, `es-ES`, `zh-CN`), Slack's (`es-ES`), POSIX
    (`de_DE.UTF-8`) and plain (`ja`) spellings; `es-419` speaks Spain's
    Spanish, `en-GB` English, and an unknown `xx` (or `zh-TW`) English.
    """
    if not tag:
        return SOURCE
    tag = tag.split(".")[0].split("@")[0].replace("-", "_").strip()
    if tag in LANGUAGES:
        return tag
    language, _, region = tag.partition("_")
    language = language.lower()
    candidate = f"{language}_{region.upper()}" if region else language
    if candidate in _TRADITIONAL_CHINESE:
        return SOURCE
    for name in (candidate, _ALIASES.get(candidate), language, _ALIASES.get(language)):
        if name in LANGUAGES:
            return name
    return SOURCE


def current_language() -> str:
    return _current.get()


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Speak `language` (any tag `resolve` accepts) inside the block."""
    resolved = resolve(language)
    token = _current.set(resolved)
    try:
        yield resolved
    finally:
        _current.reset(token)


def N_(message: str) -> str:
    """Mark `message` for translation where it is shown, not here."""
    return message


def _(message: str, /, **params: Any) -> str:
    """`message` in the current language, its `{placeholders}` filled from `params`."""
    return translate(message, current_language(), **params)


def _n(singular: str, plural: str, count: int, /, **params: Any) -> str:
    """The form of a message for `count` things in the current language.

    `{count}` is filled with `count`, formatted for the language.
    """
    language = current_language()
    english = singular if count == 1 else plural
    text = english
    catalog = _catalog(language)
    if catalog is not None:
        if (singular, 0) in catalog._catalog:
            text = catalog.ngettext(singular, plural, count)
        else:
            _missing(language, singular)
    return _fill(text, english, language, count=format_number(count, language), **params)


def translate(message: str, language: str, /, **params: Any) -> str:
    """`message` in `language` (a shipped one, see `resolve`), placeholders filled."""
    text = message
    catalog = _catalog(language) if message else None  # "" is the catalog's header
    if catalog is not None:
        found = catalog._catalog.get(message)
        if found:
            text = found
        else:
            _missing(language, message)
    return _fill(text, message, language, **params)


def has_translation(message: str, language: str) -> bool:
    """Whether `language`'s catalog translates `message` (English always does)."""
    if language == SOURCE or not message:
        return language == SOURCE
    catalog = _catalog(language)
    return catalog is not None and message in catalog._catalog


def format_number(value: float, language: str | None = None) -> str:
    return format_decimal(value, locale=_babel_locale(language or current_language()))


def format_decimal_places(value: float, places: int, language: str | None = None) -> str:
    """`value` with exactly `places` decimals, as `language` writes it (`1.50`, `1,50`)."""
    pattern = "0." + "0" * places if places else "0"
    locale = _babel_locale(language or current_language())
    return format_decimal(value, pattern, locale=locale, decimal_quantization=True)


def format_day(day: date, language: str | None = None) -> str:
    """A date as people of `language` write it (`Mar 9, 2026`, `09.03.2026`)."""
    return format_date(day, "medium", locale=_babel_locale(language or current_language()))


def format_moment(moment: datetime, language: str | None = None) -> str:
    """A date and time as people of `language` write it (`3 Dec 2026, 14:05`)."""
    return format_datetime(moment, "medium", locale=_babel_locale(language or current_language()))


def _fill(text: str, english: str, language: str, /, **params: Any) -> str:
    """`text` with its placeholders filled; English when the translation cannot be, and
    the English unfilled (logged) rather than an exception in front of a user."""
    if not params:
        return text
    for candidate in (text, english) if text != english else (english,):
        try:
            return candidate.format(**params)
        except (KeyError, IndexError, ValueError):
            log.warning("%r cannot be filled from %s (%s)", candidate, sorted(params), language)
    return english


def _missing(language: str, message: str) -> None:
    if (language, message) not in _reported:
        _reported.add((language, message))
        log.warning("no %s translation for %r; showing it in English", language, message)


@cache
def _catalog(language: str) -> Translations | None:
    """The compiled catalog of a shipped language; None for English (the source)."""
    if language == SOURCE or language not in LANGUAGES:
        return None
    compiled = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if not compiled.exists():
        log.warning(
            "the %s catalog is not compiled (%s is missing); showing English. "
            "Run: python3 tasks.py translations compile",
            language,
            compiled,
        )
        return None
    with compiled.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


@cache
def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(SOURCE)


def placeholders(message: str) -> set[str]:
    """The `{names}` a message fills, for checking translations keep them."""
    return set(re.findall(r"\{(\w+)\}", message))
