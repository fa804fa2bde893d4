"""The console adapter: cards as text, numbered buttons, typed lines from a real pipe."""

from __future__ import annotations

import asyncio
import io
import logging
import os
from pathlib import Path

import pytest

from bot.chat.base import Click, InboundMessage
from bot.chat.console import ConsoleAdapter, render_card
from tools.cards import Button, Card


def approval_card(
    action_id: str = "abc123", *, title: str = "Approval needed: Stop miners"
) -> Card:
    return Card(
        kind="action",
        title=title,
        text="Battery at 38 %.\nMiners running: miner-1.",
        fields=[("Action", "Stop miner-1 at Demo"), ("Expected effect", "removes 1.45 kW")],
        buttons=[
            Button(label="Approve", action="approve", value=action_id, style="primary"),
            Button(label="Reject", action="reject", value=action_id, style="danger"),
        ],
        tone="warning",
        footer="request abc123 · requested by console:olga",
    )


def test_render_card_shows_everything() -> None:
    text = render_card(approval_card(), [7, 8])
    lines = text.splitlines()
    assert lines[0] == "[! ] Approval needed: Stop miners"
    assert "     Battery at 38 %." in lines
    assert "     Miners running: miner-1." in lines
    # fields are aligned on the longest name
    assert "     Action          : Stop miner-1 at Demo" in lines
    assert "     Expected effect : removes 1.45 kW" in lines
    assert "     [7] Approve   [8] Reject" in lines
    assert lines[-1] == "     (request abc123 · requested by console:olga)"


def test_render_card_without_buttons_or_footer() -> None:
    card = Card(kind="battery", title="Battery", fields=[("SOC", "55 %")], tone="critical")
    assert render_card(card, []) == "[!!] Battery\n     SOC : 55 %"
    assert render_card(Card(kind="x", title="Hi", tone="good"), []) == "[ok] Hi"


async def test_post_then_update_renumbers_buttons() -> None:
    out = io.StringIO()
    console = ConsoleAdapter(out=out, channel="#demo")
    ref = await console.post("#demo", text="heads up", card=approval_card("first"))
    assert ref == {"platform": "console", "channel": "#demo", "ref": "1"}
    printed = out.getvalue()
    assert "#demo bot> heads up" in printed
    assert "[1] Approve   [2] Reject" in printed
    assert console.button(1) == approval_card("first").buttons[0]

    other = await console.post("#demo", card=approval_card("other"))
    assert other["ref"] == "2"
    assert "[3] Approve   [4] Reject" in out.getvalue()

    # An edit that keeps the same buttons keeps their numbers (what is on screen stays valid).
    out.truncate(0)
    out.seek(0)
    await console.update(ref, card=approval_card("first", title="Still pending: Stop miners"))
    updated = out.getvalue()
    assert updated.startswith("#demo (card updated)\n")
    assert "Still pending: Stop miners" in updated
    assert "[1] Approve   [2] Reject" in updated

    # An edit with different buttons numbers them afresh; the old numbers stop working.
    out.truncate(0)
    out.seek(0)
    edited = Card(
        kind="alert",
        title="Warning: Battery low",
        buttons=[
            Button(label="Acknowledge", action="ack", value="17"),
            Button(label="Approve", action="approve", value="second"),
        ],
    )
    await console.update(ref, card=edited)
    assert "[5] Acknowledge   [6] Approve" in out.getvalue()
    assert console.button(1) is None and console.button(2) is None
    note = console.parse("1", user_id="olga", user_name="Olga")
    assert isinstance(note, str) and "no choice [1]" in note
    fresh = console.parse("6", user_id="olga", user_name="Olga")
    assert isinstance(fresh, Click) and (fresh.action, fresh.value) == ("approve", "second")
    # the other card's numbers are untouched
    assert console.button(3) == approval_card("other").buttons[0]

    # a surviving button keeps its number when others go
    await console.update(ref, card=Card(kind="alert", title="Ack only", buttons=edited.buttons[:1]))
    assert console.button(5) == edited.buttons[0] and console.button(6) is None

    # an update to a card without buttons retires its numbers
    await console.update(ref, card=Card(kind="action", title="Done"))
    assert console.button(5) is None
    assert console.button(3) is not None and console.button(4) is not None


