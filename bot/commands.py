"""Commands defined once, in their cog, and registered by every platform adapter.

A command is a cog method decorated with `@command`, whose parameters after the
invocation are annotated `Annotated[type, Option(...)]`. The signature is the
single definition: the Python type gives the option kind, a default makes it
optional, `Option` adds the description and limits. `list[Attachment]` takes
up to `Option.max_items` files. Adapters read the
resulting `CommandSpec`; `CommandSpec.bind` validates raw values the same way
for every platform, so a console user and a Discord user get the same answer.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, TypeVar, get_args, get_origin

from bot.errors import UserError
from bot.i18n import _, _n, format_number
from bot.models import Attachment, Channel, Invocation, Reply, Role

Handler = Callable[..., Awaitable[Reply]]
AutocompleteHandler = Callable[[Invocation, str], Awaitable[list["Choice"]]]
ActionHandler = Callable[[Invocation, str], Awaitable[Reply]]
F = TypeVar("F", bound=Callable[..., Any])

COMMAND_ATTR = "__herald_command__"
ACTION_ATTR = "__herald_action__"


class OptionKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ATTACHMENT = "attachment"
    ROLE = "role"
    CHANNEL = "channel"


_KINDS: dict[type, OptionKind] = {
    str: OptionKind.TEXT,
    int: OptionKind.INTEGER,
    float: OptionKind.NUMBER,
    bool: OptionKind.BOOLEAN,
    Attachment: OptionKind.ATTACHMENT,
    Role: OptionKind.ROLE,
    Channel: OptionKind.CHANNEL,
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of an option, with the label people see."""

    name: str
    value: str | int | float


@dataclass(frozen=True, slots=True)
class Option:
    """Metadata for one command option, used inside `Annotated[...]`.

    `autocomplete` names a cog method `(ctx, current) -> list[Choice]`.
    `paragraph` asks modal-capable platforms for a multi-line input.
    `too_short` replaces the generic message when text is under `min_length`.
    `max_items` is how many files a `list[Attachment]` option takes.
    `description`, `label`, `too_short` and choice names are English marked with
    `N_`: they are translated where they are shown.
    """

    description: str
    min_length: int | None = None
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    choices: Sequence[Choice | str] = ()
    autocomplete: str | None = None
    paragraph: bool = False
    label: str | None = None
    too_short: str | None = None
    max_items: int = 1


@dataclass(frozen=True, slots=True)
class Param:
    """An option as adapters see it: kind, requiredness and limits resolved."""

    name: str
    kind: OptionKind
    description: str
    required: bool
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[Choice, ...] = ()
    autocomplete: str | None = None
    paragraph: bool = False
    label: str | None = None
    too_short: str | None = None
    many: int = 0

    @property
    def title(self) -> str:
        """A human label for forms and messages (`steps` -> `Steps`), in the current
        language when the option has a `label`."""
        return _(self.label) if self.label else self.name.replace("_", " ").capitalize()

    @property
    def is_list(self) -> bool:
        """True for `list[Attachment]`: the value is a list of up to `many` items."""
        return self.many > 0


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """What `@command` records on the function, before the cog binds it."""

    name: str
    description: str
    ephemeral: bool
    admin: bool
    message_menu: str | None = None
    message_option: str | None = None


