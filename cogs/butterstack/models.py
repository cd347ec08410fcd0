"""ButterStack's builds, deployments and changelists, read defensively.

ButterStack's reference shows a build without its platform or configuration
and documents no list envelope, so every field is optional here, statuses are
kept as the service spells them (lower-cased), and a list answer may be a bare
array or an object holding one (`{"builds": [...]}`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

PENDING, RUNNING, SUCCESS, FAILED = "pending", "running", "success", "failed"
OPEN_BUILD = (PENDING, RUNNING)
# Deployment statuses that are on their way to an outcome: such deployments are
# watched closely. ButterStack documents only `live`; these are the usual words.
OPEN_DEPLOYMENT = (
    "pending",
    "queued",
    "deploying",
    "in_progress",
    "running",
    "uploading",
    "rolling_out",
)


def text(data: Mapping[str, Any], *keys: str) -> str | None:
    """The first of `keys` holding a non-empty scalar, as text."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            return str(value)
    return None


def when(value: Any) -> datetime | None:
    """An ISO 8601 time (`2026-12-15T14:30:00Z`) or epoch seconds, as an aware datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def items(body: Any, key: str) -> list[dict[str, Any]]:
    """The objects of a list answer: a bare array, or `{key: [...]}` (or `data`)."""
    if isinstance(body, Mapping):
        body = body.get(key, body.get("data"))
    if not isinstance(body, list):
        return []
    return [entry for entry in body if isinstance(entry, dict) and text(entry, "id")]


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    size_bytes: int | None
    url: str | None


@dataclass(frozen=True, slots=True)
class Build:
    id: str
    project_id: str | None
    status: str
    platform: str | None
    configuration: str | None
    branch: str | None
    changelist: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    artifacts: tuple[Artifact, ...]
    url: str | None
    created_at: datetime | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Build:
        artifacts = tuple(
            Artifact(
                name=text(a, "name", "filename") or "artifact",
                size_bytes=int(size) if (size := number(a.get("size_bytes"))) is not None else None,
                url=text(a, "url", "download_url"),
            )
            for a in data.get("artifacts") or []
            if isinstance(a, Mapping)
        )
        return cls(
            id=text(data, "id") or "",
            project_id=text(data, "project_id"),
            status=(text(data, "status") or "unknown").lower(),
            platform=text(data, "platform"),
            configuration=text(data, "configuration", "config"),
            branch=text(data, "branch", "stream"),
            changelist=text(data, "changelist", "changelist_number"),
            started_at=when(data.get("started_at")),
            finished_at=when(data.get("finished_at")),
            duration_seconds=number(data.get("duration_seconds")),
            artifacts=artifacts,
            url=text(data, "url", "web_url", "html_url"),
            created_at=when(data.get("created_at")),
        )

    def to_json(self) -> dict[str, Any]:
        """The build as ButterStack spells it, so `parse` reads it back (for storage)."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "status": self.status,
            "platform": self.platform,
            "configuration": self.configuration,
            "branch": self.branch,
            "changelist": self.changelist,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": self.duration_seconds,
            "artifacts": [
                {"name": a.name, "size_bytes": a.size_bytes, "url": a.url} for a in self.artifacts
            ],
            "url": self.url,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_BUILD

    def elapsed(self, now: datetime) -> float | None:
        """Seconds the build ran: its duration when finished, else since it started."""
        if self.duration_seconds is not None and not self.is_open:
            return self.duration_seconds
        if self.started_at is None:
            return None
        end = self.finished_at or now
        return max(0.0, (end - self.started_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Deployment:
    id: str
    project_id: str | None
    build_id: str | None
    platform: str | None
    status: str
    branch: str | None
    deployed_at: datetime | None
    url: str | None
    created_at: datetime | None = None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Deployment:
        return cls(
            id=text(data, "id") or "",
            project_id=text(data, "project_id"),
            build_id=text(data, "build_id"),
            platform=text(data, "platform"),
            status=(text(data, "status") or "unknown").lower(),
            branch=text(data, "branch"),
            deployed_at=when(data.get("deployed_at") or data.get("created_at")),
            url=text(data, "url", "web_url"),
            created_at=when(data.get("created_at")),
        )

    def to_json(self) -> dict[str, Any]:
        """The deployment as ButterStack spells it, so `parse` reads it back."""
        return {
            "id": self.id,
            "project_id": self.project_id,
            "build_id": self.build_id,
            "platform": self.platform,
            "status": self.status,
            "branch": self.branch,
            "deployed_at": self.deployed_at.isoformat() if self.deployed_at else None,
            "url": self.url,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DEPLOYMENT


class Dated(Protocol):
    """Anything `newest_first` can sort."""

    @property
    def created_at(self) -> datetime | None: ...


Listed = TypeVar("Listed", bound=Dated)


def newest_first(items: Iterable[Listed]) -> list[Listed]:
    """Newest created first. ButterStack does not document the order of its lists, so
    Herald sorts them; those without a readable creation time follow, in the order given
    (taken as older: an item wrongly seen as newest would hide everything after it)."""
    listed = list(items)
    dated = sorted(
        (i for i in listed if i.created_at is not None),
        key=lambda i: i.created_at or datetime.min.replace(tzinfo=UTC),
        reverse=True,
    )
    return dated + [i for i in listed if i.created_at is None]


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    action: str | None


@dataclass(frozen=True, slots=True)
class Changelist:
    id: str
    number: str
    author: str | None
    description: str | None
    submitted_at: datetime | None
    files: tuple[ChangedFile, ...]

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Changelist:
        files = tuple(
            ChangedFile(path, text(f, "action"))
            for f in data.get("files") or []
            if isinstance(f, Mapping) and (path := text(f, "path", "depot_path"))
        )
        identifier = text(data, "id") or ""
        return cls(
            id=identifier,
            number=text(data, "number") or identifier.removeprefix("cl_"),
            author=text(data, "author", "user"),
            description=text(data, "description"),
            submitted_at=when(data.get("submitted_at")),
            files=files,
        )

    def to_json(self) -> dict[str, Any]:
        """The changelist as ButterStack spells it, so `parse` reads it back."""
        return {
            "id": self.id,
            "number": self.number,
            "author": self.author,
            "description": self.description,
            "submitted_at": self.submitted_at.isoformat() if self.submitted_at else None,
            "files": [{"path": f.path, "action": f.action} for f in self.files],
        }