async def test_parse_number_is_a_click() -> None:
    console = ConsoleAdapter(out=io.StringIO(), channel="#barn")
    await console.post("#barn", card=approval_card("req-42"))
    click = console.parse(" 2 \n", user_id="olga", user_name="Olga")
    assert click == Click(
        platform="console",
        user_id="olga",
        user_name="Olga",
        channel="#barn",
        action="reject",
        value="req-42",
    )
    approve = console.parse("1", user_id="ada", user_name="Ada")
    assert isinstance(approve, Click) and approve.action == "approve"


def test_parse_unknown_number_explains() -> None:
    console = ConsoleAdapter(out=io.StringIO())
    note = console.parse("9", user_id="olga", user_name="Olga")
    assert note == "There is no choice [9] on screen (it may have been used already)."


def test_parse_text_is_a_message() -> None:
    console = ConsoleAdapter(out=io.StringIO(), channel="#demo")
    message = console.parse("  how is the battery?\n", user_id="olga", user_name="Olga")
    assert message == InboundMessage(
        platform="console",
        user_id="olga",
        user_name="Olga",
        channel="#demo",
        text="how is the battery?",
    )
    mixed = console.parse("2 miners", user_id="olga", user_name="Olga")
    assert isinstance(mixed, InboundMessage) and mixed.text == "2 miners"


async def test_read_lines_from_a_real_pipe_until_eof() -> None:
    read_fd, write_fd = os.pipe()
    stdin = os.fdopen(read_fd, "r", encoding="utf-8")
    seen: list[str] = []

    async def handle(line: str) -> None:
        seen.append(line)

    async def type_lines() -> None:
        for chunk in (b"status\n", b"\n   \n", b"2\nstop the mi", b"ners\n", "café\n".encode()):
            os.write(write_fd, chunk)
            await asyncio.sleep(0.01)
        os.write(write_fd, b"last line without newline")
        os.close(write_fd)

    console = ConsoleAdapter(out=io.StringIO())
    try:
        await asyncio.wait_for(
            asyncio.gather(console.read_lines(handle, stdin=stdin), type_lines()), timeout=60
        )
    finally:
        if not stdin.closed:
            stdin.close()
    assert seen == ["status\n", "2\n", "stop the miners\n", "café\n", "last line without newline"]


@pytest.mark.parametrize("source", ["/dev/null", "file"])
async def test_read_lines_from_a_file_or_dev_null_ends_cleanly(
    source: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A demo run with stdin from a file or /dev/null (a service manager, ``< /dev/null``):
    the lines are read and the end of input is reached, with no error logged by the loop
    (epoll refuses such descriptors; the loop used to log a PermissionError traceback)."""
    path = Path("/dev/null") if source == "/dev/null" else tmp_path / "typed.txt"
    if source == "file":
        path.write_text("status\n\nstop the miners\n", encoding="utf-8")
    seen: list[str] = []

    async def handle(line: str) -> None:
        seen.append(line)

    console = ConsoleAdapter(out=io.StringIO())
    with path.open(encoding="utf-8") as stdin, caplog.at_level(logging.ERROR, logger="asyncio"):
        await asyncio.wait_for(console.read_lines(handle, stdin=stdin), timeout=60)
        # Callbacks run in the order scheduled: once this one has run, one the loop
        # scheduled while reading (and that would log the error) has run too.
        ran: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(ran.set_result, None)
        await asyncio.wait_for(ran, timeout=60)
    assert seen == ([] if source == "/dev/null" else ["status\n", "stop the miners\n"])
    assert not [r for r in caplog.records if r.name == "asyncio"], caplog.text
