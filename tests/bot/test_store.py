"""The store's contract, engine by engine: what every implementation of
`bot.store.interfaces` must do, written against the interfaces only.

An engine joins by adding its database to `DATABASES` (a function from the
test's request to a `DATABASE_URL` of an empty database of its own).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest

from bot.events import KnownItem
from bot.files import FileData
from bot.models import User
from bot.store import (
    DONE,
    DRAFT,
    INBOX_ROUTED,
    PENDING,
    SENDING,
    Delivery,
    NewFollowup,
    NewSubmission,
    NewUpload,
    PolledItem,
    Post,
    Route,
    Store,
    StoreUnavailable,
    Verdict,
    open_store,
)

DATABASES: dict[str, Callable[[pytest.FixtureRequest], str]] = {
    "sqlite": lambda request: f"sqlite:///{request.getfixturevalue('tmp_path')}/herald.db",
    "postgresql": lambda request: request.getfixturevalue("fresh_postgres_url"),
}
ALICE = User("discord", "42", "alice", display_name="Alice")


@pytest.fixture(params=sorted(DATABASES))
def database_url(request: pytest.FixtureRequest) -> str:
    return DATABASES[request.param](request)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


async def test_settings_and_the_schema_survive_reopening(database_url: str) -> None:
    store = await open_store(database_url)
    await store.set_setting("guild:1", "channels", "a,b")
    await store.set_setting("guild:1", "channels", "c")
    version, instance = await store.schema_version(), await store.instance_id()
    await store.close()

    reopened = await open_store(database_url)
    try:
        assert await reopened.get_setting("guild:1", "channels") == "c"
        assert await reopened.get_setting("guild:1", "missing") is None
        assert version > 0
        assert await reopened.schema_version() == version, "nothing migrates twice"
        assert len(instance) >= 8
        assert await reopened.instance_id() == instance, "made once, with the database"
        assert await reopened.ping()
    finally:
        await reopened.close()


async def test_settings_are_listed_by_name_under_a_scope_prefix_and_deleted(
    store: Store,
) -> None:
    await store.set_setting("channel:discord:1", "language", "de")
    await store.set_setting("channel:discord:2", "language", "fr")
    await store.set_setting("channel:slack:1", "language", "es")
    await store.set_setting("channel:discord:3", "other", "x")
    await store.set_setting("guild_1:a", "language", "it")
    await store.set_setting("guildX1:b", "language", "pt")
    assert await store.settings_named("language", "channel:discord:") == {
        "channel:discord:1": "de",
        "channel:discord:2": "fr",
    }
    assert await store.settings_named("language", "guild_1:") == {"guild_1:a": "it"}, (
        "a prefix is text, not a pattern"
    )
    await store.delete_setting("channel:discord:1", "language")
    await store.delete_setting("channel:discord:1", "language")
    assert await store.get_setting("channel:discord:1", "language") is None
    assert await store.settings_named("language", "channel:discord:") == {"channel:discord:2": "fr"}


async def test_each_route_queues_the_event_in_its_language_once(store: Store) -> None:
    delivery = await store.add_delivery("svc", "k", "d1", "{}")
    assert delivery is not None
    assert await store.add_delivery("svc", "k", "d1", "{}") is None, "a repeat"
    (new,) = await store.new_deliveries(source="svc")
    assert (new.id, new.source, new.kind, new.payload) == (delivery, "svc", "k", "{}")
    english = {"item": "svc:1", "title": "Build"}
    german = {"item": "svc:1", "title": "Bau"}
    routes = (Route("console", "en", 1), Route("console", "de", 2, language="de"))
    verdict = Verdict(
        delivery,
        INBOX_ROUTED,
        event=english,
        routes=routes,
        known=("svc:1", KnownItem("Build", "https://x/1", {"n": 1})),
        translations={"de": german},
    )
    await store.record_routing([verdict])
    await store.record_routing([verdict])

    assert await store.new_deliveries() == []
    assert await store.unrouted_count() == 0
    assert await store.pending_count() == 2, "routing again queues nothing more"
    assert await store.known_item("svc:1") == KnownItem("Build", "https://x/1", {"n": 1})
    (row_en,) = await store.lane_rows("console", "en", time.time())
    (row_de,) = await store.lane_rows("console", "de", time.time())
    assert (json.loads(row_en.event), json.loads(row_de.event)) == (english, german)
    assert row_de.item == "svc:1"
    assert await store.due_lanes(["console"], time.time()) in (
        [("console", "de"), ("console", "en")],
        [("console", "en"), ("console", "de")],
    )


async def test_concurrent_deliveries_keep_arrival_order_and_repeats_are_recognised(
    database_url: str,
) -> None:
    """The inbox's writes may be grouped, but each caller gets its own answer, in order."""
    store = await open_store(database_url)
    keys = [f"delivery-{n % 5}" for n in range(12)]
    ids = await asyncio.gather(*(store.add_delivery("svc", "k", key, "{}") for key in keys))
    assert ids[:5] == sorted(ids[:5])
    assert ids[5:] == [None] * 7
    assert [d.id for d in await store.new_deliveries()] == ids[:5]
    await store.close()

    again = await open_store(database_url)
    try:
        assert await again.add_delivery("svc", "k", "delivery-3", "{}") is None
        assert await again.add_delivery("svc", "k", "delivery-9", "{}") is not None
    finally:
        await again.close()


