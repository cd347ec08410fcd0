"""HERALD_TRACKER_LANGUAGE: Herald's additions to a tracker item speak the project's
language, the player's text goes as written, and the public card the channel's."""

from __future__ import annotations

import pytest

from bot.i18n import translate
from tests.conftest import StartHerald, betahub_env, discord_env, unmarked, userecho_env
from tests.fakes.betahub import FakeBetaHub
from tests.fakes.discord import CHANNEL_ID, FakeDiscord
from tests.fakes.userecho import FakeUserEcho

FROM_A_MESSAGE = "From a message by {author}: {url}"
POSTED_FROM = "— posted from {place} by {user}"
PLAYER_TEXT = "Le jeu plante quand je charge ma partie, écran noir après 3 s"


@pytest.fixture
async def bot(
    herald: StartHerald, discord: FakeDiscord, betahub: FakeBetaHub, userecho: FakeUserEcho
) -> FakeDiscord:
    services = {**betahub_env(betahub), **userecho_env(userecho)}
    await herald(**discord_env(discord), **services, HERALD_TRACKER_LANGUAGE="de-DE")
    return discord


async def test_herald_additions_speak_the_tracker_language_and_the_players_text_is_kept(
    bot: FakeDiscord, betahub: FakeBetaHub
) -> None:
    message = bot.message_payload(PLAYER_TEXT)
    opened = bot.message_command_interaction("Report as bug", message)
    await bot.opened_modal(opened)
    submit = bot.modal_submit(opened, {"title": "Écran noir"})
    submit["locale"] = "fr"
    await bot.interact(submit)
    (posted,) = await bot.wait_for("POST", f"/channels/{CHANNEL_ID}/messages")

    link = f"https://discord.com/channels/222222222222222222/{CHANNEL_ID}/{message['id']}"
    addition = translate(FROM_A_MESSAGE, "de", author="Grace", url=link)
    assert addition != FROM_A_MESSAGE.format(author="Grace", url=link), "German, not English"
    sent = unmarked(betahub.created[0]["issue[description]"])
    assert sent == f"{PLAYER_TEXT}\n\n{addition}"
    assert PLAYER_TEXT.encode() in sent.encode(), "the player's text goes byte for byte"

    # The card is public: it speaks the channel's language (the server's: English here).
    assert posted.json["embeds"][0]["title"] == "Bug report received: Écran noir"


async def test_a_forum_topic_is_signed_in_the_tracker_language(
    bot: FakeDiscord, userecho: FakeUserEcho
) -> None:
    payload = bot.command_interaction(
        "topic", {"title": "Mode daltonien", "description": PLAYER_TEXT}
    )
    payload["locale"] = "fr"
    await bot.interact(payload)
    answer = await bot.answer_to(payload)

    (call,) = userecho.find("POST", "/topics.json")
    signature = translate(POSTED_FROM, "de", place="Discord", user="Ada")
    assert signature != POSTED_FROM.format(place="Discord", user="Ada"), "German, not English"
    assert unmarked(call.json["description"]) == f"{PLAYER_TEXT}\n\n{signature}"
    assert answer["embeds"][0]["title"] == "Topic posted: Mode daltonien"
