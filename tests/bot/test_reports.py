"""Reports through the running bot: the scheduled digest posted once, the energy_report
tool in chat, and the ``report`` command writing a readable PDF."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.digests import DigestJob
from storage import repositories as repo
from storage.engine import create_engine, create_sessionmaker, upgrade_database
from tests.bot.helpers import click, running_bot, say
from tools.clock import ManualClock
from tools.site import Site, demo_site_file

# Thu 19 Nov 2026, 07:30 in Golden, Colorado (UTC-7): yesterday's digest is due at 07:00.
MORNING = datetime(2026, 11, 19, 14, 30, tzinfo=UTC)
YESTERDAY_START = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)  # local midnight


async def _seed_day(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site, start: datetime, days: int = 1
) -> None:
    await _seed(sessionmaker, site, start, start + timedelta(days=days))


async def _seed(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site, start: datetime, end: datetime
) -> None:
    """Readings every 10 min from ``start`` to ``end``: 2 kW of PV from 10:00 to 16:00
    local, 1.5 kW of load, the rest from (or to) the grid, the battery idle at 60 %."""
    rows = []
    for step in range(int((end - start) / timedelta(minutes=10))):
        t = start + timedelta(minutes=10 * step)
        local_hour = t.astimezone(site.tz).hour
        pv = 2000.0 if 10 <= local_hour < 16 else 0.0
        for metric, value in (
            ("pv_power_w", pv),
            ("load_power_w", 1500.0),
            ("grid_power_w", 1500.0 - pv),
            ("battery_soc_pct", 60.0),
        ):
            rows.append(
                repo.ReadingRecord(
                    site=site.name, device="meter", metric=metric, time=t, value=value
                )
            )
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=start
        )
        await repo.insert_readings(session, readings=rows)
        await repo.rollup_hours(session, start=start, end=end + timedelta(hours=1))


async def test_the_daily_digest_is_posted_once(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(MORNING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, adapter, _):
        site = app.sites["demo"]
        assert "digests" in {job.id for job in app.jobs(poll_interval_s=1).scheduler.get_jobs()}
        # Before anything is stored there is nothing to say.
        assert await app.digests.run_due() == 0
        await _seed_day(app.sessionmaker, site, YESTERDAY_START)
        assert await app.digests.run_due() == 1
        [posted] = adapter.cards("report_daily")
        assert posted.channel == "#demo"
        card = posted.card
        assert card is not None and card.image_png is not None
        fields = dict(card.fields)
        assert fields["Solar"] == "12.0 kWh"  # 2 kW for 6 h
        assert fields["Load"] == "36.0 kWh"
        assert fields["Grid import"] == "27.0 kWh"
        assert fields["Grid export"] == "3.0 kWh"
        assert fields["Battery SOC min / max"] == "60 % / 60 %"
        assert "Wed 18 Nov 2026" in card.title
        # Again, and from a second worker: nothing more.
        assert await app.digests.run_due() == 0
        other = DigestJob(
            engine=app.engine,
            sessionmaker=app.sessionmaker,
            reports=app.reports,
            adapters=app.adapters,
            sites=app.sites,
            clock=clock,
        )
        assert await other.run_due() == 0
        assert len(adapter.cards("report_daily")) == 1
        assert adapter.cards("report_weekly") == []  # last week (9-15 Nov) has no data
        async with app.sessionmaker() as session:
            [row] = await repo.list_digests(session, site="demo")
        assert (row.kind, row.status, row.period_start) == ("daily", "sent", YESTERDAY_START)
        assert row.message is not None and row.message["posts"][0]["channel"] == "#demo"


async def _stored_kwh(
    sessionmaker: async_sessionmaker[AsyncSession],
    site: str,
    metric: str,
    start: datetime,
    end: datetime,
    sign: int = 1,
) -> float:
    """Energy of one metric's stored 10-minute readings in ``[start, end)``, counting only
    the part with the given sign (import +1, export -1)."""
    async with sessionmaker() as session:
        rows = await repo.readings_between(session, site=site, metric=metric, start=start, end=end)
    return sum(max(0.0, sign * r.value) for r in rows) / 6 / 1000


async def test_the_monthly_report_is_posted_once(db_url: str, tmp_path: Path) -> None:
    # Tue 1 Dec 2026 in Golden, Colorado (UTC-7). November began in summer time
    # (UTC-6, until 02:00 on Sun 1 Nov), so local November is 721 hours long.
    nov_start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    dec_start = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    clock = ManualClock(datetime(2026, 12, 1, 14, 30, tzinfo=UTC))  # 07:30 local
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, adapter, _):
        site = app.sites["demo"]
        assert (site.reports.monthly.day, site.reports.monthly.time) == (1, "08:00")
        # From the first local hour of November to now.
        await _seed(app.sessionmaker, site, nov_start, clock.now())
        # 07:30: yesterday's digest and last week's report (Mon 30 Nov, 08:00) are due; the
        # monthly report due is still October's, which has no readings.
        assert await app.digests.run_due() == 2
        assert adapter.cards("report_monthly") == []
        clock.advance(timedelta(hours=1))  # 08:30: November's report
        assert await app.digests.run_due() == 1
        [posted] = adapter.cards("report_monthly")
        assert posted.channel == "#demo"
        card = posted.card
        assert card is not None and card.image_png is not None
        assert card.image_png.startswith(b"\x89PNG")
        assert card.title == "Monthly report: Demo home lab, November 2026"
        fields = dict(card.fields)
        kwh = {
            name: await _stored_kwh(app.sessionmaker, "demo", metric, nov_start, dec_start, sign)
            for name, metric, sign in (
                ("Solar", "pv_power_w", 1),
                ("Load", "load_power_w", 1),
                ("Grid import", "grid_power_w", 1),
                ("Grid export", "grid_power_w", -1),
            )
        }
        assert kwh["Load"] == 1.5 * 721  # the whole local month, its 25-hour day included
        assert kwh["Solar"] == 2.0 * 6 * 30
        for name, value in kwh.items():
            assert fields[name] == f"{value:,.1f} kWh", name
        assert fields["Battery SOC min / max"] == "60 % / 60 %"

        # Again, and from a second worker: nothing more.
        assert await app.digests.run_due() == 0
        other = DigestJob(
            engine=app.engine,
            sessionmaker=app.sessionmaker,
            reports=app.reports,
            adapters=app.adapters,
            sites=app.sites,
            clock=clock,
        )
        assert await other.run_due() == 0
        clock.advance(timedelta(days=3))  # November's report is the one due until 1 January
        assert await other.run_due() == 0  # and 3 Dec, the day due now, has no readings
        assert len(adapter.cards("report_monthly")) == 1
        async with app.sessionmaker() as session:
            rows = await repo.list_digests(session, site="demo")
        [monthly] = [r for r in rows if r.kind == "monthly"]
        assert (monthly.status, monthly.period_start) == ("sent", nov_start)
        assert monthly.period_end == dec_start


async def test_energy_report_in_chat(db_url: str, tmp_path: Path) -> None:
    clock = ManualClock(MORNING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _adapter, _):
        await _seed_day(app.sessionmaker, app.sites["demo"], YESTERDAY_START)
        result = await app.chat.handle_message(say("olga", "carbon yesterday"), post=False)
        assert result.tools == ["energy_report"]
        # 27 kWh imported at the default grid factor of 0.481 kg/kWh.
        assert f"{27 * 0.481:,.1f} kg CO2" in result.answer
        [card] = [c for c in result.cards if c["kind"] == "report_daily"]
        assert card["image_png_b64"]


async def test_the_energy_report_answers_in_four_lines_and_keeps_every_figure_for_more(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(MORNING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _adapter, _):
        await _seed_day(app.sessionmaker, app.sites["demo"], YESTERDAY_START)
        result = await app.chat.handle_message(say("ada", "energy report for yesterday"))
        assert result.tools == ["energy_report"]
        first, *rest = result.answer.splitlines()
        # the headline figures of the seeded day: 2 kW of PV for 6 h, 1.5 kW of load
        assert first.startswith("Demo home lab, "), result.answer
        assert "solar 12.0 kWh, load 36.0 kWh, grid import 27.0 kWh" in first, result.answer
        assert len(rest) <= 3 and rest[-1].endswith("say 'more' for the breakdown."), result.answer
        assert rest[0].startswith("Peak demand 1.50 kW ("), result.answer
        assert "• " not in result.answer  # the rows wait for "more"

        more = await app.chat.handle_message(say("ada", "more"))
        assert more.tools == []
        for label, value in (
            ("Solar", "12.0 kWh"),
            ("Load", "36.0 kWh"),
            ("Grid import", "27.0 kWh"),
            ("Grid export", "3.0 kWh"),
            ("Battery SOC min / max", "60 % / 60 %"),
            ("Peak demand", "1.50 kW"),
        ):
            assert f"• {label}: {value}" in more.answer, (label, more.answer)
        for label in ("Cost", "Grid cost", "CO2", "Savings", "Alerts", "Actions"):
            assert f"• {label}: " in more.answer, (label, more.answer)

        why = await app.chat.handle_message(say("ada", "why?"))
        assert why.tools == []
        assert "(24 h with readings)" in why.answer, why.answer
        assert "0.481 kg/kWh for the grid" in why.answer


def test_report_command_writes_a_readable_pdf(sqlite_url: str, tmp_path: Path) -> None:
    import asyncio

    site = demo_site_file().sites[0]

    async def seed() -> None:
        engine = create_engine(sqlite_url)
        try:
            await upgrade_database(engine)
            await _seed_day(create_sessionmaker(engine), site, YESTERDAY_START, days=3)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    env = {**os.environ, "DATABASE_URL": sqlite_url, "COMMANDCENTER_DATA_DIR": str(tmp_path)}
    env.pop("COMMANDCENTER_SITE_FILE", None)
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root)
    out = tmp_path / "report.pdf"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "report", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = run(
        "weekly", "--site", "demo", "--from", "2026-11-18", "--to", "2026-11-20", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "2026-11-18 to 2026-11-20" in done.stdout
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert "Weekly report: Demo home lab" in text
    assert "36.0 kWh" in text  # solar: 3 days x 12 kWh
    assert "108.0 kWh" in text  # load: 3 days x 36 kWh
    assert "81.0 kWh" in text  # grid import

    bad = run("daily", "--from", "2026-13-01", "--out", str(out))
    assert bad.returncode == 2 and "--from '2026-13-01' is not a date" in bad.stderr
    unknown = run("daily", "--site", "barn", "--out", str(out))
    assert unknown.returncode == 2 and "Unknown site 'barn'" in unknown.stderr
    backwards = run("daily", "--from", "2026-11-20", "--to", "2026-11-18", "--out", str(out))
    assert backwards.returncode == 2 and "before the start date" in backwards.stderr


async def test_report_agrees_with_the_readings_and_actions_tables(
    db_url: str, tmp_path: Path
) -> None:
    """Six simulated hours of the demo (5-6 kW with the miners), two actions approved and
    run, and the rollup job run only once part-way (as an accelerated demo or a busy
    worker does): today's report must still match the readings and actions stored."""
    start = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 17:00 local (UTC-7)
    clock = ManualClock(start)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        await app.monitor.poll_once()
        for step in range(1, 6 * 30 + 1):  # a poll every 2 simulated minutes
            clock.advance(timedelta(minutes=2))
            await app.monitor.poll_once()
            if step == 30:  # 18:00: stop one miner, approved and run
                req = await app.actions.request(
                    site="demo",
                    kind="stop_miners",
                    params={"loads": ["miner-1"]},
                    requested_by="console:olga",
                )
                assert "Done" in await app.chat.handle_click(click("olga", "approve", req.id))
            if step == 60:  # 19:00: the only rollup run covers 17:00-19:59
                await app.maintenance.rollup_recent()
            if step == 120:  # 21:00: grid charging, approved by an admin and run
                req = await app.actions.request(
                    site="demo", kind="grid_charge_on", requested_by="console:ada"
                )
                assert "Done" in await app.chat.handle_click(click("ada", "approve", req.id))
        now = clock.now()  # 23:00 local
        async with app.sessionmaker() as session, session.begin():
            rows = await session.execute(
                text(
                    "SELECT time, value FROM readings WHERE site = 'demo' "
                    "AND metric = 'load_power_w' AND time >= :a AND time < :b"
                ),
                {"a": start, "b": now},
            )
            by_hour: dict[int, list[float]] = {}
            for when, value in rows.all():
                hour = (when if isinstance(when, datetime) else datetime.fromisoformat(when)).hour
                by_hour.setdefault(hour, []).append(float(value))
            statuses = (
                (await session.execute(text("SELECT status FROM action_requests"))).scalars().all()
            )
        load_kwh = sum(sum(v) / len(v) for v in by_hour.values()) / 1000.0
        assert len(by_hour) == 6 and load_kwh > 20  # six hours at 4-6 kW
        # the two approved and run, and any the battery alert proposed (still pending)
        assert sorted(statuses).count("succeeded") == 2

        result = await app.chat.handle_message(say("olga", "energy report for today"))
        answer = result.answer
        assert f"load {load_kwh:,.1f} kWh" in answer.splitlines()[0], answer
        n = len(statuses)
        assert f"{n} action{'s' * (n != 1)}" in answer, answer
        assert "-0.0" not in answer, answer
        # the answer is short: the first line answers, a few lines follow, the card has the rest
        assert answer.splitlines()[0].startswith("Demo home lab, "), answer
        assert len(answer.splitlines()) <= 4, answer
        more = (await app.chat.handle_message(say("olga", "more"))).answer
        assert f"Load: {load_kwh:,.1f} kWh" in more, more
        assert f"Actions: {n}" in more, more
        assert "-0.0" not in more, more
        [card] = [c for c in result.cards if c["kind"] == "report_daily"]
        fields = dict(card["fields"])
        assert fields["Load"] == f"{load_kwh:,.1f} kWh"
        assert fields["Actions"] == str(len(statuses))
        assert card["text"].count(": succeeded") == 2, card["text"]