async def test_a_caller_gone_away_takes_nothing_from_the_others_and_closing_finishes_them(
    database_url: str,
) -> None:
    store = await open_store(database_url)
    keys = [f"d{n}" for n in range(12)]
    calls = [asyncio.create_task(store.add_delivery("svc", "k", key, key)) for key in keys[:8]]
    await asyncio.sleep(0)
    calls[3].cancel()
    calls += [asyncio.create_task(store.add_delivery("svc", "k", key, key)) for key in keys[8:]]
    await asyncio.sleep(0)
    calls[9].cancel()
    await store.close()  # with writes queued and under way

    answered = {keys[n]: call for n, call in enumerate(calls) if n not in (3, 9)}
    ids = await asyncio.gather(*answered.values())
    assert None not in ids
    assert ids == sorted(ids)
    assert [n for n, call in enumerate(calls) if call.cancelled()] == [3, 9]
    again = await open_store(database_url)
    try:
        stored = [(d.id, d.payload) for d in await again.new_deliveries()]
        assert [s for s in stored if s[1] in answered] == list(zip(ids, answered, strict=True))
    finally:
        await again.close()


async def routed(store: Store, key: str, channel: str, subscription_id: int = 1) -> int:
    """A delivery of `key` routed to `channel`; its outbox row's id."""
    delivery = await store.add_delivery("svc", "k", key, "{}")
    assert delivery is not None
    route = Route("console", channel, subscription_id)
    event = {"item": "svc:1", "kind": "k"}
    await store.record_routing([Verdict(delivery, INBOX_ROUTED, event=event, routes=(route,))])
    rows = await store.lane_rows("console", channel, time.time())
    return rows[-1].id


async def test_pruning_forgets_old_finished_work_and_quiet_cards_but_keeps_the_queue(
    store: Store,
) -> None:
    done = await routed(store, "old", "c")
    await routed(store, "fresh", "d")
    await store.complete([done], Post("b1:card", "console", "c", "m1", item="svc:1"))
    assert await store.card("console", "c", "svc:1") == Post(
        "b1:card", "console", "c", "m1", item="svc:1"
    )
    await store.prune(time.time() + 1)

    assert await store.card("console", "c", "svc:1") is None, "its item is forgotten too"
    assert await store.pending_count() == 1, "the row still to deliver stays"
    assert await store.add_delivery("svc", "k", "old", "{}") is not None, "forgotten"


