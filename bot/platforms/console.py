"""The console adapter: Herald's commands typed at a terminal or piped in.

With no chat platform configured this is what `python -m bot` starts, so a
newcomer can try every command locally. Lines look like Discord's own:
`/suggest description: Add a photo mode title: Photo mode`; text before the
first `name:` goes to the first required option (`/suggest Add a photo mode`).
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import re
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from bot.dispatch import error_reply, execute
from bot.errors import UserError
from bot.models import Card, Destination, Invocation, Posted, Reply, User

if TYPE_CHECKING:
    from bot.commands import CommandSpec
    from bot.core import Core

_UNESCAPE = re.compile(r"\\([\\*_`~|\[\]>#-])")
_CHANNEL_MENTION = re.compile(r"<#([^>\s]+)>")
_BOLD = re.compile(r"(?<!\\)\*\*")
TERMINAL_CAPACITY = 1000
QUIT = frozenset({"/quit", "/exit", "quit", "exit"})

CONNECT_HELP = (
    "To connect Discord, set DISCORD_TOKEN in .env; for Slack, SLACK_BOT_TOKEN and"
    " SLACK_APP_TOKEN. .env.example lists every setting."
)


class ConsolePlatform:
    name = "console"

    def __init__(
        self, core: Core, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.core = core
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.user = User(platform="console", id="console", name=getpass.getuser())
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self._ids = itertools.count(1)

    async def start(self) -> None:
        self._say(self._banner())
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read_stdin, args=(loop,), name="console", daemon=True).start()
        self.core.spawn(self._serve(), name="console")

    def status(self) -> str:
        return "closed" if self._closed else "connected"

    async def close(self) -> None:
        self._closed = True

    async def post(self, to: Destination, reply: Reply, *, key: str | None = None) -> Posted:
        where = f"#{to.channel_id}" + (f", thread {to.thread_id}" if to.thread_id else "")
        self._say(f"[{where}] {render(reply)}")
        return Posted(self.name, to.channel_id, str(next(self._ids)))

    async def edit(self, posted: Posted, reply: Reply) -> None:
        self._say(f"[#{posted.channel_id}, message {posted.message_id} edited] {render(reply)}")

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        self._say(f"[private message] {render(reply)}")
        return Posted(self.name, "direct", str(next(self._ids)))

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        return Destination(self.name, posted.channel_id, posted.message_id)

    def capacity(self, to: Destination) -> int:
        return TERMINAL_CAPACITY

    def ready_in(self, to: Destination) -> float:
        return 0.0

    def _read_stdin(self, loop: asyncio.AbstractEventLoop) -> None:
        """Blocking reads on a daemon thread: it never holds up shutdown."""
        for line in self.stdin:
            loop.call_soon_threadsafe(self._lines.put_nowait, line)
        loop.call_soon_threadsafe(self._lines.put_nowait, None)

    async def _serve(self) -> None:
        if self.stdin.isatty():
            self._prompt()
        while (line := await self._lines.get()) is not None:
            line = line.strip()
            if line in QUIT:
                break
            if line:
                await self.handle(line)
            if self.stdin.isatty():
                self._prompt()
        self.core.stop()

    async def handle(self, line: str) -> None:
        """Run one console line and print the reply."""
        if line.lstrip("/") in ("help", "?"):
            self._say(self._help())
            return
        try:
            spec, raw = parse(line, self.core.commands)
            ctx = Invocation(
                command=spec.name,
                user=self.user,
                options=spec.bind(raw),
                guild_id="console",
                channel_id="console",
                is_admin=True,
            )
        except UserError as error:
            self._say(render(error_reply(error.message)))
            return
        self._say(render(await execute(spec, ctx)))

    def _banner(self) -> str:
        lines = ["Herald console: no chat platform is connected, so commands run here."]
        if self.core.commands:
            example = next(iter(self.core.commands.values()))
            lines.append(
                f"Type a command as you would in Discord, for example {example.usage()[7:]}"
            )
        else:
            lines.append("No service is configured yet, so there are no commands to try.")
        lines.extend(
            f"  {name} is off: set {', '.join(needs)} to turn it on"
            for name, needs in sorted(self.core.skipped.items())
        )
        lines.append(CONNECT_HELP)
        lines.append("Type /help for the commands, /quit (or Ctrl-D) to leave.")
        return "\n".join(lines)

    def _help(self) -> str:
        if not self.core.commands:
            return "No commands are loaded. " + CONNECT_HELP
        lines = ["Commands:"]
        for spec in sorted(self.core.commands.values(), key=lambda s: s.name):
            lines.append(f"  /{spec.name}: {spec.description}")
            lines.append(f"    {spec.usage()}")
        return "\n".join(lines)

    def _prompt(self) -> None:
        self.stdout.write("herald> ")
        self.stdout.flush()

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def parse(line: str, commands: dict[str, CommandSpec]) -> tuple[CommandSpec, dict[str, str]]:
    """Split `/name opt: value opt2: value` into the command and its raw options."""
    body = line.strip().lstrip("/")
    for length in (2, 1):
        pieces = body.split(maxsplit=length)
        if len(pieces) >= length and " ".join(pieces[:length]) in commands:
            spec = commands[" ".join(pieces[:length])]
            rest = pieces[length] if len(pieces) > length else ""
            break
    else:
        known = ", ".join(f"/{n}" for n in sorted(commands)) or "none loaded"
        raise UserError(f"Unknown command /{(body.split() or [''])[0]}. Commands: {known}.")
    raw: dict[str, str] = {}
    if not spec.params:
        return spec, raw
    names = "|".join(re.escape(p.name) for p in spec.params)
    matches = list(re.finditer(rf"(?:^|\s)({names}):", rest))
    leading = rest[: matches[0].start()] if matches else rest
    if leading.strip():
        first = next((p for p in spec.params if p.required), spec.params[0])
        raw[first.name] = leading.strip()
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following else len(rest)
        raw[match.group(1)] = rest[match.end() : end].strip()
    return spec, raw


def render(reply: Reply) -> str:
    """A reply as plain text for a terminal."""
    parts = []
    if reply.text:
        parts.append(_plain(reply.text))
    if reply.card:
        parts.append(_card(reply.card))
    parts.extend(f"  [{button.label}] {button.url}" for button in reply.buttons)
    return "\n".join(parts)


def _card(card: Card) -> str:
    lines = []
    if card.title:
        lines.append(_plain(card.title))
    if card.url:
        lines.append(f"  {card.url}")
    if card.description:
        lines.extend(f"  {line}" for line in _plain(card.description).splitlines())
    lines.extend(f"  {field.name}: {_plain(field.value)}" for field in card.fields)
    if card.footer:
        lines.append(f"  {_plain(card.footer)}")
    return "\n".join(lines)


def _plain(text: str) -> str:
    text = _BOLD.sub("", _CHANNEL_MENTION.sub(r"#\1", text))
    return _UNESCAPE.sub(r"\1", text)
