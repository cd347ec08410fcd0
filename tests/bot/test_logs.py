"""Log redaction and the logging set-up."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from bot import logs
from bot.logcontext import FIELDS, bound
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


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], io.StringIO]]:
    """`setup_logging` at DEBUG in a given format, writing to a captured stderr; undone after."""
    root = logging.getLogger()
    handlers, level, before = root.handlers[:], root.level, levels()
    logs.redactor.add([SECRET])

    def install(log_format: str) -> io.StringIO:
        stream = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        setup_logging("DEBUG", log_format)
        return stream

    try:
        yield install
    finally:
        logging.captureWarnings(False)
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in levels():
            logging.getLogger(name).setLevel(before.get(name, logging.NOTSET))


def test_setup_caps_the_chatty_libraries_slack_sdk_included(
    installed: Callable[[str], io.StringIO],
) -> None:
    installed("text")
    capped = ("slack_sdk", "slack_sdk.web.async_base_client", "slack_bolt", "httpx", "aiosqlite")
    for name in capped:
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_mask_a_secret_in_arguments_urls_exceptions_and_extra_fields(
    installed: Callable[[str], io.StringIO],
) -> None:
    stream = installed("json")
    log = logging.getLogger("tests.json")
    log.info("token %s", SECRET)
    log.warning("GET https://x.example/items?key=%s failed", quote(SECRET, safe=""))
    try:
        raise RuntimeError(f"upstream answered 401 for Basic {b64('bot:' + SECRET)}")
    except RuntimeError:
        log.exception("the call failed")
    log.info("with extras", extra={"url": f"https://x.example/?t={SECRET}", "n": 3})
    log.info("a mapping: %s", {"password": SECRET})

    lines = json_lines(stream)
    assert [line["level"] for line in lines] == ["INFO", "WARNING", "ERROR", "INFO", "INFO"]
    output = stream.getvalue()
    for form in (SECRET, quote(SECRET, safe=""), b64("bot:" + SECRET), json.dumps(SECRET)[1:-1]):
        assert form not in output
    assert lines[0]["message"] == f"token {MASK}"
    assert lines[1]["message"] == f"GET https://x.example/items?key={MASK} failed"
    assert lines[2]["message"] == "the call failed"
    assert lines[2]["exc_info"].startswith("Traceback (most recent call last):")
    assert lines[2]["exc_info"].endswith(f"RuntimeError: upstream answered 401 for Basic {MASK}")
    assert lines[3]["url"] == f"https://x.example/?t={MASK}"
    assert lines[3]["n"] == 3
    assert lines[4]["message"] == f"a mapping: {{'password': '{MASK}'}}"
    for line in lines:
        assert list(line)[:4] == ["time", "level", "logger", "message"]
        assert line["logger"] == "tests.json"
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)


def test_text_lines_keep_their_look_with_the_bound_context_appended(
    installed: Callable[[str], io.StringIO],
) -> None:
    stream = installed("text")
    log = logging.getLogger("tests.text")
    with bound(source="hacknplan", delivery="b12:card"):
        log.info("posted %s", SECRET)
    log.info("no context")
    first, second = stream.getvalue().splitlines()
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} INFO    tests.text: posted {re.escape(MASK)}"
        r" \[source=hacknplan delivery=b12:card\]",
        first,
    )
    assert second.endswith("INFO    tests.text: no context")


def test_json_lines_carry_the_context_bound_where_the_line_was_written(
    installed: Callable[[str], io.StringIO],
) -> None:
    stream = installed("json")
    log = logging.getLogger("tests.context")

    async def deliver() -> None:
        with bound(delivery="b7:card"):
            log.info("inside")
        log.info("after")

    async def scenario() -> None:
        with bound(platform="discord", source="hacknplan"):
            task = asyncio.create_task(deliver())  # the task inherits what was bound
        with bound(command="suggest"):
            log.info("elsewhere")
        await task

    asyncio.run(scenario())
    log.info("outside", extra={"source": "explicit"})
    lines = {line["message"]: line for line in json_lines(stream) if line["logger"] == log.name}
    context = {m: {k: v for k, v in line.items() if k in FIELDS} for m, line in lines.items()}
    assert context == {
        "elsewhere": {"command": "suggest"},
        "inside": {"platform": "discord", "source": "hacknplan", "delivery": "b7:card"},
        "after": {"platform": "discord", "source": "hacknplan"},
        "outside": {"source": "explicit"},
    }


def test_libraries_and_warnings_log_through_the_same_json_lines(
    installed: Callable[[str], io.StringIO],
) -> None:
    stream = installed("json")
    logging.getLogger("discord.client").warning("voice is not supported")
    logging.getLogger("httpx").info("below the cap: not written")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("something is deprecated", DeprecationWarning, stacklevel=1)
    lines = json_lines(stream)
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("discord.client", "WARNING"),
        ("py.warnings", "WARNING"),
    ]
    assert "DeprecationWarning: something is deprecated" in lines[1]["message"]


def test_a_record_that_cannot_be_written_still_gives_a_json_line(
    installed: Callable[[str], io.StringIO],
) -> None:
    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

        __str__ = __repr__

    stream = installed("json")
    logging.getLogger("tests.broken").warning("odd", extra={"value": Unprintable()})
    logging.getLogger("tests.broken").warning("%d items", "many")
    lines = json_lines(stream)
    assert len(lines) == 2
    assert all(line["logger"] == "tests.broken" for line in lines)
    assert lines[0]["message"] == "(a log line that could not be written)"
    assert "many" in lines[1]["message"]
