"""Bad input to the real command line: one ``error:`` line naming what to fix, exit 2.

Each case runs ``python -m bot`` as a separate process (as an operator would) with a
clean environment, and checks the whole of what it printed: exactly one line, starting
with ``error:``, naming the file / variable / option and the value, no traceback.
A second group drives every command through the same entry point in-process, which is
cheap enough to cover the whole command list.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import bot.cli
import tools.agent

REPO = Path(__file__).resolve().parents[2]
# Generous: an import-heavy process on a loaded 2-core machine takes a while to start.
PROCESS_TIMEOUT_S = 180

MINIMAL = "sites:\n  - name: home\n    location: {latitude: 1, longitude: 2}\n"


def run_cli(folder: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """``python -m bot ARGS`` in ``folder`` with only the given variables set; the exit
    code and everything printed (stdout and stderr)."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "PYTHONPATH": str(REPO),
        "COMMANDCENTER_DATA_DIR": str(folder / "data"),
        "COLUMNS": "200",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=folder,  # no stray .env file
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def assert_one_error(code: int, output: str, *fragments: str) -> str:
    assert "Traceback" not in output, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{output}"
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert code == 2, f"exit code {code}: {line}"
    return line


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port that another program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# --- site files -----------------------------------------------------------------------


def test_site_file_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.yaml", MINIMAL.encode() + b"    title: Caf\xe9 du Nord\n")
    code, out = run_cli(tmp_path, "ask", "status", "--site-file", str(path))
    assert_one_error(code, out, str(path), "not UTF-8", "0xe9", "line 4")


def test_infinite_power_in_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", MINIMAL + "    loads: [{name: m1, power_kw: .inf}]\n")
    code, out = run_cli(tmp_path, "actions", "list", "--site-file", str(path))
    assert_one_error(code, out, str(path), "sites[0].loads[0].power_kw", "finite", "inf")


def test_nan_capacity_in_toml(tmp_path: Path) -> None:
    text = (
        '[[sites]]\nname = "home"\nlocation = {latitude = 1, longitude = 2}\n'
        "battery = {capacity_kwh = nan}\n"
    )
    path = write(tmp_path, "s.toml", text)
    code, out = run_cli(tmp_path, "worker", "--site-file", str(path))
    assert_one_error(code, out, str(path), "sites[0].battery.capacity_kwh", "finite", "nan")


def test_person_listed_twice_with_different_roles(tmp_path: Path) -> None:
    people = (
        "people:\n"
        "  - {platform: slack, user_id: U1, role: admin}\n"
        "  - {platform: slack, user_id: U1, role: viewer}\n"
    )
    path = write(tmp_path, "s.yaml", MINIMAL + people)
    code, out = run_cli(tmp_path, "demo", "--duration", "1", "--site-file", str(path))
    assert_one_error(code, out, str(path), "people[1]", "'U1'", "people[0]")


def test_person_limited_to_a_site_that_does_not_exist(tmp_path: Path) -> None:
    people = "people:\n  - {platform: slack, user_id: U2, role: operator, sites: [barn]}\n"
    path = write(tmp_path, "s.yaml", MINIMAL + people)
    code, out = run_cli(tmp_path, "ask", "status", "--site-file", str(path))
    assert_one_error(code, out, str(path), "people[0].sites", "'barn'", "sites: home")


# --- the database -----------------------------------------------------------------------