async def test_failed_rows_wait_expire_and_come_back_when_revived(store: Store) -> None:
    subscription_id = await store.add_subscription("console", "g", "c", "svc", {}, "admin")
    first = await routed(store, "one", "c", subscription_id)
    second = await routed(store, "two", "c", subscription_id)
    await store.assign_batch([first, second], first, "digest")
    (row, _) = await store.lane_rows("console", "c", time.time())
    assert (row.batch, row.batch_kind) == (first, "digest")

    until = time.time() + 60
    await store.retry_later("console", "c", [first], until, "503")
    assert await store.lane_rows("console", "c", time.time()) == [], "the lane waits"
    assert await store.next_due(["console"]) == until
    assert await store.expire("console", "c", 1, 0.0, "too old") == 1, "tried once: given up"
    assert await store.expire("console", "c", 1, time.time() + 1, "too old") == 1
    dead = await store.dead_rows("console", "g")
    assert {(d.id, d.error) for d in dead} == {
        (first, "gave up after 1 attempts: 503"),
        (second, "too old"),
    }
    (letters,) = await store.dead_letters("console", "g")
    assert (letters.channel_id, letters.count) == ("c", 2)

    assert await store.revive("console", scope="g") == 2
    assert [r.id for r in await store.lane_rows("console", "c", time.time())] == [first, second]
    assert [r.attempts for r in await store.lane_rows("console", "c", time.time())] == [0, 0]
    await store.drop([first], "refused")
    assert await store.pending_count() == 1


async def test_lost_access_is_told_once_per_outage_and_pauses_nothing_until_given_up(
    store: Store,
) -> None:
    subscription_id = await store.add_subscription("console", "g", "c", "svc", {}, "admin")
    await routed(store, "one", "c", subscription_id)
    assert await store.access_lost("console", "c", "403")
    assert not await store.access_lost("console", "c", "403 again"), "told once"
    assert await store.has_lost_access("console", "c")
    (lost,) = await store.lost_access("console", "g")
    assert (lost.channel_id, lost.error, lost.waiting) == ("c", "403 again", 1)
    assert await store.access_back("console", "c")
    assert not await store.access_back("console", "c")

    assert await store.give_up("console", "c", "gone") == 1
    (paused,) = await store.subscriptions("console", "g")
    assert paused.paused == "gone"
    assert await store.active_subscriptions("svc") == []
    await store.resume_subscription(subscription_id)
    assert [s.id for s in await store.active_subscriptions("svc")] == [subscription_id]


async def test_a_card_is_the_latest_post_with_its_item_until_forgotten(store: Store) -> None:
    await store.record_post(Post("k1", "console", "c", "m1", item="svc:1"))
    await store.record_post(Post("k1", "console", "c", "other"))
    assert await store.post("k1") == Post("k1", "console", "c", "m1", item="svc:1"), "kept once"
    await store.record_post(Post("k2", "console", "c", "m2", item="svc:1"))
    await store.set_thread("k2", "t2")
    assert await store.card("console", "c", "svc:1") == Post(
        "k2", "console", "c", "m2", item="svc:1", thread_id="t2"
    )
    await store.forget_card("k2")
    card = await store.card("console", "c", "svc:1")
    assert card is not None
    assert card.key == "k1"
    assert await store.card("console", "d", "svc:1") is None


async def test_a_late_card_replaces_waiting_rows_and_edits_posted_cards_once(
    store: Store,
) -> None:
    delivery = await store.add_delivery("svc", "k", "d1", "{}")
    assert delivery is not None
    routes = (Route("console", "a", 1), Route("console", "b", 1, language="de"))
    first = {"item": "svc:1", "title": "?"}
    guessed = ("svc:1", KnownItem("?", None, {}))
    await store.record_routing(
        [Verdict(delivery, INBOX_ROUTED, event=first, routes=routes, known=guessed)]
    )
    (posted,) = await store.lane_rows("console", "b", time.time())
    await store.assign_batch([posted.id], posted.id, "card")
    await store.complete([posted.id], Post("b:card", "console", "b", "m1", item="svc:1"))

    events = {
        "en": {"item": "svc:1", "title": "Crash"},
        "de": {"item": "svc:1", "title": "Absturz"},
    }
    edits = {language: {**event, "edit": True} for language, event in events.items()}
    late = Delivery(delivery, "svc", "k", "{}")
    known = ("svc:1", KnownItem("Crash", None, {}))
    assert await store.amend_routing(late, events, edits, routes, known) == 2
    (waiting,) = await store.lane_rows("console", "a", time.time())
    assert json.loads(waiting.event) == events["en"]
    (edit,) = await store.lane_rows("console", "b", time.time())
    assert json.loads(edit.event) == edits["de"]
    assert await store.known_item("svc:1") == KnownItem("Crash", None, {}), "known better"
    assert await store.amend_routing(late, events, edits, routes, None) == 1, "edited once"
    assert await store.unrouted_count() == 0, "the edit's inbox row is routed already"


