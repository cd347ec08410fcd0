"""With no chat platform, announcements print in the console: try a webhook locally."""

from __future__ import annotations

import pytest

from tests.announcing import hacknplan, sample, settled
from tests.conftest import StartHerald, hacknplan_env


async def test_a_sample_webhook_shows_its_card_in_the_console(
    herald: StartHerald, capsys: pytest.CaptureFixture[str]
):
    core = await herald(**hacknplan_env())
    console = core.platform("console")
    await console.handle("/subscribe service: hacknplan")
    await hacknplan(core, "workitem.created", sample("hacknplan", "workitem.created"))
    # Posted before the update arrives (else the two fold into one card, as intended).
    await settled(core)
    await hacknplan(core, "workitem.updated", sample("hacknplan", "workitem.updated"))
    await hacknplan(
        core, "workitem.comment.created", sample("hacknplan", "workitem.comment.created")
    )
    await settled(core)

    out = capsys.readouterr().out
    assert "✅ #console will announce every HacknPlan event." in out
    assert "[#console] #42 Double jump feels floaty" in out
    assert "[#console, message 1 edited] #42 Double jump feels floaty" in out
    assert "  Stage: In progress" in out
    assert "[#console, thread 1] 💬 bob: Tried 0.8 gravity" in out


async def test_hostile_text_prints_as_it_was_written(
    herald: StartHerald, capsys: pytest.CaptureFixture[str]
):
    core = await herald(**hacknplan_env())
    console = core.platform("console")
    await console.handle("/subscribe service: hacknplan")
    item = sample("hacknplan", "workitem.created")
    item.update(Title="<#C1> and <!here>", Tags=[{"TagId": 1, "Name": "[a](https://e.x)"}])
    await hacknplan(core, "workitem.created", item)
    await settled(core)

    out = capsys.readouterr().out
    assert "[#console] #42 <#C1> and <!here>" in out
    assert "  Tags: [a](https://e.x)" in out