@dataclass(slots=True)
class CommandSpec:
    """A command bound to its cog, ready for adapters to register.

    `message_menu` names a message context-menu entry ("Report as bug") that
    runs this command with `message_option` prefilled from the message.
    """

    name: str
    description: str
    params: list[Param]
    handler: Handler
    cog: str
    ephemeral: bool = False
    admin: bool = False
    autocompleters: dict[str, AutocompleteHandler] = field(default_factory=dict)
    message_menu: str | None = None
    message_option: str | None = None

    @property
    def path(self) -> list[str]:
        """`"build trigger"` -> `["build", "trigger"]`: group then subcommand."""
        return self.name.split()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validate raw option values and return typed keyword arguments.

        Values may arrive typed (Discord) or as strings (console, Slack);
        anything missing, out of range or not a choice raises `UserError`
        with a sentence the user can act on.
        """
        unknown = sorted(set(raw) - {p.name for p in self.params})
        if unknown:
            wrong = _(
                "/{command} has no option {options}.", command=self.name, options=", ".join(unknown)
            )
            raise UserError(f"{wrong} {self.usage()}")
        return {param.name: self._value(param, raw.get(param.name)) for param in self.params}

    def problems(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """What is wrong with each option, for forms that show it beside the field."""
        found: dict[str, str] = {}
        for param in self.params:
            try:
                self._value(param, raw.get(param.name))
            except UserError as error:
                found[param.name] = error.message
        return found

    def _value(self, param: Param, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == []:
            if param.required:
                wanted = _("Please give a {option}.", option=param.name)
                raise UserError(f"{wanted} {self.usage()}")
            return [] if param.is_list else param.default
        return _check_list(param, value) if param.is_list else _check(param, value)

    def missing(self, raw: Mapping[str, Any]) -> list[Param]:
        """The required parameters `raw` leaves empty (what a form must ask for)."""
        return [p for p in self.params if p.required and raw.get(p.name) in (None, "", [])]

    def usage(self) -> str:
        parts = [f"/{self.name}"]
        for p in self.params:
            parts.append(f"{p.name}: …" if p.required else f"[{p.name}: …]")
        return _("Usage: {command}", command=" ".join(parts))


def _check_list(param: Param, value: Any) -> list[Any]:
    items = list(value) if isinstance(value, list | tuple) else [value]
    if len(items) > param.many:
        raise UserError(
            _(
                "You can give at most {limit} for {option}; you gave {count}.",
                limit=format_number(param.many),
                option=param.name,
                count=format_number(len(items)),
            )
        )
    return [_check(param, item) for item in items]


def _check(param: Param, value: Any) -> Any:
    value = _coerce(param, value)
    if param.kind is OptionKind.TEXT:
        if param.min_length is not None and len(value) < param.min_length:
            raise UserError(
                _(param.too_short)
                if param.too_short
                else _n(
                    "The {option} is too short ({count} character); it needs at least {minimum}.",
                    "The {option} is too short ({count} characters); it needs at least {minimum}.",
                    len(value),
                    option=param.name,
                    minimum=format_number(param.min_length),
                )
            )
        if param.max_length is not None and len(value) > param.max_length:
            raise UserError(
                _n(
                    "The {option} is too long ({count} character); the limit is {limit}.",
                    "The {option} is too long ({count} characters); the limit is {limit}.",
                    len(value),
                    option=param.name,
                    limit=format_number(param.max_length),
                )
            )
    if param.kind in (OptionKind.INTEGER, OptionKind.NUMBER):
        if param.min_value is not None and value < param.min_value:
            raise UserError(
                _(
                    "The {option} must be at least {minimum}.",
                    option=param.name,
                    minimum=format_number(param.min_value),
                )
            )
        if param.max_value is not None and value > param.max_value:
            raise UserError(
                _(
                    "The {option} must be at most {maximum}.",
                    option=param.name,
                    maximum=format_number(param.max_value),
                )
            )
    if param.choices:
        allowed = {str(c.value).lower(): c.value for c in param.choices}
        allowed.update({c.name.lower(): c.value for c in param.choices})
        if str(value).lower() not in allowed:
            names = ", ".join(str(c.value) for c in param.choices)
            raise UserError(
                _("The {option} must be one of: {choices}.", option=param.name, choices=names)
            )
        value = allowed[str(value).lower()]
    return value


def _coerce(param: Param, value: Any) -> Any:
    if param.kind is OptionKind.INTEGER and not isinstance(value, int):
        try:
            return int(str(value))
        except ValueError:
            raise UserError(_("The {option} must be a whole number.", option=param.name)) from None
    if param.kind is OptionKind.NUMBER and not isinstance(value, int | float):
        try:
            return float(str(value))
        except ValueError:
            raise UserError(_("The {option} must be a number.", option=param.name)) from None
    if param.kind is OptionKind.BOOLEAN and isinstance(value, str):
        lowered = value.lower()
        if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
            raise UserError(_("The {option} must be yes or no.", option=param.name))
        return lowered in ("true", "yes", "on", "1")
    if param.kind is OptionKind.TEXT:
        return str(value)
    if param.kind is OptionKind.ROLE and not isinstance(value, Role):
        return _role(str(value))
    if param.kind is OptionKind.CHANNEL and not isinstance(value, Channel):
        return _channel(str(value))
    if param.kind is OptionKind.ATTACHMENT and not isinstance(value, Attachment):
        raise UserError(_("The {option} must be a file.", option=param.name))
    return value


def _role(text: str) -> Role:
    """A typed role: a mention (`<@&123>`, Slack's `<!subteam^S1|@name>`), or an id."""
    text = text.strip()
    group = re.fullmatch(r"<!subteam\^(\w+)(?:\|@?([^>]*))?>", text)
    if group:
        return Role(id=group.group(1), name=group.group(2) or group.group(1))
    return Role(id=re.sub(r"\D", "", text) or text, name=text.lstrip("@"))


def _channel(text: str) -> Channel:
    """A typed channel: `#name`, a bare id, or a mention (`<#123>`, Slack's `<#C1|name>`)."""
    text = text.strip()
    if text.startswith("<#") and text.endswith(">"):
        ident, _bar, name = text[2:-1].partition("|")
        return Channel(id=ident, name=name or None)
    name = text.lstrip("#")
    return Channel(id=name, name=name)


def command(
    name: str,
    description: str,
    *,
    ephemeral: bool = False,
    admin: bool = False,
    message_menu: str | None = None,
    message_option: str | None = None,
) -> Callable[[F], F]:
    """Mark a cog method as a command.

    `name` may hold spaces to nest it: `"build trigger"` is a subcommand,
    `"herald config build-role"` one in a subgroup (three words at most).
    `ephemeral` answers only the caller; `admin` needs Manage Server on Discord
    (or the platform's equivalent). `message_menu` (with `message_option`)
    also offers the command on messages: the option starts as the message text
    and the handler finds the message in `ctx.message`.
    """
    if not 1 <= len(description) <= 100:
        raise ValueError(f"/{name}: a description is 1 to 100 characters")
    if len(name.split()) > 3:
        raise ValueError(f"/{name}: at most a group, a subgroup and a command")
    if (message_menu is None) != (message_option is None):
        raise ValueError(f"/{name}: message_menu and message_option go together")

    def mark(func: F) -> F:
        info = CommandInfo(name, description, ephemeral, admin, message_menu, message_option)
        setattr(func, COMMAND_ATTR, info)
        return func

    return mark


def action(name: str) -> Callable[[F], F]:
    """Mark a cog method `(ctx, argument) -> Reply` as what an `ActionButton` runs.

    Buttons name it `"<cog name>:<name>"`; it must work after a restart, so it
    finds what it acts on from `argument` (an id in the store), not from memory.
    """

    def mark(func: F) -> F:
        setattr(func, ACTION_ATTR, name)
        return func

    return mark


def build_spec(cog: object, method: Handler, info: CommandInfo, cog_name: str) -> CommandSpec:
    """Read a bound method's signature into a `CommandSpec`."""
    hints = typing.get_type_hints(method, include_extras=True)
    params: list[Param] = []
    signature = inspect.signature(method)
    for index, (pname, parameter) in enumerate(signature.parameters.items()):
        if index == 0:
            continue
        params.append(_param(info.name, pname, hints.get(pname), parameter))
    autocompleters = {
        p.name: getattr(cog, p.autocomplete) for p in params if p.autocomplete is not None
    }
    if info.message_option is not None and info.message_option not in {p.name for p in params}:
        raise TypeError(f"/{info.name}: message_option {info.message_option!r} is not an option")
    return CommandSpec(
        name=info.name,
        description=info.description,
        params=params,
        handler=method,
        cog=cog_name,
        ephemeral=info.ephemeral,
        admin=info.admin,
        autocompleters=autocompleters,
        message_menu=info.message_menu,
        message_option=info.message_option,
    )


def _param(command_name: str, name: str, hint: Any, parameter: inspect.Parameter) -> Param:
    if get_origin(hint) is not Annotated:
        raise TypeError(f"/{command_name} {name}: annotate as Annotated[type, Option(...)]")
    base, *extras = get_args(hint)
    option = next((e for e in extras if isinstance(e, Option)), None)
    if option is None:
        raise TypeError(f"/{command_name} {name}: Annotated needs an Option(...)")
    optional = _is_optional(base)
    base = _strip_none(base)
    many = 0
    if get_origin(base) is list:
        (base,) = get_args(base)
        many = option.max_items
        if base is not Attachment or many < 1:
            raise TypeError(f"/{command_name} {name}: only list[Attachment] lists are supported")
    if base not in _KINDS:
        raise TypeError(f"/{command_name} {name}: unsupported option type {base!r}")
    has_default = parameter.default is not inspect.Parameter.empty
    return Param(
        name=name,
        kind=_KINDS[base],
        description=option.description,
        required=not has_default and not optional,
        default=parameter.default if has_default else None,
        min_length=option.min_length,
        max_length=option.max_length,
        min_value=option.min_value,
        max_value=option.max_value,
        choices=tuple(c if isinstance(c, Choice) else Choice(c, c) for c in option.choices),
        autocomplete=option.autocomplete,
        paragraph=option.paragraph,
        label=option.label,
        too_short=option.too_short,
        many=many,
    )


def _is_optional(hint: Any) -> bool:
    return get_origin(hint) in (typing.Union, types.UnionType) and type(None) in get_args(hint)


def _strip_none(hint: Any) -> Any:
    if not _is_optional(hint):
        return hint
    rest = [a for a in get_args(hint) if a is not type(None)]
    return rest[0] if len(rest) == 1 else hint
