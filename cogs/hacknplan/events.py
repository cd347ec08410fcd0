"""HacknPlan webhook events as neutral `Event`s.

Every family in HacknPlan's webhook list is covered: work items (created,
updated, deleted, blocked, unblocked, assigned and unassigned) edit the work
item's one card; comments, subtasks, worklogs, dependencies and attachments
are follow-up lines in the thread under it; milestones, boards, design
elements and the project keep a card each; project users are one-off posts.
Metadata events (categories, stages, tags, roles, importance levels) are
stored but not announced.

Bodies are read defensively: a field may be missing, nested under
`WorkItem`, or camelCased; the card shows what there is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.events import Attributes, Event, KnownItem, Mode
from bot.i18n import N_, _, format_day, format_number
from bot.models import Card, Colour
from bot.payload import get, ident, names, obj, objects, text, when
from bot.text import escape, escape_inline, link, truncate
from bot.webhooks import BadDelivery

SOURCE = "hacknplan"
LABEL = "HacknPlan"

KINDS = (
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.blocked",
    "workitem.unblocked",
    "workitem.user.assigned",
    "workitem.user.unassigned",
    "workitem.comment.created",
    "workitem.comment.updated",
    "workitem.comment.deleted",
    "workitem.subtask.created",
    "workitem.subtask.updated",
    "workitem.subtask.deleted",
    "workitem.worklog.created",
    "workitem.worklog.updated",
    "workitem.worklog.deleted",
    "workitem.dependency.added",
    "workitem.dependency.removed",
    "workitem.attachment.added",
    "workitem.attachment.removed",
    "milestone.created",
    "milestone.updated",
    "milestone.deleted",
    "milestone.closed",
    "milestone.reopened",
    "board.created",
    "board.updated",
    "board.deleted",
    "board.closed",
    "board.reopened",
    "designelement.created",
    "designelement.updated",
    "designelement.deleted",
    "projectuser.added",
    "projectuser.updated",
    "projectuser.left",
    "projectuser.removed",
    "project.updated",
    "project.closed",
    "project.reopened",
)
FAMILIES = frozenset(k.rpartition(".")[0] for k in KINDS)
ATTRIBUTES = (
    "category",
    "stage",
    "board",
    "milestone",
    "tag",
    "assignee",
    "importance",
    "type",
    "project",
)

COLOURS = {
    "workitem": Colour.INFO,
    "workitem.user": Colour.INFO,
    "workitem.comment": Colour.ACCENT,
    "workitem.subtask": Colour.TEAL,
    "workitem.worklog": Colour.NAVY,
    "workitem.dependency": Colour.BROWN,
    "workitem.attachment": Colour.ORANGE,
    "milestone": Colour.WARN,
    "board": Colour.OK,
    "designelement": Colour.PINK,
    "projectuser": Colour.TEAL,
    "project": Colour.NAVY,
}
# The id each family's body must carry (besides the project) to be read at all.
REQUIRED = {
    "workitem": "WorkItemId",
    "milestone": "MilestoneId",
    "board": "BoardId",
    "designelement": "DesignElementId",
    "projectuser": "User",
}
# What happened, alone and with who did it (`{actor}`); translated where shown.
VERBS = {
    "created": (N_("🆕 created"), N_("🆕 created by {actor}")),
    "updated": (N_("✏️ updated"), N_("✏️ updated by {actor}")),
    "deleted": (N_("🗑 deleted"), N_("🗑 deleted by {actor}")),
    "closed": (N_("🔒 closed"), N_("🔒 closed by {actor}")),
    "reopened": (N_("🔓 reopened"), N_("🔓 reopened by {actor}")),
    "blocked": (N_("⛔ blocked"), N_("⛔ blocked by {actor}")),
    "unblocked": (N_("✅ unblocked"), N_("✅ unblocked by {actor}")),
}
# What happened to a project user, `{who}` being them.
PROJECT_USER = {
    "added": N_("{who} joined the project"),
    "updated": N_("{who} had their project role updated"),
    "left": N_("{who} left the project"),
    "removed": N_("{who} was removed from the project"),
}
ACTOR_FIELDS = ("Actor", "ModifiedBy", "UpdatedBy", "ChangedBy", "Author")

WorkItemLookup = Callable[[str, str], Awaitable[dict[str, Any] | None]]
NameLookup = Callable[[str], Awaitable[str | None]]
KnownLookup = Callable[[str], Awaitable[KnownItem | None]]


def check(kind: str, body: dict[str, Any]) -> None:
    """Raise `BadDelivery` when a body Herald announces lacks what its family needs.

    Kinds Herald does not announce are stored as they come.
    """
    if kind.rpartition(".")[0] not in FAMILIES:
        return
    family = kind.split(".")[0]
    needed = REQUIRED.get(family)
    if family == "project":
        needed = "Id" if get(body, "Id") is not None else "ProjectId"
    if needed is None:
        return
    found = get(body, needed)
    if found is None and family == "workitem":
        found = get(body, "WorkItem", needed)
    if found in (None, "", {}):
        raise BadDelivery(f"{kind} body has no {needed}")


@dataclass(frozen=True, slots=True)
class Links:
    """Where HacknPlan's web app shows things (its URLs are not documented: best effort)."""

    app_url: str

    def project(self, project: str | None) -> str | None:
        return f"{self.app_url}/p/{project}" if project else None

    def work_item(self, project: str | None, item: str, board: str | None) -> str | None:
        if not project:
            return None
        board_part = f"boardId={board}&" if board else ""
        return f"{self.app_url}/p/{project}/kanban?{board_part}taskId={item}"

    def board(self, project: str | None, board: str) -> str | None:
        return f"{self.app_url}/p/{project}/kanban?boardId={board}" if project else None


