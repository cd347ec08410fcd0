"""The translation function: which catalog a tag reads, and English when a catalog fails."""

from __future__ import annotations

import logging

import pytest

from bot.i18n import _, _n, resolve, speaking, translate

CHANGED = "Changed"  # a message every shipped catalog translates


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("pt-BR", "pt_BR"),
        ("pt", "pt_BR"),
        ("es-ES", "es"),
        ("es-419", "es"),
        ("de_AT.UTF-8", "de"),
        ("zh-CN", "zh_CN"),
        ("zh-TW", "en"),
        ("en-GB", "en"),
        ("ja", "ja"),
        ("xx", "en"),
        ("C.UTF-8", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_tag_reads_the_catalog_of_its_language(tag: str | None, language: str) -> None:
    assert resolve(tag) == language


def test_a_message_no_catalog_has_is_shown_in_english_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.i18n")
    unknown = "A sentence no catalog has, for {who}"
    with speaking("de"):
        assert _(unknown, who="Ada") == "A sentence no catalog has, for Ada"
        assert _(unknown, who="Grace") == "A sentence no catalog has, for Grace"
        assert _n(unknown, unknown, 3, who="Lin") == "A sentence no catalog has, for Lin"
    warnings = [r for r in caplog.records if "no de translation" in r.getMessage()]
    assert len(warnings) == 1, "once per message and language"
    assert _(CHANGED) == CHANGED, "English speaks the source"
    with speaking("de"):
        assert _(CHANGED) == translate(CHANGED, "de") != CHANGED


def test_a_message_that_cannot_be_filled_is_shown_unfilled_rather_than_failing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.i18n")
    message = "{channel} speaks the server's language again: {language_name}."
    assert translate(message, "de", channel="#x") == message
    assert "cannot be filled" in caplog.text


def test_placeholders_may_be_named_like_the_functions_arguments() -> None:
    assert translate("{text} {language} {english}", "de", text="a", language="b", english="c") == (
        "a b c"
    )