async def test_an_engine_not_built_in_is_refused_with_the_setting_to_fix() -> None:
    with pytest.raises(StoreUnavailable, match=r"or postgresql://user@host/database \(got mysql:"):
        await open_store("mysql://localhost/herald")


async def test_polled_items_record_what_a_feed_saw(store: Store) -> None:
    assert not await store.feed_primed("svc", "p/builds")
    await store.record_polled("svc", "p/builds", [])
    assert await store.feed_primed("svc", "p/builds"), "an empty first reading still counts"

    items = [PolledItem(f"b{n}", "success", {"n": n}) for n in range(5)]
    await store.record_polled("svc", "p/builds", [*items, PolledItem("r", "running", {})])
    await store.record_polled("svc", "p/builds", [PolledItem("b1", "failed", {"n": 10})])
    found = await store.polled("svc", "p/builds", ["b1", "b2", "nope"])
    assert found == {
        "b1": PolledItem("b1", "failed", {"n": 10}),
        "b2": PolledItem("b2", "success", {"n": 2}),
    }
    running = await store.polled_in_states("svc", "p/builds", ["running", "pending"])
    assert [i.item_id for i in running] == ["r"]
    assert await store.polled("svc", "other/builds", ["b1"]) == {}


async def test_trimming_keeps_open_items_and_the_most_recent(store: Store) -> None:
    items = [PolledItem(f"b{n}", "success", {}) for n in range(5)]
    await store.record_polled("svc", "p/builds", [*items, PolledItem("r", "running", {})])
    await store.record_polled("svc", "p/builds", [PolledItem("b1", "failed", {})])
    await store.record_polled("svc", "q/builds", [PolledItem("b0", "success", {})])

    assert await store.trim_polled("svc", "p/builds", keep=2, keep_states=["running"]) == 3
    left = await store.polled("svc", "p/builds", ["r", "b0", "b1", "b2", "b3", "b4"])
    assert "r" in left, "open items are never forgotten"
    assert "b1" in left, "the most recently changed are kept"
    assert len(left) == 3
    assert await store.polled("svc", "q/builds", ["b0"]), "other feeds are left alone"


def submission(state: str, created_at: float = 100.0, service: str = "betahub") -> NewSubmission:
    return NewSubmission(
        service=service,
        kind="bug",
        state=state,
        reference="HRLD-0001",
        payload={"title": "Crash", "tags": ["map"]},
        summary="bug report **Crash**",
        user_text="It crashes",
        user=ALICE,
        language="pt-BR",
        channel_id="7",
        guild_id="9",
        created_at=created_at,
    )


async def test_a_submission_comes_back_typed_with_its_files_in_order(store: Store) -> None:
    files = [FileData("a.png", "image/png", b"\x89PNG"), FileData("b.log", None, b"log")]
    submission_id = await store.add_submission(submission(SENDING), files)

    found = await store.get_submission(submission_id)
    assert found is not None
    assert (found.id, found.service, found.kind, found.state) == (
        submission_id,
        "betahub",
        "bug",
        SENDING,
    )
    assert found.payload == {"title": "Crash", "tags": ["map"]}
    assert (found.user, found.language) == (ALICE, "pt-BR")
    assert (found.summary, found.user_text, found.reference) == (
        "bug report **Crash**",
        "It crashes",
        "HRLD-0001",
    )
    assert (found.channel_id, found.guild_id, found.created_at) == ("7", "9", 100.0)
    assert (found.attempts, found.next_attempt_at, found.unsure) == (0, 0.0, False)
    assert (found.last_error, found.result_url, found.refused_at) == (None, None, None)
    assert await store.submission_files(submission_id) == files
    assert await store.get_submission(submission_id + 1) is None


