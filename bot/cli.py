"""The ``commandcenter`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from bot.bench_startup import bench_startup_cmd
from bot.boundary import EXIT_BUG, EXIT_CONFIG, Context, bug_message, explain
from bot.commands.backfill_ha import homeassistant as backfill_homeassistant
from bot.commands.backfill_vrm import vrm as backfill_vrm
from bot.commands.backtest_load import load as backtest_load
from bot.commands.backtest_plan import plan as backtest_plan
from bot.commands.backtest_pv import pv as backtest_pv
from bot.commands.backtest_week import week as backtest_week
from bot.commands.edge import edge_app
from bot.commands.eval_routing import eval_app
from bot.commands.kb import kb_app
from bot.commands.replay import replay_app
from bot.commands.report import report as report_command
from bot.settings import Settings, SettingsInvalid, load_settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="CommandCenter: a chat-first operations bot for energy sites.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.")
actions_app = typer.Typer(no_args_is_help=True, help="List and decide action requests.")
sites_app = typer.Typer(no_args_is_help=True, help="Check a site file.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
backfill_app = typer.Typer(
    no_args_is_help=True, help="Import a site's history from the device's own records."
)
backfill_app.command("homeassistant")(backfill_homeassistant)
backfill_app.command("vrm")(backfill_vrm)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
app.add_typer(backfill_app, name="backfill")
backtest_app = typer.Typer(
    no_args_is_help=True, help="Forecast accuracy on your own data, day by day, no look-ahead."
)
backtest_app.command("pv")(backtest_pv)
backtest_app.command("load")(backtest_load)
backtest_app.command("plan")(backtest_plan)
backtest_app.command("week")(backtest_week)
app.add_typer(backtest_app, name="backtest")
app.add_typer(edge_app, name="edge", help="Run on an edge device (e.g. a Raspberry Pi).")
app.add_typer(replay_app, name="replay", help="Replay recorded device data onto a broker.")
app.add_typer(actions_app, name="actions")
app.add_typer(sites_app, name="sites")
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
export_app = typer.Typer(
    no_args_is_help=True, help="Export history to CSV, JSON Lines or Parquet, streamed."
)
app.add_typer(export_app, name="export")
app.command("report")(report_command)

T = TypeVar("T")

#: What the running command uses (database, listen address), named in its error line.
_context = Context()


def _show_version(value: bool) -> None:
    if value:
        from bot.version import version

        typer.echo(f"commandcenter {version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an unexpected error (also COMMANDCENTER_DEBUG=1)",
        ),
    ] = False,
) -> None:
    """CommandCenter: a chat-first operations bot for energy sites."""
    if debug:
        os.environ["COMMANDCENTER_DEBUG"] = "1"


def _settings(
    site_file: str | None = None,
    *,
    default_log_level: str | None = None,
    overrides: dict[str, Any] | None = None,
    flags: dict[str, str] | None = None,
    sites: bool = False,
) -> Settings:
    """Settings from the environment plus command-line options; a bad value is one
    ``error:`` line (exit code 2) naming the variable or option. With ``sites`` the
    site file is checked too, before the command imports and opens anything."""
    global _context
    updates = dict(overrides or {})
    if site_file:
        from pathlib import Path

        updates["site_file"] = Path(site_file)
    try:
        settings = load_settings(overrides=updates, flags=flags)
    except SettingsInvalid as err:
        _fail(str(err))
    if default_log_level is not None and not {"LOG_LEVEL", "COMMANDCENTER_LOG_LEVEL"} & set(
        os.environ
    ):
        settings = settings.model_copy(update={"log_level": default_log_level})
    _context = Context(
        database_url=settings.effective_database_url,
        listen=(settings.http_host, settings.http_port),
    )
    if sites and settings.site_file is not None:
        from tools.errors import SiteConfigError
        from tools.site import load_site_file

        try:
            load_site_file(settings.site_file)
        except SiteConfigError as err:
            _fail(str(err))
    from bot.logs import configure

    configure(settings.log_level, fmt=settings.log_format)
    return settings


def _fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


# After SIGTERM every shutdown step has its own bound (see bot.app); past this the process
# exits anyway, so a wait nobody bounded (a driver's close, a stuck SQLite connection) can
# never keep a stopped bot alive.
STOP_DEADLINE_S = 60.0


def _dump_tasks(loop: asyncio.AbstractEventLoop, done: threading.Event) -> None:
    """Where every asyncio task waits (run on the loop itself, so it sees a consistent set)."""
    for task in asyncio.all_tasks(loop):
        task.print_stack(limit=12, file=sys.stderr)
    done.set()


def _exit_if_still_stopping(after_s: float, loop: asyncio.AbstractEventLoop) -> None:
    """A watchdog thread: exit the process ``after_s`` seconds from now, saying why and
    where it was stuck (every thread, and every task if the event loop still turns)."""

    def watchdog() -> None:
        time.sleep(after_s)
        sys.stderr.write(f"error: still stopping {after_s:g} s after SIGTERM; exiting now\n")
        sys.stderr.write("where each thread and task was (for a bug report):\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        dumped = threading.Event()
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(_dump_tasks, loop, dumped)
            dumped.wait(2.0)
        sys.stderr.flush()
        os._exit(EXIT_BUG)

    threading.Thread(target=watchdog, name="stop-watchdog", daemon=True).start()


async def _stoppable(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``coro_fn`` so that SIGTERM (as sent by a process manager) stops it like Ctrl-C,
    within :data:`STOP_DEADLINE_S` at the latest."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if task is not None:
            task.cancel()
        _exit_if_still_stopping(STOP_DEADLINE_S, loop)

    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
        loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        return await coro_fn()
    finally:
        await _finish_leftover_tasks()


LEFTOVER_ROUNDS = 3
LEFTOVER_WAIT_S = 2.0


async def _finish_leftover_tasks() -> None:
    """Cancel the tasks still running when the command is done, again if need be.

    ``asyncio.run`` cancels leftover tasks once and then waits for them without a bound.
    A task that absorbs that one cancellation and waits again never ends: SQLAlchemy's
    graceful close of an invalidated aiosqlite connection does exactly that when the
    driver's thread was already stopped (its ``close()`` awaits a second stop in a
    ``finally``), which kept stopped demos alive. Cancelling the leftovers up to three
    times, each with a short wait, ends them.
    """
    me = asyncio.current_task()
    for _ in range(LEFTOVER_ROUNDS):
        rest = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        if not rest:
            break
        for leftover in rest:
            leftover.cancel()
        await asyncio.wait(rest, timeout=LEFTOVER_WAIT_S)
    await _let_driver_threads_finish(LEFTOVER_WAIT_S)


async def _let_driver_threads_finish(within_s: float) -> None:
    """Keep the loop open while aiosqlite's worker threads finish their last call: one
    that answers a closed loop dies with a traceback on stderr (seen when a database
    file could not be opened). Bounded; such threads end as soon as their queue does."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        busy = [
            t
            for t in threading.enumerate()
            # the worker's target, the only way to tell its threads apart
            if getattr(getattr(t, "_target", None), "__name__", "") == "_connection_worker_thread"
        ]
        if not busy:
            return
        await asyncio.sleep(0.02)


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; a configuration or connection problem is one ``error:`` line and
    exit code 2 (see :mod:`bot.boundary`)."""
    try:
        return asyncio.run(_stoppable(coro_fn))
    except asyncio.CancelledError:
        raise typer.Exit(0) from None
    except Exception as err:
        message = explain(err, _context)
        if message is None:
            raise
        _fail(message)


SiteFileOpt = Annotated[
    str | None,
    typer.Option(
        "--site-file", help="YAML/TOML site file (default: $COMMANDCENTER_SITE_FILE or demo)"
    ),
]


@app.command()
def demo(
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 60.0,
    site_file: SiteFileOpt = None,
    user: Annotated[str, typer.Option(help="Your console user id")] = "you",
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many real seconds (scripted runs)")
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep",
            help="Continue the previous demo's data (default: start fresh; the clock "
            "then resumes after the stored history)",
        ),
    ] = False,
) -> None:
    """Run the simulated site with alerts and a console chat. Ctrl-C stops it.

    Each run starts fresh on its own database file (demo.sqlite in the data folder)
    and says so; with --keep, or with DATABASE_URL set, the stored history is kept and
    the simulated clock resumes after its latest entry."""
    # Keep the chat readable: only warnings and errors go to the terminal's stderr.
    settings = _settings(site_file, default_log_level="WARNING", sites=True)
    from bot.console_demo import run_demo

    with contextlib.suppress(KeyboardInterrupt):
        _run(lambda: run_demo(settings, speed=speed, user_id=user, duration_s=duration, keep=keep))
    typer.echo("\nCommandCenter demo stopped.")


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help="The question or request")],
    site: Annotated[str | None, typer.Option(help="Site name (default: the first site)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    user: Annotated[str, typer.Option(help="Console user id asking")] = "you",
    site_file: SiteFileOpt = None,
) -> None:
    """Answer one question against the configured site and exit."""
    settings = _settings(site_file, sites=True)  # first: a bad setting fails before the imports
    from bot.app import open_app
    from bot.chat.base import InboundMessage
    from bot.chat.memory import MemoryAdapter

    async def go() -> dict[str, Any]:
        adapter = MemoryAdapter()
        async with open_app(settings, adapter=adapter) as cc:
            if site is not None:
                cc.toolbox.site(site, cc.default_site)
            # What the workers stored first (a push device has sent nothing to this new
            # process yet), then one poll of our own on top.
            await cc.pipeline.load_stored(list(cc.sites), now=cc.clock.now())
            await cc.monitor.poll_once()
            result = await cc.chat.handle_message(
                InboundMessage(platform="console", user_id=user, channel="#cli", text=text),
                site=site,
                post=False,
            )
            return result.to_json()

    out = _run(go)
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    typer.echo(out["answer"])
    for action in out["actions"]:
        typer.echo(
            f"\nAction request {action['id']} ({action['kind']}) is {action['status']}: "
            f"approve with `commandcenter actions approve {action['id']}`"
        )


@app.command("tools")
def list_tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List every agent tool with its name and description."""
    from tools.agent import TOOL_SPECS

    rows = [
        {
            "name": s.name,
            "kind": s.kind,
            "permission": s.permission.value,
            "needs_approval": s.needs_approval,
            "description": s.description,
            "parameters": s.args.model_json_schema(),
        }
        for s in TOOL_SPECS
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for spec in TOOL_SPECS:
        approval = ", needs approval" if spec.needs_approval else ""
        typer.echo(f"{spec.name} [{spec.kind}{approval}] {spec.description}")
        params = _parameter_lines(spec.args.model_json_schema())
        for line in params or ["(no parameters)"]:
            typer.echo(f"    {line}")


def _schema_type(prop: dict[str, Any]) -> str:
    """A JSON-schema property's type in a few characters: ``today|tomorrow``, ``integer``."""
    if "enum" in prop:
        return "|".join(str(v) for v in prop["enum"])
    if "anyOf" in prop:
        kinds = [_schema_type(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(kinds) or "any"
    if prop.get("type") == "array":
        return f"list of {_schema_type(prop.get('items', {}))}"
    return str(prop.get("type", "any"))


def _parameter_lines(schema: dict[str, Any]) -> list[str]:
    """One line per parameter: name, type, required or its default, and what it is."""
    required = set(schema.get("required", []))
    lines = []
    for name, prop in schema.get("properties", {}).items():
        if name in required:
            need = "required"
        elif prop.get("default") is not None:
            need = f"default {prop['default']}"
        else:
            need = "optional"
        about = prop.get("description", "")
        lines.append(f"{name} ({_schema_type(prop)}, {need})" + (f": {about}" if about else ""))
    return lines


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the newest revision."""
    from storage.engine import create_engine, current_revision, redact_url, upgrade_database

    settings = _settings()
    url = settings.effective_database_url

    async def go() -> str | None:
        engine = create_engine(url)
        try:
            await upgrade_database(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = _run(go)
    typer.echo(f"{redact_url(url)} is at revision {revision}")


@actions_app.command("list")
def actions_list(
    site: Annotated[str | None, typer.Option(help="Only this site")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    site_file: SiteFileOpt = None,
) -> None:
    """List action requests, newest last."""
    settings = _settings(site_file, sites=True)
    from bot.app import open_app
    from bot.chat.memory import MemoryAdapter

    async def go() -> list[dict[str, Any]]:
        async with open_app(settings, adapter=MemoryAdapter()) as cc:
            views = await cc.actions.list_requests(site=site)
            return [
                {
                    "id": v.id,
                    "site": v.site,
                    "kind": v.kind,
                    "title": v.title,
                    "status": v.status,
                    "requested_by": v.requested_by,
                    "decided_by": v.decided_by,
                    "outcome": v.outcome,
                    "created_at": v.created_at.isoformat(),
                }
                for v in views
            ]

    rows = _run(go)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No action requests.")
    for r in rows:
        typer.echo(f"{r['id']}  {r['status']:<10} {r['title']}  ({r['outcome'] or ''})")


def _decide(
    action_id: str, *, approve: bool, user: str, site_file: str | None, by_worker: bool = False
) -> None:
    settings = _settings(site_file, sites=True)
    from bot.app import open_app
    from bot.chat.memory import MemoryAdapter

    async def go() -> tuple[str, bool, list[str]]:
        adapter = MemoryAdapter()
        async with open_app(settings, adapter=adapter, executes=not by_worker) as cc:
            actor = await cc.chat.actor("console", user)
            # An unknown id is an error (exit code 2); a short id means, for a person
            # limited to some sites, a request at theirs (as in chat).
            full_id = await cc.actions.resolve_id(action_id, seen_by=actor.principal)
            await cc.actions.get(full_id)
            if not by_worker:
                await cc.monitor.poll_once()
            message, refused = await cc.chat.decide_verdict(full_id, actor, approve=approve)
            return message, refused, adapter.texts()

    message, refused, follow_ups = _run(go)
    typer.echo(message)
    for text in follow_ups:
        typer.echo(text)
    if refused:  # not allowed: a script must not read this as done
        raise typer.Exit(1)


@actions_app.command("approve")
def actions_approve(
    action_id: Annotated[str, typer.Argument(help="The request id")],
    user: Annotated[str, typer.Option(help="Console user id deciding")] = "you",
    site_file: SiteFileOpt = None,
    by_worker: Annotated[
        bool,
        typer.Option(
            "--by-worker",
            help="Only record the approval; the running worker of the site executes it",
        ),
    ] = False,
) -> None:
    """Approve a pending request (as a console user with the operator or admin role).

    Without --by-worker this process executes it at once with its own drivers."""
    _decide(action_id, approve=True, user=user, site_file=site_file, by_worker=by_worker)


@actions_app.command("reject")
def actions_reject(
    action_id: Annotated[str, typer.Argument(help="The request id")],
    user: Annotated[str, typer.Option(help="Console user id deciding")] = "you",
    site_file: SiteFileOpt = None,
) -> None:
    """Reject a pending request."""
    _decide(action_id, approve=False, user=user, site_file=site_file)


@sites_app.command("check")
def sites_check(
    path: Annotated[
        str | None,
        typer.Argument(help="The site file (default: $COMMANDCENTER_SITE_FILE or the demo)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Validate a site file; print its sites, people and what each action kind needs."""
    from bot.app import load_sites

    settings = _settings(path, sites=True)  # a wrong file: one error line, exit 2
    site_file = load_sites(settings)
    report: dict[str, Any] = {
        "sites": {
            site.name: {
                kind: {
                    "roles": tier.roles,
                    "approvals": tier.approvals,
                    "self_approve": tier.self_approve,
                    "needs": tier.describe(),
                }
                for kind, tier in site.actions.effective_tiers().items()
            }
            for site in site_file.sites
        },
        "people": [
            {
                "platform": p.platform,
                "user_id": p.user_id,
                "role": p.role,
                "sites": p.sites if p.sites is not None else "all",
                "person": p.person,  # entries sharing it are one human: one approver
            }
            for p in site_file.people
        ],
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    source = settings.site_file or "the built-in demo"
    typer.echo(f"{source}: OK, {len(site_file.sites)} site(s), {len(site_file.people)} people")
    for name, tiers in report["sites"].items():
        typer.echo(f"\n{name}: who must approve each action")
        for kind, tier in tiers.items():
            typer.echo(f"  {kind:<16} {tier['needs']}")
    if site_file.people:
        typer.echo("\npeople:")
        for p in report["people"]:
            where = p["sites"] if p["sites"] == "all" else ", ".join(p["sites"])
            person = f"  person: {p['person']}" if p["person"] else ""
            typer.echo(
                f"  {p['platform']}:{p['user_id']:<14} {p['role']:<9} sites: {where}{person}"
            )


@app.command()
def worker(site_file: SiteFileOpt = None) -> None:
    """Run telemetry, alerts, the scheduler and the chat gateways (Slack Socket Mode,
    Discord); cards also go to standard output."""
    settings = _settings(site_file, sites=True)
    from bot.gateways import run_worker

    with contextlib.suppress(KeyboardInterrupt):
        _run(lambda: run_worker(settings))


@app.command()
def run(site_file: SiteFileOpt = None) -> None:
    """The worker and the web face in one process (small installs)."""
    settings = _settings(site_file, sites=True)
    from bot.gateways import run_worker

    with contextlib.suppress(KeyboardInterrupt):
        _run(lambda: run_worker(settings, serve_http=True))


@app.command()
def web(
    host: Annotated[
        str | None, typer.Option(help="Listen address (default $HOST or 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default $PORT or 8000)")] = None,
) -> None:
    """Serve the HTTP face: /healthz (liveness), /readyz (database reachable), and Slack's
    /slack/events when Slack runs in HTTP mode."""
    options: dict[str, Any] = {"http_host": host, "http_port": port}
    settings = _settings(
        sites=True,
        overrides={k: v for k, v in options.items() if v is not None},
        flags={"http_host": "--host", "HOST": "--host", "http_port": "--port", "PORT": "--port"},
    )
    from bot.gateways import run_web

    with contextlib.suppress(KeyboardInterrupt):
        _run(lambda: run_web(settings))


def _emit(result: dict[str, Any], *, as_json: bool) -> None:
    """Benchmark figures as one JSON object, or one aligned line each."""
    if as_json:
        typer.echo(json.dumps(result))
        return
    width = max((len(k) for k in result), default=0)
    for key, value in result.items():
        typer.echo(f"{key:>{width}}: {value}")


def _broker(url: str) -> tuple[str, int]:
    """``mqtt://HOST:PORT`` as (host, port); a clear error (exit 2) otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        typer.echo(f"error: --mqtt {url!r} is not mqtt://HOST:PORT", err=True)
        raise typer.Exit(2)
    return parts.hostname, parts.port or 1883


@bench_app.command("ingest")
def bench_ingest_cmd(
    readings: Annotated[int, typer.Option(help="How many readings to write")] = 200_000,
    sites: Annotated[int, typer.Option(help="Over how many sites")] = 100,
    batch: Annotated[int, typer.Option(help="Readings per pipeline batch")] = 5_000,
    postgres_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server (default $BENCH_POSTGRES_URL or 127.0.0.1:5432)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Readings per second through the real pipeline into SQLite and PostgreSQL, and raw
    COPY into a table of the same shape, in one run. A scratch database is created and
    dropped on the PostgreSQL server."""
    from bot.bench.ingest import bench_ingest

    _settings(default_log_level="WARNING")
    result = _run(
        lambda: bench_ingest(readings=readings, sites=sites, batch=batch, postgres_url=postgres_url)
    )
    _emit(result, as_json=as_json)


@bench_app.command("fleet")
def bench_fleet_cmd(
    sites: Annotated[int, typer.Option(help="Simulated Victron sites (the first step)")] = 1000,
    duration: Annotated[float, typer.Option(help="Seconds published per step")] = 20.0,
    interval: Annotated[float, typer.Option(help="Seconds between a site's publishes")] = 10.0,
    mqtt: Annotated[str, typer.Option(help="Broker as mqtt://HOST:PORT")] = "mqtt://127.0.0.1:1883",
    postgres_url: Annotated[
        str | None,
        typer.Option(help="Write to a scratch database on this PostgreSQL server (default SQLite)"),
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes, SHARD=i/n each")] = 1,
    publishers: Annotated[int, typer.Option(help="Publisher processes sharing the fleet")] = 1,
    find_ceiling: Annotated[
        bool,
        typer.Option(
            "--find-ceiling", help="Grow the fleet 1.5x per step until lag p95 > 1 s or a loss"
        ),
    ] = False,
    max_sites: Annotated[int, typer.Option(help="Largest fleet --find-ceiling tries")] = 20_000,
    profile: Annotated[
        int, typer.Option(help="Run the worker under cProfile and list its N top functions")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """N simulated Victron GX sites (20 metrics each) publish through the broker into worker
    processes: messages per second, lag from publish to database (p50/p95), lost, shed, the
    CPU of each party, where the worker's time goes, and the broker's own fan-out limit."""
    from bot.bench.fleet import bench_fleet

    _settings(default_log_level="WARNING")
    host, port = _broker(mqtt)
    if workers < 1 or publishers < 1 or sites < 1:
        typer.echo("error: --sites, --workers and --publishers must be at least 1", err=True)
        raise typer.Exit(2)
    if workers > 1 and postgres_url is None:
        typer.echo("error: --workers above 1 needs --postgres-url", err=True)
        raise typer.Exit(2)
    result = _run(
        lambda: bench_fleet(
            sites=sites,
            duration_s=duration,
            interval_s=interval,
            host=host,
            port=port,
            postgres_url=postgres_url,
            workers=workers,
            publishers=publishers,
            find_ceiling=find_ceiling,
            max_sites=max_sites,
            profile=profile,
        )
    )
    _emit(result, as_json=as_json)


@bench_app.command("alerts")
def bench_alerts_cmd(
    samples: Annotated[int, typer.Option(help="How many alerts to time")] = 20,
    mqtt: Annotated[str, typer.Option(help="Broker as mqtt://HOST:PORT")] = "mqtt://127.0.0.1:1883",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Time from a Victron SOC message below the critical threshold on the broker to the
    alert card in the channel, through the whole bot (p50/p95)."""
    from bot.bench.ingest import bench_alerts

    _settings(default_log_level="WARNING")
    host, port = _broker(mqtt)
    result = _run(lambda: bench_alerts(samples=samples, host=host, port=port))
    _emit(result, as_json=as_json)


# -- bench chat (Slack adapter) ---------------------------------------------------------


@bench_app.command("chat")
def bench_chat_cmd(
    requests: Annotated[int, typer.Option(help="How many /energy status commands")] = 200,
    concurrency: Annotated[int, typer.Option(help="Commands in flight at once")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Signed /energy slash commands over loopback HTTP into the Slack app, answered
    through a local fake of Slack's Web API: ack latency (p99) and reply latency (p95)."""
    from bot.bench.chat import bench_chat

    _settings(default_log_level="WARNING")
    result = _run(lambda: bench_chat(requests=requests, concurrency=concurrency))
    _emit(result, as_json=as_json)


@bench_app.command("context")
def bench_context_cmd(
    budget: Annotated[
        int, typer.Option(help="Prompt token budget per model call (as the setting)")
    ] = 3000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Sixty questions in ten conversations through the assistant with a scripted model
    that routes like the offline planner: prompt tokens per question (average, p95)."""
    from bot.bench.context import bench_context

    _settings(default_log_level="WARNING")
    result = _run(lambda: bench_context(budget_tokens=budget))
    _emit(result, as_json=as_json)


# -- export ----------------------------------------------------------------------------


def _export_time(value: str | None, option: str, *, end: bool = False) -> datetime | None:
    """An ISO date or date-time (UTC when no zone is given); a date alone as ``--to``
    includes that whole day. A clear error (exit 2) otherwise."""
    if value is None:
        return None
    from datetime import date, timedelta

    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(
            f"error: {option} {value!r} is not an ISO date (2026-11-01 or 2026-11-01T06:00Z)",
            err=True,
        )
        raise typer.Exit(2) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _export(
    kind: str, site: str | None, start: str | None, end: str | None, fmt: str, out: str
) -> None:
    from pathlib import Path

    from sqlalchemy.exc import SQLAlchemyError

    from bot.progress import progress_bar
    from storage.engine import create_engine, upgrade_database
    from tools.export import EXPORT_FORMATS, export_to_file

    if fmt not in EXPORT_FORMATS:
        typer.echo(f"error: --format {fmt!r}: use {', '.join(EXPORT_FORMATS)}", err=True)
        raise typer.Exit(2)
    since, until = _export_time(start, "--from"), _export_time(end, "--to", end=True)
    if since is not None and until is not None and since >= until:
        typer.echo("error: --from must be before --to", err=True)
        raise typer.Exit(2)
    settings = _settings(default_log_level="WARNING")

    async def go() -> int:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade_database(engine)  # like every entry point: the schema first
            with progress_bar(f"export {kind}", unit="rows") as advance:
                return await export_to_file(
                    engine,
                    kind,
                    fmt=fmt,
                    out=Path(out),
                    site=site,
                    start=since,
                    end=until,
                    on_rows=advance,
                )
        finally:
            await engine.dispose()

    try:
        count = _run(go)
    except SQLAlchemyError as err:
        from bot.boundary import database_message

        _fail(database_message(err, settings.effective_database_url))
    typer.echo(f"wrote {count} {kind} rows to {out}")


ExportSite = Annotated[str | None, typer.Option("--site", help="Only this site (default: all)")]
ExportFrom = Annotated[str | None, typer.Option("--from", help="ISO date or time, inclusive")]
ExportTo = Annotated[
    str | None, typer.Option("--to", help="ISO date (that whole day) or time, exclusive")
]
ExportFormatOpt = Annotated[str, typer.Option("--format", help="csv, json (lines) or parquet")]
ExportOut = Annotated[str, typer.Option("--out", help="File to write")]


def _export_command(kind: str, doc: str) -> None:
    def command(
        out: ExportOut,
        site: ExportSite = None,
        start: ExportFrom = None,
        end: ExportTo = None,
        fmt: ExportFormatOpt = "csv",
    ) -> None:
        _export(kind, site, start, end, fmt, out)

    command.__doc__ = doc
    export_app.command(kind)(command)


_export_command("readings", "Raw readings (site, device, metric, time, value).")
_export_command("alerts", "Alerts, by the time they started.")
_export_command("actions", "Action requests, by the time they were made.")
_export_command("audit", "The audit log.")


bench_app.command("startup")(bench_startup_cmd)


def main() -> None:
    """The ``commandcenter`` entry point, with the error boundary around every command:
    a known problem prints one ``error:`` line (exit 2), a bug one line and a hint to
    use ``--debug`` (exit 1), or the traceback with ``--debug``."""
    debug = "--debug" in sys.argv[1:] or os.environ.get("COMMANDCENTER_DEBUG", "") not in (
        "",
        "0",
    )
    args = [arg for arg in sys.argv[1:] if arg != "--debug"]  # accepted anywhere
    try:
        app(args=args)
    except Exception as err:
        message = explain(err, _context)
        if message is not None:
            typer.echo(f"error: {message}", err=True)
            raise SystemExit(EXIT_CONFIG) from None
        if debug:
            raise
        typer.echo(f"error: {bug_message(err)}", err=True)
        raise SystemExit(EXIT_BUG) from None


def _utc_now() -> datetime:
    return datetime.now(UTC)
