"""What happened, what was unusual and the INA228's readings, asked in chat.

On the simulated demo site, on a Raspberry Pi site with a simulated INA228 chip, on two
sites with a person limited to one, and on real measured data loaded into the readings
table: ``load/emhass_long_train_data_2024-2025_30min.csv`` (davidusb-geek/emhass, MIT;
see its ``.source.txt``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import text

from bot.app import open_app
from bot.chat.memory import MemoryAdapter
from bot.settings import Settings
from storage import repositories as repo
from tests.bot.helpers import click, running_bot, say
from tests.bot.test_security import say as say_in
from tests.bot.test_security import two_sites
from tests.conftest import shared_data
from tools.clock import ManualClock
from tools.devices.base import SiteDriver
from tools.devices.ina228 import Ina228Device
from tools.devices.simulators.ina228_bus import FakeI2CBus, FakeIna228
from tools.reports.anomalies import find_anomalies, render
from tools.site import Device, Location, Person, Site, SiteFile

DENVER = ZoneInfo("America/Denver")
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 17:00 local (UTC-7)


def _when(value: object) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


async def test_timeline_of_the_simulated_evening(sqlite_url: str, tmp_path: Path) -> None:
    """Six simulated hours of the demo with a request approved and run: the timeline
    agrees with the alerts, actions and readings tables."""
    clock = ManualClock(START)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        await app.monitor.poll_once()
        for step in range(1, 6 * 30 + 1):  # a poll every 2 simulated minutes
            clock.advance(timedelta(minutes=2))
            await app.monitor.poll_once()
            if step == 45:  # 18:30: olga stops miner-1, approves, it runs
                req = await app.actions.request(
                    site="demo",
                    kind="stop_miners",
                    params={"loads": ["miner-1"]},
                    requested_by="console:olga",
                )
                assert "Done" in await app.chat.handle_click(click("olga", "approve", req.id))
        since = datetime(2026, 11, 19, 18, 0, tzinfo=DENVER)
        async with app.sessionmaker() as session, session.begin():
            rows = await repo.readings_between(
                session,
                site="demo",
                metric="battery_soc_pct",
                start=since.astimezone(UTC),
                end=clock.now() + timedelta(seconds=1),
            )
            soc = [r.value for r in rows]
            alerts = (await session.execute(text("SELECT id, title, started_at FROM alerts"))).all()
        result = await app.chat.handle_message(say("olga", "what happened since 18:00?"))
        assert result.tools == ["timeline"]
        lines = result.answer.splitlines()
        assert lines[0].startswith("Since 18:00 (local, MST) at Demo home lab: "), result.answer
        assert "1 action request" in lines[0]
        assert f"- 18:30 stop miners requested by olga ({req.id[:8]})" in lines
        assert "- 18:30 stop miners approved by Olga" in lines  # the approver's name
        assert "- 18:30 stop miners executed" in lines
        for alert_id, title, started in alerts:
            if _when(started) >= since:
                assert any(f"#{alert_id} {title}" in line for line in lines), result.answer
        soc_text = (
            f"battery at {min(soc):.0f} % throughout"
            if round(min(soc)) == round(max(soc))
            else f"battery {min(soc):.0f}–{max(soc):.0f} %"
        )
        assert soc_text in lines[-1], result.answer
        assert len(lines) <= 18
        # "why?": the window as read, and where each kind of event came from
        why = await app.chat.handle_message(say("olga", "why?"))
        assert why.tools == []
        end = clock.now().astimezone(DENVER)
        assert why.answer.startswith(
            f"Why: Window: 'since 18:00' read as Thu 19 Nov 18:00 to {end:%a %d %b %H:%M} "
            "(America/Denver)."
        ), why.answer
        found = re.search(
            r"Events: (\d+) from the alerts table .*, (\d+) from the action requests", why.answer
        )
        assert found is not None, why.answer
        action_lines = [line for line in lines if "stop miners" in line]
        assert int(found[2]) == len(action_lines), why.answer
        assert "Readings: the battery range and PV peak from raw readings." in why.answer
        # the demo has no INA228 and only days of history: both said plainly
        panel = await app.chat.handle_message(say("olga", "what's the panel voltage?"))
        assert panel.tools == ["panel_readings"]
        assert panel.answer.startswith("Demo home lab has no INA228 monitor"), panel.answer
        assert "It has: simulator" in panel.answer
        unusual = await app.chat.handle_message(say("olga", "anything unusual this week?"))
        assert unusual.tools == ["anomalies"]
        assert unusual.answer.startswith(
            "Not enough history at Demo home lab to say what is unusual: 0 day(s)"
        ), unusual.answer
        assert await app.actions.list_requests(statuses=("pending",)) == [] or all(
            a.requested_by != "console:olga"
            for a in await app.actions.list_requests(statuses=("pending",))
        )  # reading tools asked for nothing


async def test_a_person_limited_to_one_site_cannot_read_the_others(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, _clock):
        asks = {
            "what happened overnight at barn?": "timeline",
            "anything unusual at barn this week?": "anomalies",
            "barn panel voltage?": "panel_readings",
        }
        for question, tool in asks.items():
            answer = await app.chat.handle_message(say_in("hank", question))
            assert answer.tools == [tool], (question, answer.tools)
            assert "do not have access to the site 'barn'" in answer.answer, answer.answer
            assert "Barn:" not in answer.answer and " at Barn" not in answer.answer
        own = await app.chat.handle_message(say_in("hank", "what happened overnight?"))
        assert own.tools == ["timeline"] and "access" not in own.answer
        assert own.answer.startswith("Overnight (22:00–") and " at Home" in own.answer
        # follow-ups keep the question: another site, another window, the full list
        barn = await app.chat.handle_message(say_in("ada", "what happened overnight?"))
        assert " at Home" in barn.answer
        barn = await app.chat.handle_message(say_in("ada", "what about the barn?"))
        assert barn.tools == ["timeline"] and barn.answer.startswith("Overnight (22:00–")
        assert " at Barn" in barn.answer, barn.answer
        later = await app.chat.handle_message(say_in("ada", "and since 6am?"))
        assert later.tools == ["timeline"] and later.answer.startswith("Since "), later.answer
        more = await app.chat.handle_message(say_in("ada", "more"))
        # "more" gives what the answer left out (from the conversation, no new call);
        # this window was quiet, so there is nothing more, and it says so.
        assert "say 'more'" not in more.answer
        assert more.answer.startswith(later.answer.splitlines()[0]) or "whole answer" in (
            more.answer
        ), more.answer


def _pi_site_file() -> SiteFile:
    panel = Device(
        name="panel-1",
        driver="ina228",
        connection={
            "bus": 1,
            "address": 0x40,
            "shunt_ohms": 0.015,
            "max_current_a": 10,
            "metric_prefix": "pv",
        },
    )
    site = Site(
        name="pi",
        title="Roof Pi",
        timezone="America/Denver",
        location=Location(latitude=39.74, longitude=-105.17),
        devices=[panel],
    )
    return SiteFile(
        sites=[site], people=[Person(platform="console", user_id="olga", role="operator")]
    )


async def test_panel_readings_from_a_simulated_ina228(sqlite_url: str, tmp_path: Path) -> None:
    site_file = _pi_site_file()
    site = site_file.sites[0]
    chip = FakeIna228(current_a=2.5, bus_voltage_v=18.4, die_temp_c=41.0)
    device = Ina228Device(site.devices[0], site, bus_factory=lambda _n: FakeI2CBus({0x40: chip}))
    driver = SiteDriver(site, [device], intervals_s={"panel-1": 10.0})
    clock = ManualClock(START)
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)
    async with open_app(
        settings,
        adapter=MemoryAdapter(),
        clock=clock,
        site_file=site_file,
        drivers={"pi": driver},
    ) as app:
        await app.monitor.poll_once()
        state = app.pipeline.latest("pi")
        volts = state.get("voltage_v", "panel-1")
        amps = state.get("current_a", "panel-1")
        die = state.get("temp_c", "panel-1")
        assert volts is not None and amps is not None and die is not None
        asked = {
            "what's the panel voltage": f"panel-1 (INA228) voltage: {volts:.2f} V",
            "ina228 current?": f"panel-1 (INA228) current: {amps:.3f} A",
            "how hot is the chip": f"panel-1 (INA228) die temperature: {die:.1f} °C",
        }
        for question, first in asked.items():
            result = await app.chat.handle_message(say("olga", question))
            assert result.tools == ["panel_readings"], (question, result.tools)
            assert result.answer.startswith(first), result.answer
            assert "power" in result.answer  # the other readings follow on the same line
        why = await app.chat.handle_message(say("olga", "why?"))
        assert why.tools == []
        assert why.answer.startswith("Why: panel-1: ina228 driver ("), why.answer
        assert f"voltage_v {volts:.2f} V (0 s ago)" in why.answer, why.answer
        assert f"temp_c {die:.1f} °C (0 s ago)" in why.answer
        assert "the chip's own die, not the panel's" in why.answer
        assert volts == pytest.approx(18.4, abs=0.01) and die == pytest.approx(41.0, abs=0.2)


# --- real measured data in the readings table ------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")
WEEK_END = datetime(2024, 5, 15, tzinfo=UTC)
INJECTED = pd.Timestamp("2024-05-11 23:00", tz="UTC")  # 01:00 Sunday in Paris


def _emhass() -> pd.DataFrame:
    df = pd.read_csv(shared_data("load/emhass_long_train_data_2024-2025_30min.csv"))
    df.index = pd.DatetimeIndex(pd.to_datetime(df["timestamp_utc"], utc=True))
    frame = pd.DataFrame(
        {
            "load_power_w": df["sensor.power_load_no_var_loads"],
            "pv_power_w": df["sensor.power_photovoltaics"].fillna(0.0),
        }
    )
    frame = frame[(frame.index >= WEEK_END - timedelta(days=35)) & (frame.index < WEEK_END)]
    frame["load_power_w"] = frame["load_power_w"].where(frame["load_power_w"] > 0)
    # a known anomaly: 2 kW left on for 4 hours in the small hours of Sunday
    night = (frame.index >= INJECTED) & (frame.index < INJECTED + pd.Timedelta(hours=4))
    frame.loc[night, "load_power_w"] += 2000.0
    return frame


def _emhass_site_file() -> SiteFile:
    site = Site(
        name="emhass-house",
        title="EMHASS house",
        timezone="Europe/Paris",
        location=Location(latitude=48.83, longitude=6.86),
    )
    return SiteFile(
        sites=[site], people=[Person(platform="console", user_id="olga", role="operator")]
    )


async def test_real_data_in_the_readings_table(db_url: str, tmp_path: Path) -> None:
    frame = _emhass()
    clock = ManualClock(WEEK_END)
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    async with open_app(
        settings,
        adapter=MemoryAdapter(),
        clock=clock,
        site_file=_emhass_site_file(),
        drivers={},
    ) as app:
        records = [
            repo.ReadingRecord(
                site="emhass-house",
                device="ha",
                metric=metric,
                time=when.to_pydatetime(),
                value=float(value),
            )
            for metric in ("load_power_w", "pv_power_w")
            for when, value in frame[metric].dropna().items()
        ]
        async with app.sessionmaker() as session, session.begin():
            await repo.insert_readings(session, readings=records)

        # what was unusual: the answer is the pure analysis of the same measured series
        hourly = {m: frame[m].dropna().resample("h").mean().dropna() for m in frame.columns}
        presence = {"ha": hourly["load_power_w"].index.union(hourly["pv_power_w"].index)}
        expected = render(
            find_anomalies(hourly, now=WEEK_END, tz=PARIS, presence=presence),
            site="EMHASS house",
        )
        result = await app.chat.handle_message(say("olga", "any weird readings lately?"))
        assert result.tools == ["anomalies"]
        assert result.answer == expected
        assert result.answer.startswith("1 unusual thing at EMHASS house this week")
        assert "Load above usual Sun 01:00–05:00" in result.answer, result.answer
        # "why?": the baseline window and days, the threshold, the finding's own z
        why = await app.chat.handle_message(say("olga", "why?"))
        assert why.tools == []
        report = find_anomalies(hourly, now=WEEK_END, tz=PARIS, presence=presence)
        base_start = (WEEK_END - timedelta(days=35)).astimezone(PARIS)
        assert (
            f"baseline: the 28 days before it, {base_start:%a %d %b %H:%M} to "
            f"{(WEEK_END - timedelta(days=7)).astimezone(PARIS):%a %d %b %H:%M} (Europe/Paris), "
            f"from the hourly rollups: {report.history_days} day(s)" in why.answer
        ), why.answer
        assert "robust z" in why.answer and "≥ 4 AND it lies outside every baseline value" in (
            why.answer
        )
        finding = report.findings[0]
        assert finding.peak_z is not None and finding.peak_z >= 4
        assert f"{finding.text}: robust z up to {finding.peak_z:.1f}, outside the range seen." in (
            why.answer
        ), why.answer

        # what happened: the PV peak and the window in the site's time
        asked = await app.chat.handle_message(say("olga", "what happened since yesterday?"))
        assert asked.tools == ["timeline"]
        start = datetime(2024, 5, 14, tzinfo=PARIS)
        pv = frame["pv_power_w"][frame.index >= start]
        peak_at = pv.idxmax().tz_convert(PARIS)
        first, *rest = asked.answer.splitlines()
        assert first == (
            "Since yesterday 00:00 (local, CEST) at EMHASS house: quiet, no alerts or actions."
        )
        assert rest == [f"Readings: PV peak {pv.max() / 1000:.1f} kW at {peak_at:%a %H:%M}."], (
            asked.answer
        )