async def test_submission_changes_and_claims_are_exact(store: Store) -> None:
    submission_id = await store.add_submission(submission(PENDING))
    await store.update_submission(
        submission_id, attempts=2, next_attempt_at=50.0, last_error="503", unsure=True
    )
    claims = await asyncio.gather(*(store.claim_submission(submission_id, PENDING) for _ in "ab"))
    assert sorted(claims) == [False, True], "exactly one claimant wins"

    found = await store.get_submission(submission_id)
    assert found is not None
    assert (found.state, found.attempts, found.next_attempt_at) == (SENDING, 2, 50.0)
    assert (found.last_error, found.unsure) == ("503", True)
    assert await store.submissions_waiting() == {"betahub": 1}, "a retry in flight counts"

    await store.update_submission(submission_id, state=DONE, result_url="https://x/1")
    assert [s.id for s in await store.due_submissions("betahub", DONE, 60.0)] == [submission_id]
    assert await store.due_submissions("betahub", DONE, 10.0) == [], "not due yet"
    assert await store.next_submission_at("betahub", (PENDING, DONE)) == 50.0
    assert [s.result_url for s in await store.submissions_in_state("betahub", DONE)] == [
        "https://x/1"
    ]
    await store.delete_submission(submission_id)
    assert await store.get_submission(submission_id) is None


async def test_drafts_are_discarded_once_and_only_while_drafts(store: Store) -> None:
    draft = await store.add_submission(submission(DRAFT))
    claimed = await store.add_submission(submission(DRAFT))
    assert await store.claim_submission(claimed, DRAFT)
    assert not await store.discard_draft(claimed), "claimed first: it is no draft now"
    assert await store.discard_draft(draft)
    assert not await store.discard_draft(draft)

    old = await store.add_submission(submission(DRAFT, created_at=10.0))
    await store.add_submission(submission(DRAFT, created_at=10.0, service="userecho"))
    assert await store.delete_drafts("betahub", older_than=50.0) == 1
    assert await store.get_submission(old) is None


async def test_recovery_makes_sends_in_flight_unsure_and_everything_due(store: Store) -> None:
    sending = await store.add_submission(submission(SENDING))
    waiting = await store.add_submission(submission(PENDING))
    await store.update_submission(waiting, next_attempt_at=1e12)
    assert await store.recover_submissions("betahub") == 1

    recovered = await store.get_submission(sending)
    assert recovered is not None
    assert (recovered.state, recovered.unsure) == (PENDING, True)
    due = await store.due_submissions("betahub", PENDING, 0.0)
    assert {s.id for s in due} == {sending, waiting}


async def test_slots_fill_the_window_and_a_held_one_is_reused(store: Store) -> None:
    first = await store.reserve_slot("discord", "1", 100.0, 60.0, 2)
    assert first is not None
    assert first[1]
    second = await store.reserve_slot("discord", "1", 101.0, 60.0, 2, submission_id=5)
    assert second is not None
    assert second[1]
    assert await store.reserve_slot("discord", "1", 102.0, 60.0, 2) is None, "all taken"
    assert await store.reserve_slot("discord", "2", 102.0, 60.0, 2) is not None, "per user"
    assert await store.reserve_slot("discord", "1", 103.0, 60.0, 2, 5) == (second[0], False)

    await store.hold_slot(first[0], 6)
    assert await store.reserve_slot("discord", "1", 104.0, 60.0, 2, 6) == (first[0], False)
    await store.release_slot(first[0])
    assert await store.slots_since("discord", "1", 0.0) == [101.0]
    assert await store.reserve_slot("discord", "1", 170.0, 60.0, 1) is not None, "window slid"


def upload(position: int, step: str = "screenshot", data: bytes | None = b"png") -> NewUpload:
    return NewUpload(
        service="betahub",
        reference="HRLD-0001",
        position=position,
        item_id="issue-1",
        item_url="https://b/issue-1",
        token="jwt",
        step=step,
        filename=f"{position}.png" if data is not None else "",
        content_type="image/png" if data is not None else None,
        data=data,
        user=ALICE,
        language="de",
        state=PENDING,
        next_attempt_at=10.0,
        created_at=5.0,
    )


