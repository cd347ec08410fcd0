"""Log redaction and the logging set-up."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from bot.logs import MASK, RedactSecrets, setup_logging

SECRET = "s3cr3t/p@ss word+42"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def redactor() -> RedactSecrets:
    redactor = RedactSecrets()
    redactor.add([SECRET])
    return redactor


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote(SECRET),
        quote_plus(SECRET),
        quote(SECRET, safe="").lower(),
        b64(SECRET),
        b64(SECRET).rstrip("="),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        b64(f"herald-bot:{SECRET}"),
        b64(f"{SECRET}:x"),
        b64(f"api:{SECRET}").rstrip("="),
    ],
    ids=[
        "plain",
        "percent",
        "percent-keeping-slashes",
        "form",
        "percent-lower-case",
        "base64",
        "base64-unpadded",
        "base64-urlsafe",
        "basic-auth-password",
        "basic-auth-user",
        "basic-auth-unpadded",
    ],
)
def test_every_form_of_a_secret_is_masked(redactor: RedactSecrets, form: str) -> None:
    line = redactor.redact(f"GET https://x.example/?key={form}&n=1 Authorization: Basic {form}")
    assert form not in line
    assert MASK in line
    assert line.startswith("GET https://x.example/?key=")
    assert line.endswith("&n=1 Authorization: Basic " + MASK)


def test_base64_that_hides_no_secret_is_left_alone(redactor: RedactSecrets) -> None:
    line = f"Basic {b64('herald-bot:something-else')} for changelist_12345678"
    assert redactor.redact(line) == line


@pytest.fixture
def logged(redactor: RedactSecrets) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_a_record_whose_arguments_do_not_fit_is_still_logged_and_never_raises(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logged
    logger.warning("%s met %s", f"token {SECRET}")  # one argument short
    logger.warning("%d items", "many")  # the wrong type
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert SECRET not in stream.getvalue()
    assert lines[0].startswith("%s met %s")
    assert MASK in lines[0]
    assert "many" in lines[1]


def test_a_filter_that_fails_still_lets_the_record_through(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        __str__ = __repr__

    logger, stream = logged
    logger.warning("value: %s", Unprintable())
    assert stream.getvalue().strip() != ""


def levels() -> dict[str, int]:
    loggers = logging.root.manager.loggerDict.items()
    return {name: lg.level for name, lg in loggers if isinstance(lg, logging.Logger)}


def test_setup_caps_the_chatty_libraries_slack_sdk_included() -> None:
    root = logging.getLogger()
    handlers, level, before = root.handlers[:], root.level, levels()
    try:
        setup_logging("DEBUG")
        for name in ("slack_sdk", "slack_sdk.web.async_base_client", "slack_bolt", "httpx"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in levels():
            logging.getLogger(name).setLevel(before.get(name, logging.NOTSET))
