"""What a form (a Discord or Slack modal) shows of an option, in the reader's language.

A form is built while Herald speaks the language of the person who opened
it (`bot.i18n.speaking`): the option's label, its description and its own
choices are the cog's English texts marked with `N_`, translated here.
Choices found live (autocomplete's projects, say) are outside text, shown as
they came.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.commands import Choice, Param
from bot.i18n import _


def label(param: Param) -> str:
    return _(param.title)


def hint(param: Param) -> str:
    return _(param.description)


def choices(param: Param, live: Mapping[str, Sequence[Choice]]) -> list[Choice]:
    """The choices a form offers for `param`: the live ones if any, else its own."""
    found = live.get(param.name)
    if found:
        return list(found)
    return [Choice(_(choice.name), choice.value) for choice in param.choices]
