"""Commands typed as text: `/name opt: value opt2: value`, as on the console and Slack.

Text before the first `name:` goes to the first required option, so
`/suggest Add a photo mode` works as people expect. Where that option (or one
after it) has choices, a first word that is one of them fills it and the
rest goes on to the next option: `/herald deliveries retry #builds`; an
optional option with choices is passed over when the word is none of them.
"""

from __future__ import annotations

import re

from bot.commands import CommandSpec, Param
from bot.errors import UserError
from bot.i18n import _


def parse(line: str, commands: dict[str, CommandSpec]) -> tuple[CommandSpec, dict[str, str]]:
    """Split `/name opt: value opt2: value` into the command and its raw options."""
    body = line.strip().lstrip("/")
    for length in (3, 2, 1):
        pieces = body.split(maxsplit=length)
        if len(pieces) >= length and " ".join(pieces[:length]) in commands:
            spec = commands[" ".join(pieces[:length])]
            rest = pieces[length] if len(pieces) > length else ""
            break
    else:
        known = ", ".join(f"/{n}" for n in sorted(commands)) or _("none loaded")
        raise UserError(
            _(
                "Unknown command /{name}. Commands: {known}.",
                name=(body.split() or [""])[0],
                known=known,
            )
        )
    raw: dict[str, str] = {}
    if not spec.params:
        return spec, raw
    names = "|".join(re.escape(p.name) for p in spec.params)
    matches = list(re.finditer(rf"(?:^|\s)({names}):", rest))
    leading = rest[: matches[0].start()] if matches else rest
    named = {m.group(1) for m in matches}
    first = next((i for i, p in enumerate(spec.params) if p.required), 0)
    raw.update(_positional([p for p in spec.params[first:] if p.name not in named], leading))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(rest)
        raw[match.group(1)] = rest[match.end() : end].strip()
    return spec, raw


def _positional(params: list[Param], text: str) -> dict[str, str]:
    """Leading text spread over `params` in order (see the module docstring)."""
    raw: dict[str, str] = {}
    text = text.strip()
    for index, param in enumerate(params):
        if not text:
            break
        word, _space, after = text.partition(" ")
        last = index == len(params) - 1
        if param.choices and not last:
            if word.lower() in {str(v).lower() for c in param.choices for v in (c.name, c.value)}:
                raw[param.name], text = word, after.strip()
                continue
            if not param.required:
                continue
        raw[param.name] = text
        break
    return raw