def test_database_port_refused(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/commandcenter"
    code, out = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": url})
    assert_one_error(code, out, f"127.0.0.1:{port}", "connection refused", "DATABASE_URL")


def test_database_missing(tmp_path: Path, postgres_admin_url: str) -> None:
    url = make_url(postgres_admin_url).set(database="cc_no_such_database_here")
    text = url.render_as_string(hide_password=False)
    code, out = run_cli(tmp_path, "actions", "list", env={"DATABASE_URL": text})
    assert_one_error(code, out, "cc_no_such_database_here", "does not exist", "DATABASE_URL")


def test_sqlite_folder_cannot_be_created(tmp_path: Path) -> None:
    blocker = write(tmp_path, "a-file", "not a folder")
    url = f"sqlite:///{blocker}/db/commandcenter.sqlite"
    code, out = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": url})
    assert_one_error(code, out, str(blocker / "db"), "SQLite", "DATABASE_URL")


def test_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    folder = tmp_path / "is-a-folder.sqlite"
    folder.mkdir()
    code, out = run_cli(tmp_path, "db", "upgrade", env={"DATABASE_URL": f"sqlite:///{folder}"})
    assert_one_error(code, out, str(folder), "unable to open database file", "DATABASE_URL")


# --- the environment and options ----------------------------------------------------------


def test_poll_interval_not_a_number(tmp_path: Path) -> None:
    code, out = run_cli(tmp_path, "worker", env={"COMMANDCENTER_POLL_INTERVAL_S": "abc"})
    assert_one_error(code, out, "COMMANDCENTER_POLL_INTERVAL_S='abc'", "number")


def test_job_intervals_not_json(tmp_path: Path) -> None:
    code, out = run_cli(tmp_path, "run", env={"COMMANDCENTER_JOB_INTERVALS": "{rollup: 60"})
    assert_one_error(code, out, "COMMANDCENTER_JOB_INTERVALS", "JSON", '{"rollup": 600}')


def test_web_port_out_of_range(tmp_path: Path) -> None:
    code, out = run_cli(tmp_path, "web", "--port", "99999")
    assert_one_error(code, out, "--port=99999", "65535")


def test_web_port_in_use(tmp_path: Path, listening: int) -> None:
    code, out = run_cli(tmp_path, "web", "--port", str(listening))
    assert_one_error(code, out, f"127.0.0.1:{listening}", "already in use", "--port")


# --- every command, in-process through the same entry point -------------------------------

# Each command with the arguments it needs to get as far as reading its settings.
COMMANDS = [
    ["demo", "--duration", "1"],
    ["run"],
    ["worker"],
    ["web"],
    ["ask", "status"],
    ["actions", "list"],
    ["actions", "approve", "a1"],
    ["actions", "reject", "a1"],
    ["db", "upgrade"],
    ["kb", "list"],
    ["kb", "search", "battery"],
    ["report", "daily", "--out", "r.pdf"],
    ["export", "readings", "--out", "r.csv"],
    ["backfill", "homeassistant", "--site", "demo"],
    ["backfill", "vrm", "--site", "demo"],
]


def main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the real entry point in-process; its exit code."""
    monkeypatch.setattr(sys, "argv", ["commandcenter", *argv])
    with pytest.raises(SystemExit) as info:
        bot.cli.main()
    code = info.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("COMMANDCENTER_", "DATABASE_URL", "SLACK_", "OPENAI_", "PORT")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COMMANDCENTER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_command_refuses_a_bad_setting_in_one_line(
    argv: list[str],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COMMANDCENTER_POLL_INTERVAL_S", "abc")
    code = main(argv, monkeypatch)
    captured = capsys.readouterr()
    assert_one_error(code, captured.out + captured.err, "COMMANDCENTER_POLL_INTERVAL_S='abc'")


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("COMMANDCENTER_POLL_INTERVAL_S", "inf", "finite"),
        ("COMMANDCENTER_SIM_SPEED", "nan", "finite"),
        ("COMMANDCENTER_JOB_INTERVALS", '{"rollup": -5}', "above 0"),
        ("COMMANDCENTER_JOB_INTERVALS", '["rollup"]', "dictionary"),
        ("PORT", "http", "integer"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD'"),
        ("DATABASE_URL", "mysql://db/x", "PostgreSQL and SQLite"),
    ],
)
def test_bad_settings_name_the_variable(
    variable: str,
    value: str,
    expected: str,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    code = main(["actions", "list"], monkeypatch)
    captured = capsys.readouterr()
    assert_one_error(code, captured.out + captured.err, variable, expected)


# db upgrade and export work on the database alone and do not read the site file.
SITE_COMMANDS = [c for c in COMMANDS if c[0] not in ("db", "export")]


@pytest.mark.parametrize("argv", SITE_COMMANDS, ids=[" ".join(c[:2]) for c in SITE_COMMANDS])
def test_every_command_refuses_a_bad_site_file_in_one_line(
    argv: list[str],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(clean_env, "s.yaml", MINIMAL.replace("latitude: 1", "latitude: .nan"))
    monkeypatch.setenv("COMMANDCENTER_SITE_FILE", str(path))
    if argv[0] == "backfill":
        argv = [*argv[:2], "--site", "home"]
    code = main(argv, monkeypatch)
    captured = capsys.readouterr()
    assert_one_error(code, captured.out + captured.err, str(path), "location.latitude", "nan")


def test_a_bug_is_one_line_and_debug_shows_the_traceback(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tools.agent, "TOOL_SPECS", [object()])
    code = main(["tools"], monkeypatch)
    out = capsys.readouterr()
    lines = (out.out + out.err).strip().splitlines()
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("error: unexpected AttributeError")
    assert "--debug" in lines[0]

    monkeypatch.setattr(sys, "argv", ["commandcenter", "--debug", "tools"])
    with pytest.raises(AttributeError):
        bot.cli.main()


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "status"],
        ["actions", "list"],
        ["actions", "approve", "a1"],
        ["db", "upgrade"],
        ["kb", "list"],
        ["report", "daily", "--out", "r.pdf"],
        ["export", "audit", "--out", "a.csv"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_every_database_command_names_a_refused_database(
    argv: list[str],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://cc:secret@127.0.0.1:{port}/cc")
    code = main(argv, monkeypatch)
    captured = capsys.readouterr()
    line = assert_one_error(code, captured.out + captured.err, "connection refused")
    assert "secret" not in line  # the password is never printed
    if argv[0] != "kb":  # kb's own boundary does not know the URL
        assert f"127.0.0.1:{port}/cc" in line
