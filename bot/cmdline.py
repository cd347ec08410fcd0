"""Commands typed as text: `/name opt: value opt2: value`, as on the console and Slack.

Text before the first `name:` goes to the first required option, so
`/suggest Add a photo mode` works as people expect.
"""

from __future__ import annotations

import re

from bot.commands import CommandSpec
from bot.errors import UserError


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
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(rest)
        raw[match.group(1)] = rest[match.end() : end].strip()
    return spec, raw
