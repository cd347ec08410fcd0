"""Subscription filters: which of a service's events a channel wants.

`events` and `exclude` are comma-separated globs over event kinds
(`workitem.*`, `board.closed`); an `events` entry written `!glob` excludes
too. `where` holds `key:value` conditions on the event's attributes
(`category:Art, board:Sprint 4, tag:ui`): conditions on the same key are
alternatives, conditions on different keys must all hold. Values compare
case-insensitively and may be globs (`board:Sprint*`). An event lacking the
attribute does not match a condition on it.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.errors import UserError
from bot.events import Event, Source
from bot.i18n import _

_GLOB = re.compile(r"^[a-z0-9_.*?\[\]-]+$")


@dataclass(frozen=True, slots=True)
class Filter:
    events: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    where: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(
        cls,
        source: Source,
        events: str | None = None,
        exclude: str | None = None,
        where: str | None = None,
    ) -> Filter:
        """Read the /subscribe options, or raise `UserError` saying what to fix."""
        include: list[str] = []
        excluded: list[str] = []
        for glob in _split(events):
            (excluded if glob.startswith("!") else include).append(glob.lstrip("!"))
        excluded.extend(g.lstrip("!") for g in _split(exclude))
        for glob in (*include, *excluded):
            _check_glob(source, glob)
        conditions = tuple(_condition(source, text) for text in _split(where))
        return cls(tuple(include), tuple(excluded), conditions)

    def matches(self, event: Event) -> bool:
        kind = event.kind.lower()
        if self.events and not any(fnmatch.fnmatchcase(kind, g) for g in self.events):
            return False
        if any(fnmatch.fnmatchcase(kind, g) for g in self.exclude):
            return False
        wanted: dict[str, list[str]] = {}
        for key, pattern in self.where:
            wanted.setdefault(key, []).append(pattern)
        for key, patterns in wanted.items():
            values = [v.lower() for v in event.attributes.get(key, [])]
            if not any(fnmatch.fnmatchcase(v, p) for v in values for p in patterns):
                return False
        return True

    def describe(self) -> str:
        """The filter in words, with patterns as code (`events `workitem.*` except …`)."""
        parts = [
            _("events {patterns}", patterns=_code(self.events)) if self.events else _("all events")
        ]
        if self.exclude:
            parts.append(_("except {patterns}", patterns=_code(self.exclude)))
        if self.where:
            conditions = _code(f"{k}:{v}" for k, v in self.where)
            parts.append(_("where {conditions}", conditions=conditions))
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": list(self.events),
            "exclude": list(self.exclude),
            "where": [list(c) for c in self.where],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Filter:
        return cls(
            tuple(data.get("events") or ()),
            tuple(data.get("exclude") or ()),
            tuple((k, v) for k, v in data.get("where") or ()),
        )


def _code(patterns: Iterable[str]) -> str:
    return ", ".join("`" + p.replace("`", "'") + "`" for p in patterns)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _check_glob(source: Source, glob: str) -> None:
    if not _GLOB.match(glob.lower()):
        raise UserError(
            _(
                "`{pattern}` is not an event pattern: use event kinds and globs such as"
                " `workitem.*` or `board.closed`, separated by commas.",
                pattern=glob,
            )
        )
    if not source.kinds_matching(glob):
        families = sorted({k.split(".")[0] + (".*" if "." in k else "") for k in source.kinds})
        raise UserError(
            _(
                "No {service} event matches `{pattern}`. Its events: {kinds}.",
                service=source.label,
                pattern=glob,
                kinds=", ".join(families),
            )
        )


def _condition(source: Source, text: str) -> tuple[str, str]:
    key, colon, value = text.partition(":")
    key, value = key.strip().lower(), value.strip().lower()
    if not colon or not key or not value:
        raise UserError(
            _(
                "`{text}` is not a condition: write key:value, such as {key}:done.",
                text=text,
                key=source.attributes[0] if source.attributes else "status",
            )
        )
    if key not in source.attributes:
        raise UserError(
            _(
                "{service} events cannot be filtered on `{key}`; use one of: {keys}.",
                service=source.label,
                key=key,
                keys=", ".join(source.attributes),
            )
        )
    return key, value