class HacknPlanEvents:
    """Turns a stored webhook delivery into an `Event` (the `Source.normalise`)."""

    def __init__(
        self,
        links: Links,
        known: KnownLookup,
        work_item: WorkItemLookup,
        project_name: NameLookup,
    ) -> None:
        self.links = links
        self._known = known
        self._work_item = work_item
        self._project_name = project_name

    async def normalise(self, kind: str, body: dict[str, Any]) -> Event | None:
        family, _dot, verb = kind.rpartition(".")
        if family.startswith("workitem.") and family != "workitem.user":
            return await self._follow_up(kind, family, verb, body)
        if family in ("workitem", "workitem.user"):
            return await self._work_item_event(kind, family, verb, body)
        if family in ("milestone", "board", "designelement", "project"):
            return await self._thing(kind, family, verb, body)
        if family == "projectuser":
            return await self._project_user(kind, verb, body)
        return None

    # --- work items -----------------------------------------------------------

    async def _work_item_event(
        self, kind: str, family: str, verb: str, body: dict[str, Any]
    ) -> Event:
        item = obj(body, "WorkItem") or body
        project = ident(item, "ProjectId") or ident(body, "ProjectId")
        number = ident(item, "WorkItemId") or ident(body, "WorkItemId") or "?"
        is_item = text(item, "Title") is not None
        if not is_item and project:
            item = await self._work_item(project, number) or item
        actor = _actor(body) or (user_name(obj(item, "User")) if verb == "created" else None)
        if family == "workitem.user" and is_item:
            # The body is the work item: its User is the creator, not who was assigned;
            # the new assignee list (and the change, once known) is on the card.
            line = _("👤 assignees changed")
        elif family == "workitem.user":
            who = escape_inline(user_name(obj(body, "User")) or _("someone"))
            line = (
                _("👤 {who} unassigned", who=who)
                if verb == "unassigned"
                else _("👤 assigned to {who}", who=who)
            )
        else:
            line = _verb_line(verb, actor)
        if text(item, "Title") is None:
            return await self._follow_up_event(kind, family, project, number, line, body)
        event = await self._work_item_card(kind, family, project, number, item, actor)
        event.line = line
        if verb == "deleted":
            event.card.title = escape(_("🗑 Deleted: {title}", title=event.title))
            event.card.colour = Colour.NEUTRAL
        elif verb == "blocked" or get(item, "IsBlocked") is True:
            event.card.colour = Colour.ERROR
        return event

    async def _work_item_card(
        self,
        kind: str,
        family: str,
        project: str | None,
        number: str,
        item: dict[str, Any],
        actor: str | None,
    ) -> Event:
        board = obj(item, "Board")
        title = f"#{number} {text(item, 'Title')}"
        url = self.links.work_item(project, number, ident(board, "BoardId"))
        assignees = [n for n in (user_name(u) for u in objects(item, "AssignedUsers")) if n]
        card = Card(
            title=escape(title),
            url=url,
            description=_excerpt(text(item, "Description"), 400),
            colour=COLOURS[family],
            author=actor,
            footer=await self._footer(project, kind),
            timestamp=when(item, "UpdateDate") or when(item, "CreationDate") or _now(),
        )
        card.add_field(_("Stage"), escape(text(item, "Stage", "Name") or ""))
        card.add_field(_("Category"), escape(text(item, "Category", "Name") or ""))
        card.add_field(_("Board"), escape(text(board, "Name") or ""))
        card.add_field(_("Assigned"), escape(", ".join(assignees)))
        card.add_field(_("Importance"), escape(text(item, "ImportanceLevel", "Name") or ""))
        card.add_field(_("Estimate"), _hours(get(item, "EstimatedCost")))
        card.add_field(_("Logged"), _hours(get(item, "LoggedCost")))
        card.add_field(_("Tags"), escape(", ".join(names(item, "Tags"))))
        card.add_field(_("Design element"), escape(text(item, "DesignElement", "Name") or ""))
        card.add_field(_("Due"), _date(when(item, "DueDate")))
        if get(item, "IsBlocked") is True:
            card.add_field(_("Blocked"), _("yes"))
        attributes = _work_item_attributes(item)
        attributes.update(_attributes(project=await self._project_label(project)))
        return Event(
            source=SOURCE,
            kind=kind,
            card=card,
            line="",
            item=_work_item_key(project, number),
            title=title,
            url=url,
            mode=Mode.CARD,
            attributes=attributes,
        )

    # --- follow-ups under a work item -----------------------------------------

    async def _follow_up(self, kind: str, family: str, verb: str, body: dict[str, Any]) -> Event:
        project = ident(body, "ProjectId") or ident(body, "WorkItem", "ProjectId")
        number = ident(body, "WorkItemId") or ident(body, "WorkItem", "WorkItemId") or "?"
        line = _follow_up_line(family, verb, body)
        return await self._follow_up_event(kind, family, project, number, line, body)

    async def _follow_up_event(
        self,
        kind: str,
        family: str,
        project: str | None,
        number: str,
        line: str,
        body: dict[str, Any],
    ) -> Event:
        """A line under the work item; its card (should it be the first) names the item."""
        key = _work_item_key(project, number)
        nested = obj(body, "WorkItem")
        title = f"#{number} {text(nested, 'Title')}" if text(nested, "Title") else None
        url: str | None = None
        if title is None and (known := await self._known(key)) is not None:
            title, url = known.title, known.url
        attributes = _attributes(project=await self._project_label(project))
        if title is None and project and (fetched := await self._work_item(project, number)):
            title = f"#{number} {text(fetched, 'Title') or ''}".strip()
            url = self.links.work_item(project, number, ident(fetched, "Board", "BoardId"))
            attributes.update(_work_item_attributes(fetched))
        title = title or _("Work item #{number}", number=number)
        url = url or self.links.work_item(project, number, None)
        card = Card(
            title=escape(title),
            url=url,
            description=line,
            colour=COLOURS.get(family, Colour.INFO),
            author=_actor(body) or user_name(obj(body, "User")),
            footer=await self._footer(project, kind),
            timestamp=when(body, "UpdateDate") or when(body, "CreationDate") or _now(),
        )
        return Event(
            source=SOURCE,
            kind=kind,
            card=card,
            line=line,
            item=key,
            title=title,
            url=url,
            mode=Mode.FOLLOW_UP,
            attributes=attributes,
        )

    # --- milestones, boards, design elements, the project ---------------------

    async def _thing(self, kind: str, family: str, verb: str, body: dict[str, Any]) -> Event:
        project = ident(body, "ProjectId") or (ident(body, "Id") if family == "project" else None)
        name = text(body, "Name")
        project_label = await self._project_label(project)
        card = Card(
            colour=Colour.NEUTRAL if verb == "deleted" else COLOURS[family],
            author=_actor(body) or user_name(obj(body, "Creator")),
            footer=await self._footer(project, kind),
            timestamp=when(body, "UpdateDate") or when(body, "CreationDate") or _now(),
        )
        attributes = _attributes(project=project_label)
        if family == "milestone":
            number = ident(body, "MilestoneId") or "?"
            title = _("🏁 Milestone: {name}", name=name or number)
            url = self.links.project(project)
            card.description = _excerpt(text(body, "GeneralInfo"), 400)
            attributes.update(_attributes(milestone=name))
        elif family == "board":
            number = ident(body, "BoardId") or "?"
            title = _("📋 Board: {name}", name=name or number)
            url = self.links.board(project, number)
            card.description = _excerpt(text(body, "Description"), 400)
            attributes.update(_attributes(board=name))
        elif family == "designelement":
            number = ident(body, "DesignElementId") or "?"
            kind_name = text(body, "Type", "Name")
            title = (
                _("🎨 {type}: {name}", type=kind_name, name=name or number)
                if kind_name
                else _("🎨 Design element: {name}", name=name or number)
            )
            url = self.links.project(project)
            card.description = _excerpt(text(body, "Description"), 400)
            card.add_field(_("Parent"), escape(text(body, "Parent", "Name") or ""))
            attributes.update(_attributes(type=text(body, "Type", "Name")))
        else:
            number = project or "?"
            title = _("📁 Project: {name}", name=name or project_label or number)
            url = self.links.project(project)
            card.description = _excerpt(text(body, "Description"), 400)
        card.add_field(_("Starts"), _date(when(body, "StartDate")))
        card.add_field(_("Due"), _date(when(body, "DueDate")))
        card.add_field(_("Closed"), _date(when(body, "ClosingDate")))
        card.title = escape(_("🗑 Deleted: {title}", title=title) if verb == "deleted" else title)
        card.url = url
        return Event(
            source=SOURCE,
            kind=kind,
            card=card,
            line=_verb_line(verb, _actor(body)),
            item=f"{SOURCE}:{project}:{family}:{number}",
            title=title,
            url=url,
            mode=Mode.CARD,
            attributes=attributes,
        )

    async def _project_user(self, kind: str, verb: str, body: dict[str, Any]) -> Event:
        project = ident(body, "ProjectId")
        who = user_name(obj(body, "User")) or _("Someone")
        what = (
            _(PROJECT_USER[verb], who=who)
            if verb in PROJECT_USER
            else _("{who} {verb}", who=who, verb=verb)
        )
        role = text(body, "Role", "Name")
        title = f"👋 {what}" if verb == "added" else what
        card = Card(
            title=escape(title),
            url=self.links.project(project),
            colour=COLOURS["projectuser"],
            footer=await self._footer(project, kind),
            timestamp=when(body, "CreationDate") or _now(),
        )
        card.add_field(_("Role"), escape(role or ""))
        if get(body, "IsAdmin") is True:
            card.add_field(_("Admin"), _("yes"))
        return Event(
            source=SOURCE,
            kind=kind,
            card=card,
            line=escape(what),
            title=title,
            url=card.url,
            mode=Mode.CARD,
            attributes=_attributes(project=await self._project_label(project)),
        )

    async def _footer(self, project: str | None, kind: str) -> str:
        label = await self._project_label(project)
        return " · ".join(p for p in (LABEL, label, kind) if p)

    async def _project_label(self, project: str | None) -> str | None:
        if not project:
            return None
        return await self._project_name(project) or f"project {project}"


