"""Subscription filters: globs over kinds, exclusions and attribute conditions."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.events import Event, Source
from bot.filters import Filter
from bot.models import Card

KINDS = ("workitem.created", "workitem.updated", "workitem.worklog.created", "board.closed")


async def _nothing(kind: str, payload: dict) -> None:
    return None


SOURCE = Source("tracker", "Tracker", KINDS, ("category", "board", "tag"), _nothing)


def event(kind: str = "workitem.created", **attributes: list[str]) -> Event:
    return Event("tracker", kind, Card(title="x"), "x", attributes=attributes)


def test_no_options_match_everything_of_the_service():
    wanted = Filter.parse(SOURCE)
    assert wanted == Filter()
    assert wanted.matches(event("board.closed"))
    assert wanted.describe() == "all events"


def test_include_and_exclude_globs():
    wanted = Filter.parse(SOURCE, events="workitem.*", exclude="workitem.worklog.*")
    assert wanted.matches(event("workitem.updated"))
    assert not wanted.matches(event("workitem.worklog.created"))
    assert not wanted.matches(event("board.closed"))
    assert Filter.parse(SOURCE, events="workitem.*, !workitem.worklog.*") == wanted
    assert wanted.describe() == "events `workitem.*` except `workitem.worklog.*`"


def test_where_same_key_is_either_and_different_keys_are_all():
    wanted = Filter.parse(SOURCE, where="category:Art, category:design, board:Sprint*")
    assert wanted.matches(event(category=["Art"], board=["Sprint 4"]))
    assert wanted.matches(event(category=["DESIGN"], board=["sprint 12"]))
    assert not wanted.matches(event(category=["Art"], board=["Backlog"]))
    assert not wanted.matches(event(category=["Audio"], board=["Sprint 4"]))
    assert not wanted.matches(event(board=["Sprint 4"])), "a missing attribute does not match"


def test_a_condition_matches_any_of_several_values():
    wanted = Filter.parse(SOURCE, where="tag:ui")
    assert wanted.matches(event(tag=["gameplay", "UI"]))
    assert not wanted.matches(event(tag=["gameplay"]))


def test_it_survives_storage():
    wanted = Filter.parse(SOURCE, events="board.*", exclude="board.closed", where="board:a b")
    assert Filter.from_json(wanted.to_json()) == wanted


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"events": "work*item created"}, "is not an event pattern"),
        ({"events": "milestone.*"}, "No Tracker event matches `milestone.*`"),
        ({"exclude": "nothing.here"}, "No Tracker event matches `nothing.here`"),
        (
            {"where": "stage:done"},
            "cannot be filtered on `stage`; use one of: category, board, tag",
        ),
        ({"where": "category:"}, "is not a condition"),
    ],
)
def test_mistakes_are_explained(options, message):
    with pytest.raises(UserError, match=message):
        Filter.parse(SOURCE, **options)
