"""Reading the status of the BetaHub items Herald created, for `bot.followups`.

- Bug reports: `GET /projects/{pid}/issues.json`, one `status` at a time
  (`new`, `in_progress`, `resolved`, `closed`), page by page until every
  followed issue is found: the filter says the status even when a listed
  issue does not.
- Support tickets: "Get support ticket details", `tickets/{id}.json`, its `status`.
- Feature requests: BetaHub documents no single read, so the search's
  `scoped_id` look-up, and its object's `status` when it carries one (a
  guess: the reference shows only the title list of the search). A request
  the search does not list (rejected, muted, duplicate) keeps its last status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.followups import StatusReader
from bot.i18n import N_
from bot.store import Followup
from cogs.betahub.client import BetaHubClient

ISSUE_STATUSES = ("new", "in_progress", "resolved", "closed")
MAX_ISSUE_PAGES = 20  # pages of issue lists read per pass, all statuses together
KINDS = {
    "issue": N_("bug report"),
    "ticket": N_("support ticket"),
    "feature_request": N_("suggestion"),
}


def status_reader(api: BetaHubClient, interval: float) -> StatusReader:
    async def read(items: Sequence[Followup]) -> dict[int, str]:
        found: dict[int, str] = {}
        issues = [i for i in items if i.kind == "issue"]
        if issues:
            found.update(await _issue_statuses(api, issues))
        for item in items:
            if item.kind == "ticket":
                data = await api.ticket(item.item_id)
            elif item.kind == "feature_request":
                data = await api.feature_request(_scoped(item.item_id, item.url))
            else:
                continue
            if (status := _status(data)) is not None:
                found[item.id] = status
        return found

    return StatusReader("betahub", "BetaHub", KINDS, read, interval)


async def _issue_statuses(api: BetaHubClient, issues: Sequence[Followup]) -> dict[int, str]:
    wanted = {key: item.id for item in issues for key in _keys(item.item_id, item.url)}
    found: dict[int, str] = {}
    pages_read = 0
    for status in ISSUE_STATUSES:
        page, pages = 1, 1
        while page <= pages and pages_read < MAX_ISSUE_PAGES and len(found) < len(issues):
            listed, pages = await api.issues_page(status, page)
            pages_read += 1
            for issue in listed:
                keys = _keys(issue.get("id"), issue.get("url"), issue.get("scoped_id"))
                for key in keys & wanted.keys():
                    found[wanted[key]] = _status(issue) or status
            page += 1
    return found


def _keys(*ids: Any) -> set[str]:
    """The ways an issue may be named: its id, scoped id and the last part of its URL,
    each also without BetaHub's `g-` prefix."""
    keys: set[str] = set()
    for value in ids:
        if value in (None, ""):
            continue
        text = str(value).rstrip("/").rsplit("/", 1)[-1]
        keys.update({text, text.removeprefix("g-")})
    return keys


def _scoped(item_id: str, url: str | None) -> str:
    """A feature request's scoped id: the last part of its URL (BetaHub's rule), else its id."""
    return url.rstrip("/").rsplit("/", 1)[-1] if url else item_id


def _status(data: dict[str, Any] | None) -> str | None:
    """`status` as a word, or as `{name: ...}`."""
    status = data.get("status") if data else None
    if isinstance(status, dict):
        status = status.get("name") or status.get("key")
    return status.strip() if isinstance(status, str) and status.strip() else None