def _verb_line(verb: str, actor: str | None) -> str:
    """`🆕 created by Jane`: what happened to a card's item, and who did it when known."""
    if verb not in VERBS:
        return _("{verb} by {actor}", verb=verb, actor=escape_inline(actor)) if actor else verb
    alone, by = VERBS[verb]
    return _(by, actor=escape_inline(actor)) if actor else _(alone)


def _follow_up_line(family: str, verb: str, body: dict[str, Any]) -> str:
    who = escape_inline(user_name(obj(body, "User")) or _actor(body) or _("someone"))
    if family == "workitem.comment":
        comment = obj(body, "Comment") or body
        said = _said(text(comment, "Text"), 280) or ""
        if verb == "created":
            return _("💬 **{who}**: {said}", who=who, said=said)
        if verb == "updated":
            return _("✏️ **{who}** edited a comment: {said}", who=who, said=said)
        if verb == "deleted":
            return _("🗑 a comment by {who} was deleted", who=who)
        return _("💬 comment {verb}: {said}", verb=verb, said=said)
    if family == "workitem.subtask":
        name = escape_inline(text(body, "Title") or _("a subtask"))
        if verb == "updated" and get(body, "IsCompleted") is True:
            return _("☑ subtask done: {name}", name=name)
        if verb == "created":
            return _("☐ subtask added: {name}", name=name)
        if verb == "updated":
            return _("☐ subtask updated: {name}", name=name)
        if verb == "deleted":
            return _("✖ subtask removed: {name}", name=name)
        return _("subtask {verb}: {name}", verb=verb, name=name)
    if family == "workitem.worklog":
        return _worklog_line(verb, who, body)
    if family == "workitem.dependency":
        other = obj(body, "Dependency") or obj(body, "DependsOn") or obj(body, "WorkItem")
        number = ident(other, "WorkItemId") or ident(body, "DependencyId")
        named = (
            f"#{number} {text(other, 'Title') or ''}".strip()
            if number and number[0].isdigit()
            else number or _("another item")
        )
        if verb == "added":
            return _("🔗 now depends on {item}", item=escape_inline(named))
        return _("🔗 no longer depends on {item}", item=escape_inline(named))
    if family == "workitem.attachment":
        file = obj(body, "File") or obj(body, "Attachment", "File")
        name = text(file, "Name") or _("a file")
        url = text(file, "Url")
        shown = link(name, url) if url and url.startswith("https://") else escape_inline(name)
        if verb == "added":
            return _("📎 **{who}** attached {file}", who=who, file=shown)
        return _("📎 {file} removed", file=escape_inline(name))
    return f"{family.split('.')[-1]} {verb}"


