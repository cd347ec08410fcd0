"""The console adapter: Herald's commands typed at a terminal or piped in.

With no chat platform configured this is what `python -m bot` starts, so a
newcomer can try every command locally. Lines look like Discord's own:
`/suggest description: Add a photo mode title: Photo mode`; text before the
first `name:` goes to the first required option (`/suggest Add a photo mode`);
`bot.cmdline` does the parsing, shared with Slack's slash commands.
A command missing a required option asks for each field in turn (the
console's modal); files are local paths (`attachment: crash.log, shot.png`);
a reply's buttons are pressed with `/press N`.
It speaks `HERALD_LANGUAGE` (by default the terminal's own locale).
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.cmdline import parse
from bot.commands import CommandSpec, OptionKind, Param
from bot.dispatch import error_reply, execute, execute_action
from bot.errors import UserError
from bot.i18n import N_, _, speaking
from bot.models import (
    ActionButton,
    Attachment,
    Card,
    Destination,
    Invocation,
    LinkButton,
    Posted,
    Reply,
    User,
)

if TYPE_CHECKING:
    from bot.core import Core

_UNESCAPE = re.compile(r"\\([\\*_`~|\[\]<>#-])")
_CHANNEL_MENTION = re.compile(r"(?<!\\)<#([^>\s]+)>")
_BOLD = re.compile(r"(?<!\\)\*\*")
TERMINAL_CAPACITY = 1000
QUIT = frozenset({"/quit", "/exit", "quit", "exit"})

CONNECT_HELP = N_(
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
        self.language = core.settings.herald_language
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self._ids = itertools.count(1)
        self._actions: list[ActionButton] = []

    async def start(self) -> None:
        with speaking(self.language):
            self._say(self._banner())
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read_stdin, args=(loop,), name="console", daemon=True).start()
        self.core.spawn(self._serve(), name="console")

    def status(self) -> str:
        return "closed" if self._closed else "connected"

    async def close(self) -> None:
        self._closed = True

    async def post(
        self, to: Destination, reply: Reply, *, key: str | None = None, plain: bool = False
    ) -> Posted:
        where = f"#{to.channel_id}"
        if to.thread_id:
            where = _("#{channel}, thread {thread}", channel=to.channel_id, thread=to.thread_id)
        self._say(f"[{where}] {render(reply)}")
        return Posted(self.name, to.channel_id, str(next(self._ids)))

    async def edit(self, posted: Posted, reply: Reply, *, plain: bool = False) -> None:
        edited = _(
            "#{channel}, message {message} edited",
            channel=posted.channel_id,
            message=posted.message_id,
        )
        self._say(f"[{edited}] {render(reply)}")

    async def find_posted(self, to: Destination, key: str, since: float) -> Posted | None:
        """A terminal never loses an answer: nothing to look for."""
        return None

    async def direct(self, user_id: str, reply: Reply) -> Posted:
        self._say(f"[{_('private message')}] {render(reply)}")
        return Posted(self.name, "direct", str(next(self._ids)))

    async def open_thread(self, posted: Posted, name: str) -> Destination:
        return Destination(self.name, posted.channel_id, posted.message_id)

    def capacity(self, to: Destination) -> int:
        return TERMINAL_CAPACITY

    def ready_in(self, to: Destination) -> float:
        return 0.0

    def channel_language(self, channel_id: str) -> str | None:
        """The terminal speaks HERALD_LANGUAGE unless a language is set for it."""
        return None

    def _read_stdin(self, loop: asyncio.AbstractEventLoop) -> None:
        """Blocking reads on a daemon thread: it never holds up shutdown.

        An unreadable stdin (closed, or not a stream) counts as its end.
        """
        try:
            for line in self.stdin:
                loop.call_soon_threadsafe(self._lines.put_nowait, line)
        except (OSError, ValueError):
            pass
        finally:
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
        """Run one console line and print the reply, in the console's language."""
        with speaking(self.language):
            await self._handle(line)

    async def _handle(self, line: str) -> None:
        if line.lstrip("/") in ("help", "?"):
            self._say(self._help())
            return
        if line.startswith("/press"):
            await self._press(line.removeprefix("/press").strip())
            return
        raw: dict[str, Any] | None
        try:
            spec, raw = parse(line, self.core.commands)
            if spec.missing(raw):
                raw = await self._ask(spec, raw)
                if raw is None:
                    self._say(_("Cancelled."))
                    return
            ctx = self._invocation(spec.name)
            ctx.options = spec.bind(_files(spec, raw))
        except UserError as error:
            self._say(render(error_reply(error.message)))
            return
        self._show(await execute(spec, ctx, self.core))

    def _invocation(self, command: str) -> Invocation:
        return Invocation(
            command=command,
            user=self.user,
            guild_id="console",
            channel_id="console",
            locale=self.language,
            is_admin=True,
        )

    async def _ask(self, spec: CommandSpec, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The console's form: ask for each option not given; None when cancelled."""
        self._say(
            _(
                "/{command}: {description}. Enter each field (empty skips an optional one).",
                command=spec.name,
                description=_(spec.description),
            )
        )
        answers = dict(raw)
        for param in spec.params:
            if param.name in answers:
                continue
            self.stdout.write(f"{_question(param)}: ")
            self.stdout.flush()
            answer = await self._lines.get()
            if answer is None:
                return None
            if answer.strip():
                answers[param.name] = answer.strip()
            elif param.required:
                return None
        return answers

    async def _press(self, which: str) -> None:
        if not which.isdigit() or not 1 <= int(which) <= len(self._actions):
            self._say(
                render(error_reply(_("There is no such button; /press takes a button's number.")))
            )
            return
        button = self._actions[int(which) - 1]
        ctx = self._invocation(button.action)
        self._show(await execute_action(button.action, button.argument, ctx, self.core))

    def _show(self, reply: Reply) -> None:
        self._actions = [b for b in reply.buttons if isinstance(b, ActionButton)]
        self._say(render(reply, self._actions))

    def _banner(self) -> str:
        lines = [_("Herald console: no chat platform is connected, so commands run here.")]
        if self.core.commands:
            # A player's command makes the best first example; admin settings come last.
            example = min(self.core.commands.values(), key=lambda c: (c.admin, " " in c.name))
            lines.append(
                _(
                    "Type a command as you would in Discord, for example {example}",
                    example=_command_line(example),
                )
            )
        else:
            lines.append(_("No service is configured yet, so there are no commands to try."))
        lines.extend(
            "  "
            + _(
                "{service} is off: set {settings} to turn it on",
                service=name,
                settings=", ".join(needs),
            )
            for name, needs in sorted(self.core.skipped.items())
        )
        lines.append(_(CONNECT_HELP))
        lines.append(
            _(
                "Announcements for channels subscribed here print in this console;"
                ' {readme}, "{section}", shows how to send a sample webhook.',
                readme="README.md",
                section="Trying it locally",
            )
        )
        lines.append(_("Type /help for the commands, /quit (or Ctrl-D) to leave."))
        return "\n".join(lines)

    def _help(self) -> str:
        if not self.core.commands:
            return f"{_('No commands are loaded.')} {_(CONNECT_HELP)}"
        lines = [_("Commands:")]
        for spec in sorted(self.core.commands.values(), key=lambda s: s.name):
            lines.append(f"  /{spec.name}: {_(spec.description)}")
            lines.append(f"    {spec.usage()}")
        return "\n".join(lines)

    def _prompt(self) -> None:
        self.stdout.write("herald> ")
        self.stdout.flush()

    def _say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()


def render(reply: Reply, actions: list[ActionButton] | None = None) -> str:
    """A reply as plain text for a terminal; `actions` numbers its buttons for /press."""
    parts = []
    if reply.text:
        parts.append(_plain(reply.text))
    if reply.card:
        parts.append(_card(reply.card))
    for button in reply.buttons:
        if isinstance(button, LinkButton):
            parts.append(f"  [{button.label}] {button.url}")
        elif actions is not None and button in actions:
            press = _("type /press {number}", number=actions.index(button) + 1)
            parts.append(f"  [{button.label}] {press}")
    return "\n".join(parts)


def _question(param: Param) -> str:
    """How the console's form asks for an option: `Steps (optional)`, with its choices."""
    field = _(param.title)
    if param.choices:
        values = ", ".join(str(c.value) for c in param.choices)
        if param.required:
            return _("{field} (required: {choices})", field=field, choices=values)
        return _("{field} (optional: {choices})", field=field, choices=values)
    if param.required:
        return _("{field} (required)", field=field)
    return _("{field} (optional)", field=field)


def _command_line(spec: CommandSpec) -> str:
    """A command as typed (`/suggest description: …`): its usage, less the `Usage:` word."""
    usage = spec.usage()
    return usage[usage.index("/") :]


def _files(spec: CommandSpec, raw: dict[str, Any]) -> dict[str, Any]:
    """File options name local paths (comma-separated): they become attachments."""
    converted = dict(raw)
    for param in spec.params:
        value = raw.get(param.name)
        if param.kind is OptionKind.ATTACHMENT and isinstance(value, str) and value.strip():
            files = [_local_file(path.strip()) for path in value.split(",") if path.strip()]
            converted[param.name] = files if param.is_list else files[0]
    return converted


def _local_file(name: str) -> Attachment:
    path = Path(name).expanduser()
    if not path.is_file():
        raise UserError(_("There is no file {name}.", name=name))
    return Attachment(path.name, path.resolve().as_uri(), path.stat().st_size, local=True)


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
        lines.append(f"  {card.footer}")
    return "\n".join(lines)


def _plain(text: str) -> str:
    text = _BOLD.sub("", _CHANNEL_MENTION.sub(r"#\1", text))
    return _UNESCAPE.sub(r"\1", text)
