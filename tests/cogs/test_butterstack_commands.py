"""/build, /deploys, /changelist and /herald config build-role through the real Discord adapter."""

from __future__ import annotations

from typing import Any

import pytest

from bot.models import Colour
from tests.conftest import StartHerald, butterstack_env, discord_env
from tests.fakes import butterstack as fake_butterstack
from tests.fakes.butterstack import OTHER_PROJECT, PROJECT, FakeButterStack
from tests.fakes.discord import ADMIN, EPHEMERAL, FakeDiscord

BUILDERS = 555000000000000001
TESTERS = 555000000000000002


@pytest.fixture
async def bot(
    herald: StartHerald, discord: FakeDiscord, butterstack: FakeButterStack
) -> FakeDiscord:
    butterstack.add_changelist(
        12345,
        "john.doe",
        "Updated character model textures",
        [("//depot/Game/Content/Characters/Warrior/T_Warrior_D.uasset", "edit")],
    )
    await herald(**discord_env(discord), **butterstack_env(butterstack))
    return discord


def md(text: str) -> str:
    return text.replace("_", "\\_")


def interaction(
    discord: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """The INTERACTION_CREATE payload for `/name options`, name holding its subcommands."""
    words = name.split()
    subcommand: Any = None
    if len(words) == 2:
        subcommand = words[1]
    elif len(words) == 3:
        subcommand = (words[1], words[2])
    return discord.command_interaction(words[0], options, subcommand=subcommand, **kwargs)


async def ask(
    discord: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Run a command as a member; the message they finally see."""
    payload = interaction(discord, name, options, **kwargs)
    await discord.interact(payload)
    return await discord.answer_to(payload)


async def ask_privately(
    discord: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Like `ask`, for a command answered only to the caller; checks that it was."""
    payload = interaction(discord, name, options, **kwargs)
    await discord.interact(payload)
    answer = await discord.answer_to(payload)
    (callback,) = discord.callbacks_for(payload)
    assert callback.json["data"]["flags"] & EPHEMERAL, "answered to the caller only"
    return answer


def fields(answer: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in answer["embeds"][0].get("fields", [])}


async def test_build_list_shows_the_latest_builds_with_their_status(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    ok = butterstack.add_build(status="success", duration=1234)
    broken = butterstack.add_build(status="failed", duration=60, platform="linux")
    answer = await ask(bot, "build list", {"limit": 5})

    embed = answer["embeds"][0]
    assert embed["title"] == f"Recent builds of {md(PROJECT)}"
    first, second = embed["description"].splitlines()
    assert first.startswith(f"❌ [Build {md(broken['id'])}]({broken['url']}) (linux · development)")
    assert "FAILED" in first
    assert second.endswith("succeeded · CL 12345 · 20m 34s")
    assert md(ok["id"]) in second
    (query,) = [q for q in butterstack.reads(f"/projects/{PROJECT}/builds") if q["limit"] == "5"]
    assert "status" not in query


async def test_build_list_filters_by_status(bot: FakeDiscord, butterstack: FakeButterStack) -> None:
    butterstack.add_build(status="success", duration=10)
    answer = await ask(bot, "build list", {"status": "failed"})
    assert answer["embeds"][0]["title"] == f"Failed builds of {md(PROJECT)}"
    assert answer["embeds"][0]["description"] == "No failed builds."
    assert any(q.get("status") == "failed" for q in butterstack.reads("/builds"))


async def test_build_status_answers_with_the_full_card(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    build = butterstack.add_build(status="success", duration=1234, configuration="shipping")
    answer = await ask(bot, "build status", {"build_id": build["id"]})

    embed = answer["embeds"][0]
    assert embed["title"] == f"✅ Build {md(build['id'])} succeeded"
    assert embed["color"] == Colour.OK
    assert embed["url"] == build["url"]
    assert fields(answer) == {
        "Platform": "win64 · shipping",
        "Branch": "main",
        "Changelist": "12345 by john.doe\nUpdated character model textures",
        "Started": fields(answer)["Started"],
        "Finished": fields(answer)["Finished"],
        "Duration": "20m 34s",
        "Artifacts": f"[Game-Win64-Shipping.zip](https://cdn.butterstack.com/artifacts/{build['id']}"
        "/Game-Win64-Shipping.zip) · 1.15 GB",
    }
    assert fields(answer)["Started"].endswith(" UTC")
    button = answer["components"][0]["components"][0]
    assert button["url"] == build["url"]


async def test_an_unknown_build_gets_butterstacks_own_message(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    answer = await ask(bot, "build status", {"build_id": "build_nope"})
    assert answer["content"] == "⚠️ Build not found"
    assert answer["flags"] & EPHEMERAL


async def test_deploys_lists_the_latest_deployments(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    build = butterstack.add_build(status="success", duration=10)
    deployment = butterstack.add_deployment(build["id"], status="live")
    answer = await ask(bot, "deploys")
    embed = answer["embeds"][0]
    assert embed["title"] == f"Recent deployments of {md(PROJECT)}"
    assert embed["description"].startswith(f"🚀 Deployment {md(deployment['id'])} to steam/beta")
    assert f"live · build {md(build['id'])}" in embed["description"]


async def test_changelist_shows_author_description_and_files(bot: FakeDiscord) -> None:
    answer = await ask(bot, "changelist", {"number": 12345})
    embed = answer["embeds"][0]
    assert embed["title"] == "Changelist 12345"
    assert embed["description"] == "Updated character model textures"
    assert fields(answer)["Author"] == "john.doe"
    assert fields(answer)["Files (1)"] == (
        "edit: //depot/Game/Content/Characters/Warrior/T\\_Warrior\\_D.uasset"
    )


async def test_an_unknown_changelist_is_said_plainly(bot: FakeDiscord) -> None:
    answer = await ask(bot, "changelist", {"number": 999})
    assert answer["content"] == "⚠️ ButterStack knows no changelist 999."


async def test_a_member_without_the_role_cannot_start_a_build(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    answer = await ask_privately(
        bot, "build trigger", {"platform": "win64", "configuration": "shipping"}
    )
    assert answer["content"] == (
        "⚠️ Only server admins can start builds here. An admin can let a role do it with"
        " /herald config build-role."
    )
    assert butterstack.triggered == []


async def set_build_role(discord: FakeDiscord, role: int, name: str) -> dict[str, Any]:
    return await ask(
        discord,
        "herald config build-role",
        {"role": str(role)},
        option_types={"role": 8},
        permissions=ADMIN,
        resolved={"roles": {str(role): discord.role(role, name)}},
    )


async def test_only_admins_choose_the_build_role(bot: FakeDiscord) -> None:
    answer = await ask(
        bot,
        "herald config build-role",
        {"role": str(BUILDERS)},
        option_types={"role": 8},
        resolved={"roles": {str(BUILDERS): bot.role(BUILDERS, "Builders")}},
    )
    assert answer["content"] == "⚠️ Only admins can use /herald config build-role."


async def test_members_with_the_build_role_start_builds_and_get_the_link(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    confirmed = await set_build_role(bot, BUILDERS, "Builders")
    assert confirmed["content"] == (
        "Members with the Builders role can now start builds with /build trigger."
    )

    refused = await ask_privately(
        bot, "build trigger", {"platform": "win64", "configuration": "shipping"}, roles=[TESTERS]
    )
    assert refused["content"] == (
        "⚠️ Only members with the Builders role (or server admins) can start builds."
    )
    assert butterstack.triggered == []

    answer = await ask_privately(
        bot,
        "build trigger",
        {"platform": "win64", "configuration": "shipping"},
        roles=[TESTERS, BUILDERS],
    )

    assert butterstack.triggered == [
        {"platform": "win64", "configuration": "shipping", "changelist": "latest"}
    ]
    (call,) = butterstack.find("POST", f"/projects/{PROJECT}/builds")
    assert call.headers["Authorization"] == f"Bearer {fake_butterstack.TOKEN}"
    build = next(reversed(butterstack.builds.values()))
    assert (
        answer["content"]
        == f"Build {md(build['id'])} is queued; its card follows it in the channel."
    )
    assert answer["embeds"][0]["title"] == f"⏳ Build {md(build['id'])} pending"
    assert answer["components"][0]["components"][0]["url"] == build["url"]


async def test_an_admin_starts_a_build_of_a_given_changelist(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    answer = await ask(
        bot,
        "build trigger",
        {"platform": "ps5", "configuration": "development", "changelist": "12345"},
        permissions=ADMIN,
    )
    assert butterstack.triggered == [
        {"platform": "ps5", "configuration": "development", "changelist": "12345"}
    ]
    assert fields(answer)["Changelist"].startswith("12345 by john.doe")


async def test_butterstack_refusals_are_shown_as_their_message(
    bot: FakeDiscord, butterstack: FakeButterStack
) -> None:
    answer = await ask_privately(
        bot, "build trigger", {"platform": "amiga", "configuration": "shipping"}, permissions=ADMIN
    )
    assert answer["content"] == "⚠️ Unknown platform 'amiga'"


@pytest.mark.parametrize(
    ("token", "command", "reason"),
    [
        ("bsk_live_wrong", "build list", "Invalid or missing API key"),
        (fake_butterstack.READ_ONLY_TOKEN, "build trigger", "Token lacks required permissions"),
    ],
)
async def test_rejected_credentials_name_the_settings_to_check(
    herald: StartHerald,
    discord: FakeDiscord,
    butterstack: FakeButterStack,
    token: str,
    command: str,
    reason: str,
) -> None:
    await herald(**discord_env(discord), **butterstack_env(butterstack, BUTTERSTACK_TOKEN=token))
    options = {"platform": "win64", "configuration": "shipping"} if "trigger" in command else {}
    answer = await ask(discord, command, options, permissions=ADMIN)
    assert answer["content"] == (
        f"⚠️ ButterStack did not accept Herald's credentials ({reason})."
        " An admin should check BUTTERSTACK_TOKEN and BUTTERSTACK_PROJECT_IDS."
    )
    assert token not in answer["content"]


async def test_several_projects_add_a_project_option(
    herald: StartHerald, discord: FakeDiscord, butterstack: FakeButterStack
) -> None:
    env = butterstack_env(butterstack, BUTTERSTACK_PROJECT_IDS=f"{PROJECT},{OTHER_PROJECT}")
    await herald(**discord_env(discord), **env)
    (deploys,) = [c for c in discord.commands["global"] if c["name"] == "deploys"]
    project = next(o for o in deploys["options"] if o["name"] == "project")
    assert project["choices"] == [
        {"name": PROJECT, "value": PROJECT},
        {"name": OTHER_PROJECT, "value": OTHER_PROJECT},
    ]
    answer = await ask(discord, "deploys", {"project": OTHER_PROJECT})
    assert answer["embeds"][0]["title"] == f"Recent deployments of {md(OTHER_PROJECT)}"
    assert butterstack.reads(f"/projects/{OTHER_PROJECT}/deployments")


async def test_one_project_needs_no_project_option(bot: FakeDiscord) -> None:
    (group,) = [c for c in bot.commands["global"] if c["name"] == "build"]
    names = {sub["name"]: [o["name"] for o in sub.get("options", [])] for sub in group["options"]}
    assert names == {
        "list": ["status", "limit"],
        "status": ["build_id"],
        "trigger": ["platform", "configuration", "changelist"],
    }
    (herald_group,) = [c for c in bot.commands["global"] if c["name"] == "herald"]
    assert int(herald_group["default_member_permissions"]) == ADMIN
