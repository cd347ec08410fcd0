"""BugHerd webhook events as neutral `Event`s.

BugHerd sends one webhook per event and its bodies do not name the event, so
each event has its own URL and the kind comes from the path: `task_create`,
`task_update` and `task_destroy` keep the task's one card current (a
destroyed task's card is marked deleted); `comment` is a line in the thread
under it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.events import Attributes, Event, Mode
from bot.i18n import N_, _
from bot.models import Card, Colour
from bot.payload import ident, obj, text, when
from bot.text import escape, escape_inline, link, truncate
from bot.webhooks import BadDelivery

SOURCE = "bugherd"
LABEL = "BugHerd"
KINDS = ("task_create", "task_update", "task_destroy", "comment")
ATTRIBUTES = ("status", "priority", "tag", "assignee", "project", "site")
# What happened to a task, alone and with who did it (`{actor}`); translated where shown.
LINES = {
    "task_create": (N_("🐞 reported"), N_("🐞 reported by {actor}")),
    "task_update": (N_("✏️ updated"), N_("✏️ updated by {actor}")),
    "task_destroy": (N_("🗑 deleted"), N_("🗑 deleted by {actor}")),
}

NameLookup = Callable[[str], Awaitable[str | None]]
TaskLookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]


def check(kind: str, body: dict[str, Any]) -> None:
    """Raise `BadDelivery` when a body lacks what its event needs."""
    wrapper = "comment" if kind == "comment" else "task"
    if ident(body, wrapper, "id") is None:
        raise BadDelivery(f"a BugHerd {kind} body needs {wrapper}.id")
    if kind == "comment" and _task_id(obj(body, "comment")) is None:
        raise BadDelivery("a BugHerd comment body needs its task (comment.task.id)")


class BugHerdEvents:
    def __init__(self, project_name: NameLookup, task: TaskLookup) -> None:
        self._project_name = project_name
        self._task = task

    async def normalise(self, kind: str, body: dict[str, Any]) -> Event | None:
        if kind == "comment":
            return await self._comment(body)
        if kind in LINES:
            return await self._task_event(kind, obj(body, "task"))
        return None

    async def _task_event(self, kind: str, task: dict[str, Any]) -> Event:
        project = ident(task, "project_id")
        project_label = text(task, "project_name") or await self._project(project)
        title = _title(task)
        url = _task_url(task)
        actor = _person(obj(task, "updater")) if kind != "task_create" else None
        actor = actor or _person(obj(task, "requester")) or text(task, "requester_email")
        card = Card(
            title=escape(_("🗑 Deleted: {title}", title=title) if kind == "task_destroy" else title),
            url=url,
            description=_excerpt(text(task, "description"), 400),
            colour=Colour.NEUTRAL if kind == "task_destroy" else Colour.ORANGE,
            author=actor,
            footer=" · ".join(p for p in (LABEL, project_label, kind) if p),
            timestamp=when(task, "updated_at") or when(task, "created_at") or datetime.now(UTC),
        )
        status = text(task, "status") or "feedback"
        tags = _tags(task)
        assignee = _person(obj(task, "assigned_to"))
        card.add_field(_("Status"), escape(status))
        card.add_field(_("Priority"), escape(text(task, "priority") or ""))
        card.add_field(_("Assigned"), escape(assignee or ""))
        card.add_field(_("Tags"), escape(", ".join(tags)))
        page = text(task, "url")
        if page and page.startswith(("http://", "https://")):
            card.add_field(_("Page"), link(truncate(page, 200), page), inline=False)
        alone, by = LINES[kind]
        line = _(by, actor=escape_inline(actor)) if actor else _(alone)
        return Event(
            source=SOURCE,
            kind=kind,
            card=card,
            line=line,
            item=_task_key(project, ident(task, "id")),
            title=title,
            url=url,
            mode=Mode.CARD,
            attributes=_attributes(task, project_label, unknown_status="feedback"),
        )

    async def _comment(self, body: dict[str, Any]) -> Event:
        comment = obj(body, "comment")
        task = obj(comment, "task")
        task_id = _task_id(comment)
        project = ident(task, "project_id") or ident(comment, "project_id")
        if text(task, "description") is None and project and task_id:
            task = await self._task(project, task_id) or task
        who = _person(obj(comment, "user")) or _("someone")
        said = escape_inline(truncate(text(comment, "text") or "", 280))
        line = _("💬 **{who}**: {said}", who=escape_inline(who), said=said)
        title = _title(task) if task else _("Task {task}", task=task_id)
        project_label = text(task, "project_name") or await self._project(project)
        card = Card(
            title=escape(title),
            url=_task_url(task),
            description=line,
            colour=Colour.ACCENT,
            author=who,
            footer=" · ".join(p for p in (LABEL, project_label, "comment") if p),
            timestamp=when(comment, "created_at") or datetime.now(UTC),
        )
        return Event(
            source=SOURCE,
            kind="comment",
            card=card,
            line=line,
            item=_task_key(project, task_id),
            title=title,
            url=card.url,
            mode=Mode.FOLLOW_UP,
            attributes=_attributes(task, project_label, unknown_status=None),
        )

    async def _project(self, project: str | None) -> str | None:
        return await self._project_name(project) if project else None


def _attributes(
    task: dict[str, Any], project_label: str | None, unknown_status: str | None
) -> Attributes:
    """What `where` can filter on; a task in BugHerd's feedback panel has no status."""
    assignee = _person(obj(task, "assigned_to"))
    status = text(task, "status") or unknown_status
    attributes: Attributes = {
        "status": [status] if status else [],
        "priority": [p] if (p := text(task, "priority")) else [],
        "tag": _tags(task),
        "assignee": [assignee] if assignee else [],
        "project": [project_label] if project_label else [],
        "site": [s] if (s := text(task, "site")) else [],
    }
    return {k: v for k, v in attributes.items() if v}


def _title(task: dict[str, Any]) -> str:
    number = ident(task, "local_task_id") or ident(task, "id") or "?"
    words = text(task, "title") or (text(task, "description") or "").strip().split("\n")[0]
    return (
        f"#{number} {truncate(words, 120)}".strip() if words else _("Task #{number}", number=number)
    )


def _task_url(task: dict[str, Any]) -> str | None:
    for key in ("admin_link", "secret_link"):
        url = text(task, key)
        if url and url.startswith("https://"):
            return url
    return None


def _task_id(comment: dict[str, Any]) -> str | None:
    return ident(comment, "task", "id") or ident(comment, "task_id")


def _task_key(project: str | None, task: str | None) -> str:
    return f"{SOURCE}:{project or '?'}:task:{task or '?'}"


def _person(user: dict[str, Any]) -> str | None:
    return text(user, "display_name") or text(user, "name") or text(user, "email")


def _tags(task: dict[str, Any]) -> list[str]:
    tags = task.get("tag_names")
    return [str(t) for t in tags if isinstance(t, str | int)] if isinstance(tags, list) else []


def _excerpt(value: str | None, limit: int) -> str | None:
    return escape(truncate(value, limit)) if value else None