def _worklog_line(verb: str, who: str, body: dict[str, Any]) -> str:
    hours = _hours(get(body, "Value")) or _("time")
    note = _said(text(body, "Comment"), 200)
    if verb == "created":
        if note:
            return _("⏱ **{who}** logged {hours}: {note}", who=who, hours=hours, note=note)
        return _("⏱ **{who}** logged {hours}", who=who, hours=hours)
    if verb == "updated":
        if note:
            return _(
                "⏱ **{who}** changed a worklog to {hours}: {note}",
                who=who,
                hours=hours,
                note=note,
            )
        return _("⏱ **{who}** changed a worklog to {hours}", who=who, hours=hours)
    if verb == "deleted":
        return _("⏱ a worklog of {hours} by {who} was removed", hours=hours, who=who)
    return _("⏱ worklog {verb}: {hours}", verb=verb, hours=hours)


def _work_item_attributes(item: dict[str, Any]) -> Attributes:
    attributes = _attributes(
        category=text(item, "Category", "Name"),
        stage=text(item, "Stage", "Name"),
        board=text(item, "Board", "Name"),
        importance=text(item, "ImportanceLevel", "Name"),
    )
    if tags := names(item, "Tags"):
        attributes["tag"] = tags
    if assignees := [n for n in (user_name(u) for u in objects(item, "AssignedUsers")) if n]:
        attributes["assignee"] = assignees
    return attributes


def user_name(user: Any) -> str | None:
    """A user's display name from `{Username, Name}` or `{User: {...}}` shapes."""
    inner = obj(user, "User") or (user if isinstance(user, dict) else {})
    return text(inner, "Name") or text(inner, "Username")


def _work_item_key(project: str | None, number: str) -> str:
    return f"{SOURCE}:{project or '?'}:workitem:{number}"


def _actor(body: dict[str, Any]) -> str | None:
    """Who made the change, when the body says (HacknPlan documents no such field)."""
    for name in ACTOR_FIELDS:
        if (found := obj(body, name)) and (who := user_name(found)) is not None:
            return who
    return None


def _attributes(**values: str | None) -> Attributes:
    return {key: [value] for key, value in values.items() if value}


def _excerpt(value: str | None, limit: int) -> str | None:
    return escape(truncate(value, limit)) if value else None


def _said(value: str | None, limit: int) -> str | None:
    """Payload text placed after a name on a line."""
    return escape_inline(truncate(value, limit)) if value else None


def _hours(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return ""
    return _("{hours} h", hours=format_number(value))


def _date(value: datetime | None) -> str:
    return format_day(value) if value else ""


def _now() -> datetime:
    return datetime.now(UTC)