async def test_uploads_come_back_typed_in_order_and_are_queued_once(store: Store) -> None:
    await store.add_uploads([upload(0), upload(1, data=b"two"), upload(2, "publish", None)])
    await store.add_uploads([upload(0, data=b"again")])

    steps = await store.uploads_of("betahub", "issue-1")
    assert [(u.position, u.step, u.data) for u in steps] == [
        (0, "screenshot", b"png"),
        (1, "screenshot", b"two"),
        (2, "publish", None),
    ]
    first = steps[0]
    assert (first.user, first.language, first.token, first.item_url) == (
        ALICE,
        "de",
        "jwt",
        "https://b/issue-1",
    )
    assert (first.filename, first.content_type, first.state, first.attempts) == (
        "0.png",
        "image/png",
        PENDING,
        0,
    )
    assert await store.get_upload(first.id) == first
    assert await store.uploads_of("betahub", "issue-2") == []


async def test_upload_changes_claims_and_recovery(store: Store) -> None:
    await store.add_uploads([upload(0), upload(1)])
    first, second = await store.uploads_of("betahub", "issue-1")
    assert await store.claim_upload(first.id, PENDING)
    assert not await store.claim_upload(first.id, PENDING)
    await store.update_upload(first.id, state="attached", data=None, last_error=None, token=None)
    await store.update_upload(second.id, attempts=1, next_attempt_at=20.0, last_error="503")

    ended = await store.get_upload(first.id)
    assert ended is not None
    assert (ended.state, ended.data, ended.token) == ("attached", None, None)
    assert await store.due_uploads("betahub", 15.0) == []
    assert [u.id for u in await store.due_uploads("betahub", 20.0)] == [second.id]
    assert await store.next_upload_at("betahub") == 20.0

    assert await store.claim_upload(second.id, PENDING)
    assert await store.recover_uploads("betahub", older_than=6.0) == 1
    assert await store.get_upload(first.id) is None, "finished and old: dropped"
    recovered = await store.get_upload(second.id)
    assert recovered is not None
    assert (recovered.state, recovered.next_attempt_at) == (PENDING, 0.0)


async def test_followups_are_kept_once_and_a_status_change_is_conditional(store: Store) -> None:
    item = NewFollowup(
        "betahub", "bug", "1", "https://b/1", "Crash", "discord", "42", language="ja"
    )
    followup_id = await store.add_followup(item)
    assert await store.add_followup(item) == followup_id, "once per service item"
    await store.set_followup_card(followup_id, "7", "m1", {"title": "Crash"})

    found = await store.followup_of("betahub", "bug", "1")
    assert found is not None
    assert found.id == followup_id
    assert (found.card_channel, found.card_message, found.card) == ("7", "m1", {"title": "Crash"})
    assert (found.status, found.notice_due, found.wants_updates) == (None, False, True)
    assert found.language == "ja"

    assert await store.record_followup_status(
        followup_id, None, "open", notice=True, closed_at=None
    )
    assert not await store.record_followup_status(
        followup_id, None, "closed", notice=True, closed_at=1.0
    ), "the status seen changed meanwhile"
    assert [f.id for f in await store.followup_notices("betahub")] == [followup_id]
    await store.followup_told(followup_id, "open")
    assert await store.followup_notices("betahub") == []
    assert await store.set_followup_updates("discord", "42", wanted=False) == 1
    (mine,) = await store.user_followups("discord", "42", 10)
    assert (mine.status, mine.previous_status, mine.wants_updates) == ("open", None, False)


async def test_subscriptions_are_found_by_their_filter_whatever_its_key_order(
    store: Store,
) -> None:
    subscription_id = await store.add_subscription(
        "discord", "g1", "c1", "betahub", {"a": 1, "b": [2]}, "alice"
    )
    found = await store.find_subscription("discord", "c1", "betahub", {"b": [2], "a": 1})
    assert found is not None
    assert (found.id, found.filter, found.created_by, found.paused) == (
        subscription_id,
        {"a": 1, "b": [2]},
        "alice",
        None,
    )
    assert [s.id for s in await store.active_subscriptions("betahub")] == [subscription_id]
    assert [s.id for s in await store.channel_subscriptions("discord", "c1")] == [subscription_id]
    assert await store.remove_subscriptions("discord", "other", [subscription_id]) == 0
    assert await store.remove_subscriptions("discord", "g1", [subscription_id]) == 1
    assert await store.subscriptions("discord", "g1") == []
