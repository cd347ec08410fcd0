"""Logging set-up: one line per record on stderr, as text or JSON (`LOG_FORMAT`), with
the context bound where the work began, and every configured secret masked out.

Secrets are masked twice: in the record (its message and traceback), before
any handler sees it, and in the finished line, so whatever a formatter adds
(a library's `extra` fields, a traceback formatted late) is masked too.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from pythonjsonlogger.json import JsonFormatter

from bot.logcontext import BindContext, describe

MASK = "********"
_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
UNWRITABLE = "(a log line that could not be written)"
QUIET = (
    "httpx",
    "httpcore",
    "discord.gateway",
    "discord.http",
    "aiohttp.access",
    "slack_sdk",
    "slack_bolt",
    "aiosqlite",
)
"""Libraries that log request details (and so credentials) below WARNING, or every SQL
statement with its values."""

# Runs that may be base64 (standard or URL-safe, padded or not), such as a Basic
# auth header's `dXNlcjpzZWNyZXQ=`: decoded, they may hide a secret.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


class RedactSecrets(logging.Filter):
    """Replaces known secret values wherever they appear in a log line.

    A second line of defence: code should not log secrets in the first place,
    but an exception message or a library's debug output might carry one,
    as it is, percent-encoded (in a URL or form) or in base64 (a Basic auth
    header, where it may be the user or the password). A filter must never
    fail the logging call: whatever goes wrong, the record is still logged.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._forms: list[str] = []

    def add(self, secrets: Iterable[str]) -> None:
        self._secrets.update(s for s in secrets if len(s) >= 4)
        forms = {form for s in self._secrets for form in _encodings(s)}
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: no partial masks

    def redact(self, text: str) -> str:
        if not self._secrets:
            return text
        for form in self._forms:
            text = text.replace(form, MASK)
        return _BASE64_RUN.sub(self._masked_if_hiding, text)

    def redact_all(self, value: Any) -> Any:
        """`value` with every string in it redacted, through dicts and lists (keys too);
        a value that is not JSON's own kind (nor a datetime) becomes its redacted `str`."""
        if isinstance(value, str):
            return self.redact(value)
        if value is None or isinstance(value, bool | int | float | datetime):
            return value
        if isinstance(value, Mapping):
            return {self.redact(str(k)): self.redact_all(v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact_all(item) for item in value]
        return self.redact(str(value))

    def _masked_if_hiding(self, match: re.Match[str]) -> str:
        decoded = _decoded(match.group())
        hides = decoded is not None and any(s in decoded for s in self._secrets)
        return MASK if hides else match.group()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            self._redact_record(record)
        except Exception:  # a log line must never fail its caller
            record.msg, record.args = "(a log line that could not be checked for secrets)", None
            record.exc_info, record.exc_text = None, None
        return True

    def _redact_record(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # the caller's arguments do not fit its format
            message = f"{record.msg} (arguments that did not fit: {record.args!r})"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = self.redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)


def _encodings(secret: str) -> set[str]:
    """The forms a secret takes in URLs, forms and headers (besides Basic auth pairs)."""
    raw = secret.encode()
    escaped = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    lower = {_PERCENT_ESCAPE.sub(lambda m: m.group().lower(), e) for e in escaped}
    coded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {secret, *escaped, *lower, *coded, *(c.rstrip("=") for c in coded)}


def _decoded(run: str) -> str | None:
    """`run` decoded from base64 (either alphabet), or None when it is not base64 text."""
    padded = run.rstrip("=") + "=" * (-len(run.rstrip("=")) % 4)
    try:
        data = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data.decode("utf-8", errors="ignore")


redactor = RedactSecrets()


class TextLines(logging.Formatter):
    """`time LEVEL logger: message [context]`, then any traceback; secrets masked."""

    def __init__(self) -> None:
        super().__init__(_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record) + describe(record)

    def format(self, record: logging.LogRecord) -> str:
        try:
            return redactor.redact(super().format(record))
        except Exception:  # a log line must never fail its caller
            return f"{record.levelname} {record.name}: {UNWRITABLE}"


class JsonLines(JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the bound
    context, any `extra` fields and `exc_info` (the traceback); secrets masked in each."""

    def __init__(self) -> None:
        super().__init__(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        ordered = {"time": log_data.pop("time"), **log_data}
        masked: dict[str, Any] = redactor.redact_all(ordered)
        return masked

    def format(self, record: logging.LogRecord) -> str:
        try:
            return super().format(record)
        except Exception:  # a log line must never fail its caller, nor stop being JSON
            time = datetime.fromtimestamp(record.created, tz=UTC).isoformat()
            fallback = {"time": time, "level": record.levelname, "logger": record.name}
            return json.dumps({**fallback, "message": UNWRITABLE})


def logs_as_json() -> bool:
    """Whether `setup_logging` made the log JSON lines."""
    return any(isinstance(h.formatter, JsonLines) for h in logging.getLogger().handlers)


LOG_FORMATS: dict[str, type[logging.Formatter]] = {"text": TextLines, "json": JsonLines}


def setup_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr at `level` in `log_format` (`text` or `json`), with the bound context
    and secrets masked, for Herald and every library alike (warnings included); quiet the
    chattier libraries."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LOG_FORMATS[log_format]())
    handler.addFilter(BindContext())
    handler.addFilter(redactor)
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
