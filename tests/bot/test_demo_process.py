"""The newcomer's experience: `commandcenter demo` in a real process, driven over its stdin."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

# A limit, not a wait: each step waits for its line; a loaded machine can be slow.
DEMO_TIMEOUT_S = 180


async def _read_until(
    stream: asyncio.StreamReader, needle: str, seen: list[str], *, start: int = 0
) -> str:
    """The first line from ``start`` on (already read or still to come) containing ``needle``."""
    for line in seen[start:]:
        if needle in line:
            return line
    while True:
        raw = await stream.readline()
        if not raw:
            raise AssertionError(f"demo ended before printing {needle!r}:\n" + "".join(seen))
        line = raw.decode()
        seen.append(line)
        if needle in line:
            return line


async def test_demo_alerts_and_a_typed_choice_stops_the_miners(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENAI_API_KEY")}
    env["COMMANDCENTER_DATA_DIR"] = str(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--speed",
        "300",
        "--duration",
        str(DEMO_TIMEOUT_S),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(DEMO_TIMEOUT_S):
            await _read_until(proc.stdout, "Type a question", seen)
            mark = len(seen)
            proc.stdin.write(b"how is the battery?\n")
            await proc.stdin.drain()
            answer = await _read_until(proc.stdout, "bot> ", seen, start=mark)
            assert "Battery at" in answer
            # The accelerated evening drains the battery: an alert card with a proposal.
            button = await _read_until(proc.stdout, "] Stop miners", seen)
            number = button.split("] Stop miners")[0].rsplit("[", 1)[1]
            mark = len(seen)
            proc.stdin.write(f"{number}\n".encode())
            await proc.stdin.drain()
            done = await _read_until(proc.stdout, "Approved by you", seen, start=mark)
            assert "Done and verified" in done
            await _read_until(proc.stdout, "Status          : Done", seen, start=mark)
            mark = len(seen)
            proc.stdin.write(b"status\n")
            await proc.stdin.drain()
            await _read_until(proc.stdout, "bot> Demo home lab:", seen, start=mark)
            # The answer's first line is the battery; the loads follow on the next lines.
            loads = await _read_until(proc.stdout, "oads", seen, start=mark + 1)
            assert "All loads are off." in loads, "".join(seen[mark:])
    finally:
        proc.terminate()
        await proc.wait()


async def _start_demo(tmp_path: Path, *extra: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "OPENAI_API_KEY")}
    env["COMMANDCENTER_DATA_DIR"] = str(tmp_path)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--speed",
        "300",
        "--duration",
        str(DEMO_TIMEOUT_S),
        *extra,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )


async def _until_proposal(proc: asyncio.subprocess.Process) -> list[str]:
    """Run a demo until its first approval card; returns what it printed."""
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(DEMO_TIMEOUT_S):
            await _read_until(proc.stdout, "Type a question", seen)
            await _read_until(proc.stdout, "] Stop miners", seen)
    finally:
        proc.terminate()
        rest, _ = await asyncio.wait_for(proc.communicate(), 120)  # it must stop
        seen.extend(rest.decode(errors="replace").splitlines(keepends=True))
    return seen


async def test_a_second_demo_on_the_same_data_dir_starts_fresh_and_says_so(
    tmp_path: Path,
) -> None:
    first = await _until_proposal(await _start_demo(tmp_path))
    assert not any("Starting a fresh demo" in line for line in first)
    assert (tmp_path / "demo.sqlite").exists()
    assert not (tmp_path / "commandcenter.sqlite").exists()  # the bot's own data is not used

    second = await _until_proposal(await _start_demo(tmp_path))
    text = "".join(second)
    assert "Starting a fresh demo: the previous demo's data" in text
    assert "--keep" in text
    # A new approval card was posted, and nothing from the first run shows up in it.
    assert "] Stop miners" in text
    assert " after -" not in text
    assert "Traceback" not in text


async def test_a_kept_demo_resumes_its_clock_after_the_stored_history(tmp_path: Path) -> None:
    first = await _until_proposal(await _start_demo(tmp_path))
    assert "] Stop miners" in "".join(first)
    proc = await _start_demo(tmp_path, "--keep")
    assert proc.stdout is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(DEMO_TIMEOUT_S):
            resumed = await _read_until(proc.stdout, "Continuing the stored history", seen)
            banner = await _read_until(proc.stdout, "simulated from", seen)
    finally:
        proc.terminate()
        rest, _ = await asyncio.wait_for(proc.communicate(), 120)  # it must stop
        seen.extend(rest.decode(errors="replace").splitlines(keepends=True))
    latest = resumed.split("latest entry (")[1].split(")")[0]
    started = banner.split("simulated from ")[1].split(" at ")[0]
    assert started > latest  # "YYYY-MM-DD HH:MM TZ" sorts as time within one zone
    text = "".join(seen)
    assert " after -" not in text and "Traceback" not in text
