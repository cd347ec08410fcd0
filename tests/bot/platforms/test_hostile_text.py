"""Hostile text through every path to Slack and Discord: nothing pings, nothing disguises a link.

Each string of `HOSTILE` goes through a command reply, a confirmation card,
announcement cards from three services, an edited card ("Changed"), thread
lines and digests. Everything the fake Slack API and the fake Discord REST
received is then read as each platform parses it: on Slack no `<...>` markup
but Herald's own links (to safe URLs) and dates; on Discord no unescaped
`[label](url)` to an unsafe target and no unescaped `<@`, `<#`, `<!`.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.core import Core
from bot.platforms import discord_outbound, slack_outbound
from bot.text import escape
from tests.announcing import bugherd, hacknplan, sample, settled, subscribe, userecho
from tests.conftest import (
    StartHerald,
    betahub_env,
    bugherd_env,
    discord_env,
    hacknplan_env,
    userecho_webhook_env,
)
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import CHANNEL_ID as DISCORD_CHANNEL
from tests.fakes.discord import FakeDiscord
from tests.fakes.slack import CHANNEL_ID as SLACK_CHANNEL
from tests.fakes.slack import FakeSlack, form_body, sign

HOSTILE = [
    "<!channel> urgent",
    "<!here>",
    "<!subteam^S1>",
    "<@U123>",
    "<#C1>",
    "https://x.example/a>|b<!channel>",
    "[free nitro](https://evil.example)",
    "&lt;!channel&gt;",
    "javascript:alert(1)",
]
ON = list(enumerate(HOSTILE, start=1))
PLATFORMS = ("slack", "discord")
SAFE_URL = re.compile(r"https?://[^\s<>|()\[\]\"`\\{}^\x00-\x1f\x7f]+")
# Slack markup Herald itself writes: a date in a card's footer, and links.
SLACK_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*>")
SLACK_LINK = re.compile(r"<([^<>|]*)\|[^<>]*>")
# A markdown link Discord would render: `[label](target)` whose `[` is not escaped.
DISCORD_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")
DISCORD_REFERENCE = re.compile(r"(?<!\\)<[@#!]")


def url_or(text: str, usual: str) -> str:
    """`text` in a URL slot when it is meant as a URL, else the usual URL."""
    return text if text.startswith(("https://", "javascript:")) else usual


@dataclass
class Chat:
    """The platform under test and its fake, beside a running Herald."""

    platform: str
    core: Core
    slack: FakeSlack
    discord: FakeDiscord

    def problems(self) -> list[str]:
        if self.platform == "slack":
            return slack_problems(self.slack)
        return discord_problems(self.discord)


@pytest.fixture(params=PLATFORMS)
async def chat(
    request: pytest.FixtureRequest,
    herald: StartHerald,
    slack: FakeSlack,
    discord: FakeDiscord,
    betahub: FakeBetaHub,
) -> Chat:
    """Herald on one platform, its channel subscribed to three services."""
    platform = request.param
    env = slack.env("http") if platform == "slack" else discord_env(discord)
    core = await herald(
        **env,
        **betahub_env(betahub),
        **hacknplan_env(),
        **bugherd_env(),
        **userecho_webhook_env(),
        HERALD_SUBMISSION_LIMIT="100",
    )
    channel = SLACK_CHANNEL if platform == "slack" else DISCORD_CHANNEL
    for service in ("hacknplan", "bugherd", "userecho"):
        await subscribe(core, service, channel, platform=platform)
    return Chat(platform, core, slack, discord)


# --- what each platform received --------------------------------------------


def slack_messages(
    slack: FakeSlack, paths: tuple[str, ...] = ("/api/chat.", "/respond/")
) -> Iterator[dict[str, Any]]:
    """Every message body Herald sent to Slack: posts, edits, ephemerals, responses
    (or only those sent to `paths`)."""
    for call in slack.calls:
        if call.path.startswith(paths):
            args: dict[str, Any] = dict(call.form) if call.form else {}
            args.update(call.json if isinstance(call.json, dict) else {})
            yield {k: _decoded(v) if k in ("blocks", "attachments") else v for k, v in args.items()}


def slack_answers(slack: FakeSlack) -> list[dict[str, Any]]:
    """Answers to commands: through the response_url, or, for a card that follow-ups
    will edit, posted by the bot with chat.postMessage (among `slack_messages`)."""
    return list(slack_messages(slack, ("/api/chat.postMessage", "/respond/")))


def slack_parsed_texts(message: dict[str, Any]) -> Iterator[str]:
    """The texts Slack parses for markup: `text` and every mrkdwn object."""
    if isinstance(message.get("text"), str):
        yield message["text"]

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                yield node["text"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk([message.get("blocks"), message.get("attachments")])


def slack_link_targets(message: dict[str, Any]) -> Iterator[str]:
    for text in slack_parsed_texts(message):
        yield from SLACK_LINK.findall(SLACK_DATE.sub("", text))
    for key, value in _items([message.get("blocks"), message.get("attachments")]):
        if key in ("url", "image_url"):
            yield value


def slack_problems(slack: FakeSlack) -> list[str]:
    problems = []
    for message in slack_messages(slack):
        for text in slack_parsed_texts(message):
            bare = SLACK_LINK.sub("", SLACK_DATE.sub("", text))
            if "<" in bare or ">" in bare:
                problems.append(f"live markup in {text!r}")
        problems += [f"unsafe link {t!r}" for t in slack_link_targets(message) if not _safe(t)]
    return problems


def discord_messages(discord: FakeDiscord) -> Iterator[dict[str, Any]]:
    """Every message body Herald sent to Discord: posts, edits, interaction answers."""
    for call in discord.calls:
        body = call.json if isinstance(call.json, dict) else {}
        if call.form.get("payload_json"):
            body = json.loads(call.form["payload_json"])
        yield body.get("data") if isinstance(body.get("data"), dict) else body


def discord_problems(discord: FakeDiscord) -> list[str]:
    problems = []
    for message in discord_messages(discord):
        rendered = [message.get("content") or ""]
        for embed in message.get("embeds") or []:
            rendered += [embed.get("title") or "", embed.get("description") or ""]
            rendered += [f"{f['name']}\n{f['value']}" for f in embed.get("fields") or []]
        for text in rendered:
            for label, target in DISCORD_LINK.findall(text):
                if not _safe(target) or DISCORD_LINK.search(label):
                    problems.append(f"disguised link in {text!r}")
            if DISCORD_REFERENCE.search(text):
                problems.append(f"unescaped reference in {text!r}")
        for key, value in _items(message):
            if key == "url" and not _safe(value):
                problems.append(f"unsafe link {value!r}")
    return problems


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _items(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _items(value)
    elif isinstance(node, list):
        for value in node:
            yield from _items(value)


def _safe(url: str) -> bool:
    return bool(SAFE_URL.fullmatch(url)) and "evil.example" not in url


def answers(chat: Chat) -> list[str]:
    """Every answer to a command, as JSON text."""
    if chat.platform == "slack":
        return [json.dumps(r, ensure_ascii=False) for r in slack_answers(chat.slack)]
    hooks = [c for c in chat.discord.calls if "/webhooks/" in c.path and c.json]
    return [json.dumps(c.json, ensure_ascii=False) for c in hooks]


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not so within {timeout}s"
        await asyncio.sleep(0.02)


# --- the paths ------------------------------------------------------------------


async def slack_command(core: Core, slack: FakeSlack, text: str) -> None:
    """`/report` as Slack sends it: what the user typed, with `&`, `<`, `>` escaped."""
    typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = form_body(slack.slash_command("/report", typed))
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{core.server.port}/slack/events", content=body, headers=sign(body)
        )
    assert response.status_code == 200


async def report(chat: Chat, titles: list[str]) -> None:
    """/report titled and described with each of `titles`, at once; waits for the answers."""
    if chat.platform == "slack":
        before = len(slack_answers(chat.slack))
        lines = [f"description: {t} happens when I open the map title: {t}" for t in titles]
        await asyncio.gather(*(slack_command(chat.core, chat.slack, line) for line in lines))
        await until(lambda: len(slack_answers(chat.slack)) >= before + len(titles))
        return
    payloads = [
        chat.discord.command_interaction(
            "report", {"description": f"{t} happens when I open the map", "title": t}
        )
        for t in titles
    ]
    await asyncio.gather(*(chat.discord.interact(p) for p in payloads))
    await asyncio.gather(*(chat.discord.answer_to(p) for p in payloads))


def work_item(number: int, hostile: str, tag: str) -> dict[str, Any]:
    item = sample("hacknplan", "workitem.created")
    person = {"User": {"Id": 5, "Username": "ada", "Name": hostile}}
    return {
        **item,
        "WorkItemId": number,
        "Title": hostile,
        "Description": hostile,
        "Tags": [{"TagId": 1, "Name": tag}],
        "AssignedUsers": [person],
        "User": person["User"],
    }


def task(number: int, hostile: str) -> dict[str, Any]:
    body = sample("bugherd", "task_create")
    return {
        "task": {
            **body["task"],
            "id": number,
            "local_task_id": number,
            "description": hostile,
            "tag_names": [hostile],
            "project_name": hostile,
            "requester": {"id": 33, "display_name": hostile},
            "admin_link": url_or(hostile, body["task"]["admin_link"]),
            "url": url_or(hostile, "https://skyward.example/signup"),
        }
    }


def comment(number: int, hostile: str) -> dict[str, Any]:
    body = sample("userecho", "comment.created")
    topic = {"id": number, "header": hostile, "url": url_or(hostile, "https://ue.example/t")}
    data = {**body["data"], "id": number, "topic": topic, "text": f"<p>{html.escape(hostile)}</p>"}
    return {**body, "data": {**data, "author": {"id": 78, "name": hostile}}}


async def announce(core: Core) -> None:
    """A card, its edit ("Changed"), thread lines, and cards from two more services."""
    await sent(core, [hacknplan(core, "workitem.created", work_item(i, h, "ui")) for i, h in ON])
    follow_ups = []
    for index, hostile in ON:
        follow_ups.append(hacknplan(core, "workitem.updated", work_item(index, hostile, hostile)))
        said = {**sample("hacknplan", "workitem.comment.created"), "WorkItemId": index}
        said.update(Text=hostile, User={"Id": 6, "Username": hostile})
        follow_ups.append(hacknplan(core, "workitem.comment.created", said))
        attached = {**sample("hacknplan", "workitem.attachment.added"), "WorkItemId": index}
        attached["File"] = {"FileId": 9, "Name": hostile, "Url": url_or(hostile, "https://f.x/a")}
        follow_ups.append(hacknplan(core, "workitem.attachment.added", attached))
    await sent(core, follow_ups)
    await sent(core, [bugherd(core, "task_create", task(1000 + i, h)) for i, h in ON])
    await sent(core, [userecho(core, comment(2000 + i, h)) for i, h in ON])


async def sent(core: Core, webhooks: Iterable[Awaitable[tuple[int, Any]]]) -> None:
    """Send webhooks at once; wait until all are accepted and delivered."""
    answers = await asyncio.gather(*webhooks)
    assert {status for status, _ in answers} <= {200, 202}
    await settled(core)


# --- the tests ------------------------------------------------------------------


async def test_hostile_text_pings_no_one_and_disguises_no_link(
    chat: Chat, betahub: FakeBetaHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_outbound, "CHANNEL_MESSAGES", 100)  # cards, not digests
    monkeypatch.setattr(discord_outbound, "CHANNEL_MESSAGES", 100)
    chat.discord.channel_limit = None
    unsearched = [400] * len(HOSTILE)  # BetaHub's search refuses: no "already here?" prompt
    betahub.script_search(*unsearched)
    await report(chat, HOSTILE)  # confirmation cards
    betahub.script_search(*unsearched)
    betahub.script(*[422] * len(HOSTILE))
    await report(chat, HOSTILE)  # text replies quoting what the user wrote
    answered = answers(chat)
    assert sum("Bug report received" in a for a in answered) == len(HOSTILE)
    assert sum("what you wrote" in a for a in answered) == len(HOSTILE)
    await announce(chat.core)

    assert chat.problems() == []
    if chat.platform == "slack":
        cards = slack_messages(chat.slack, ("/api/chat.postMessage",))
        posted = sum("Bug report received" in json.dumps(m, ensure_ascii=False) for m in cards)
        assert posted == len(HOSTILE), "the cards were posted by the bot, and inspected"
        assert chat.slack.find("POST", "/api/chat.update"), "cards were edited"
        assert any(m["thread_ts"] for m in chat.slack.messages.values()), "threads got lines"
        shown = "\n".join(t for m in slack_messages(chat.slack) for t in slack_parsed_texts(m))
        for hostile in HOSTILE:
            escaped = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            assert escaped in shown, f"{hostile!r} is shown, as text"
    else:
        assert chat.discord.find("PATCH", "/messages/"), "cards were edited"
        assert chat.discord.threads, "threads got lines"
        shown = "\n".join(chat.discord.text_of(m) for m in discord_messages(chat.discord))
        for hostile in HOSTILE:
            assert escape(hostile) in shown, f"{hostile!r} is shown, as text"


async def test_hostile_text_in_digests(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """One message a second in the channel, then a burst: it folds into digests."""
    monkeypatch.setattr(discord_outbound, "CHANNEL_MESSAGES", 1)
    monkeypatch.setattr(discord_outbound, "CHANNEL_WINDOW_SECONDS", 1.0)
    await sent(chat.core, [bugherd(chat.core, "task_create", task(3000, "calm"))])
    await sent(chat.core, [bugherd(chat.core, "task_create", task(4000 + i, h)) for i, h in ON])

    assert chat.problems() == []
    if chat.platform == "slack":
        texts = [t for m in slack_messages(chat.slack) for t in slack_parsed_texts(m)]
    else:
        embeds = [e for m in discord_messages(chat.discord) for e in m.get("embeds") or []]
        texts = [e.get("title") or "" for e in embeds]
    assert any(t.endswith(" updates") or " updates*" in t for t in texts), "a digest was posted"


async def test_a_mention_typed_in_full_on_slack_reaches_betahub_readable(
    herald: StartHerald, slack: FakeSlack, betahub: FakeBetaHub
) -> None:
    """Slack sends a typed `<!channel>` as `&lt;!channel&gt;`: it must not come back live."""
    core = await herald(**slack.env("http"), **betahub_env(betahub))
    await slack_command(core, slack, "description: <!channel> and <<!here>> see the crash")
    (card,) = await slack.wait_for_post()
    assert "Bug report received" in json.dumps(card)
    (created,) = betahub.created
    assert created["issue[description]"].startswith("@channel and @here see the crash\n")
