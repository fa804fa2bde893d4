"""A DM with a file (``subtype: file_share``), as Slack's own Bolt tests deliver it,
is answered: the text is, the file is said to be unread.

Fixture: ``tests/fixtures/slack/message_file_share_event.json`` (slackapi/bolt-python;
see its ``.source.txt``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from bot.chat.service import attachments_note
from tests.bot.test_slack import OPERATOR, VIEWER, answers, slack_rig

FIXTURE: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "slack" / "message_file_share_event.json").read_text()
)


def _dm(event_id: str, user: str, text: str, ts: str) -> str:
    body = copy.deepcopy(FIXTURE)
    body["event_id"] = event_id
    body["event"].update(user=user, channel="D111", channel_type="im", ts=ts, event_ts=ts)
    body["event"]["text"] = text
    return json.dumps(body)


async def test_a_dm_with_a_file_is_answered_and_the_file_is_said_to_be_unread(
    tmp_path: Path,
) -> None:
    async with slack_rig(tmp_path) as rig:
        await rig.app.monitor.poll_once()
        status, _t, _s = await rig.signed(
            _dm("Ev0FILE1", OPERATOR, "how is the battery?", "1652227646.593159"),
            content_type="application/json",
        )
        assert status == 200
        status, _t, _s = await rig.signed(
            _dm("Ev0FILE2", VIEWER, "", "1652227647.000100"), content_type="application/json"
        )
        assert status == 200
        await rig.fake.wait_for(lambda: len(answers(rig.fake)) >= 2, what="two answers")
        assert await rig.inflight.drain(10)
        by_thread = {p.args["thread_ts"]: p.args["text"] for p in answers(rig.fake)}
        with_text = by_thread["1652227646.593159"]
        assert with_text.startswith("Demo home lab: Battery at")
        assert "I don't read attachments" in with_text and "file.png" in with_text
        only_file = by_thread["1652227647.000100"]
        assert only_file.startswith("(I don't read attachments")
        assert "kb ingest" not in only_file  # a viewer is not told how to add documents


def test_an_admin_is_told_how_to_add_a_knowledge_document() -> None:
    names = tuple(f["name"] for f in FIXTURE["event"]["files"])
    assert "commandcenter kb ingest PATH" in attachments_note(names, admin=True)
    assert "kb ingest" not in attachments_note(names, admin=False)
