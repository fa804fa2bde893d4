"""A simulated week through the database: the report's figures against totals computed
here, independently, from the raw readings; the digest text and the PDF carry them; and
a day with many alerts still lists its actions."""

from __future__ import annotations

import dataclasses
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.clock import ManualClock
from tools.devices.base import DeviceCommand
from tools.devices.simulator import SimulatedSite
from tools.forecast.service import ForecastService
from tools.reports.pdf import report_pdf_bytes
from tools.reports.periods import custom_period
from tools.reports.render import digest_card, digest_text
from tools.reports.service import EventBrief, ReportService
from tools.site import Site, demo_site_file

FIRST = date(2026, 11, 9)  # a Monday; the week is 9-15 November, local (America/Denver)
LAST = date(2026, 11, 15)
STEP = timedelta(minutes=5)


def _site() -> Site:
    return demo_site_file().sites[0]


async def _simulate(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site, start: datetime, end: datetime
) -> list[repo.ReadingRecord]:
    """Run the simulator from ``start`` to ``end``, with the generator on for a few
    afternoon hours every other day, storing every reading; returns them."""
    sim = SimulatedSite(site, seed=11, start=start)
    records: list[repo.ReadingRecord] = []
    t = start
    while t < end:
        local_hour = t.astimezone(site.tz).hour
        day = (t - start).days
        want = day % 2 == 1 and 17 <= local_hour < 20
        if want != sim.state.generator_running:
            await sim.execute(DeviceCommand(kind="generator", on=want))
        for r in await sim.poll(t):
            records.append(
                repo.ReadingRecord(
                    site=r.site, device=r.device, metric=r.metric, time=r.time, value=r.value
                )
            )
        t += STEP
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=start
        )
        await repo.insert_readings(session, readings=records)
        await repo.rollup_hours(session, start=start, end=end + timedelta(hours=1))
    return records


def _expected(
    records: list[repo.ReadingRecord], start: datetime, end: datetime
) -> dict[str, float]:
    """Totals from the raw readings: each hour's mean power x 1 h, split by sign where
    a sign means direction; fuel = the drop of the tank's hourly mean level."""
    sums: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for r in records:
        hour = r.time.replace(minute=0, second=0, microsecond=0)
        sums[(r.metric + ":" + r.device, hour)].append(r.value)
    means = {k: sum(v) / len(v) for k, v in sums.items()}

    def hourly(metric: str) -> list[float]:
        return [v for (m, h), v in means.items() if m.split(":")[0] == metric and start <= h < end]

    level = {h: v for (m, h), v in means.items() if m.startswith("generator_fuel_l:")}
    before = level[start - timedelta(hours=1)]
    last = level[end - timedelta(hours=1)]
    return {
        "solar": sum(hourly("pv_power_w")) / 1000,
        "load": sum(hourly("load_power_w")) / 1000,
        "import": sum(v for v in hourly("grid_power_w") if v > 0) / 1000,
        "export": -sum(v for v in hourly("grid_power_w") if v < 0) / 1000,
        "charge": sum(v for v in hourly("battery_power_w") if v > 0) / 1000,
        "discharge": -sum(v for v in hourly("battery_power_w") if v < 0) / 1000,
        "generator": sum(hourly("generator_power_w")) / 1000,
        "fuel": before - last,
        "run_h": sum(hourly("generator_running")),
        "peak_kw": max(
            r.value for r in records if r.metric == "load_power_w" and start <= r.time < end
        )
        / 1000,
    }


async def test_a_simulated_week_matches_the_readings(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    site = _site()
    clock = ManualClock(datetime(2026, 11, 17, 15, 0, tzinfo=UTC))
    period = custom_period(FIRST, LAST, now=clock.now(), tz=site.tz)
    records = await _simulate(sessionmaker, site, period.start - timedelta(days=1), period.end)
    want = _expected(records, period.start, period.end)
    assert want["generator"] > 5 and want["fuel"] > 1 and want["solar"] > 50  # it all ran

    service = ReportService(
        sessionmaker=sessionmaker,
        sites={site.name: site},
        clock=clock,
        forecasts=ForecastService(sessionmaker=sessionmaker, clock=clock),
    )
    report = await service.report(site, period)
    f = report.analytics.flows
    assert f.solar_kwh == pytest.approx(want["solar"], rel=1e-9)
    assert f.load_kwh == pytest.approx(want["load"], rel=1e-9)
    assert f.grid_import_kwh == pytest.approx(want["import"], rel=1e-9)
    assert f.grid_export_kwh == pytest.approx(want["export"], rel=1e-9, abs=1e-9)
    assert f.battery_charge_kwh == pytest.approx(want["charge"], rel=1e-9)
    assert f.battery_discharge_kwh == pytest.approx(want["discharge"], rel=1e-9)
    assert f.generator_kwh == pytest.approx(want["generator"], rel=1e-9)
    assert f.fuel_l == pytest.approx(want["fuel"], rel=1e-9)
    assert f.generator_run_h == pytest.approx(want["run_h"], rel=1e-9)
    assert f.hours == 7 * 24
    assert report.analytics.peak is not None
    assert report.analytics.peak.power_kw == pytest.approx(want["peak_kw"], rel=1e-9)
    # Cost, carbon and savings from the same totals and the site file's prices.
    costs, factors = site.costs, site.emissions
    assert report.analytics.costs.fuel_cost == pytest.approx(want["fuel"] * costs.fuel_price_per_l)
    assert report.analytics.costs.grid_cost == pytest.approx(
        want["import"] * costs.grid_price_per_kwh
    )
    assert report.analytics.carbon.total_kg == pytest.approx(
        want["fuel"] * factors.diesel_kg_per_l + want["import"] * factors.grid_kg_per_kwh
    )
    assert report.analytics.savings.baseline_cost == pytest.approx(
        want["load"] * costs.grid_price_per_kwh
    )
    assert [d.day for d in report.analytics.days] == [FIRST + timedelta(days=n) for n in range(7)]
    assert sum(d.flows.solar_kwh for d in report.analytics.days) == pytest.approx(want["solar"])
    # The miners ran (the simulator starts them on) and some of it on surplus solar.
    assert report.analytics.miners is not None
    assert 0 < report.analytics.miners.on_surplus_h < report.analytics.miners.on_h
    assert report.solar is not None and report.solar.energy_actual_kwh == pytest.approx(
        want["solar"]
    )

    text = digest_text(report)
    for figure in (want["solar"], want["load"], want["import"], want["generator"]):
        assert f"{figure:,.1f} kWh" in text
    assert f"{want['fuel']:,.1f} L" in text
    card = digest_card(report, kind="weekly")
    assert card.image_png is not None and card.image_png.startswith(b"\x89PNG")
    assert ("Solar", f"{want['solar']:,.1f} kWh") in card.fields

    pdf = PdfReader(io.BytesIO(report_pdf_bytes(report, title="Weekly report")))
    assert len(pdf.pages) >= 3
    content = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Weekly report" in content
    assert f"{want['solar']:,.1f} kWh" in content
    assert f"{want['fuel']:,.1f} L" in content


async def test_a_partial_period_before_gives_no_percentages(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The day before has one hour of readings (the bot was installed at 23:00): the
    report gives yesterday's figures without "+1257 %", and never prints "-0.0"."""
    site = _site()
    clock = ManualClock(datetime(2026, 11, 11, 7, 0, tzinfo=UTC))  # 00:00 local on the 11th
    day = date(2026, 11, 10)
    period = custom_period(day, day, now=clock.now(), tz=site.tz)
    rows = []
    t = period.start - timedelta(hours=1)  # 23:00 local on the 9th
    while t < period.end:
        for metric, value in (
            ("load_power_w", 1500.0),
            ("grid_power_w", -0.01),  # a meter's idle noise: exports a hair
            ("pv_power_w", 0.0),
        ):
            rows.append(
                repo.ReadingRecord(site=site.name, device="m", metric=metric, time=t, value=value)
            )
        t += timedelta(minutes=10)
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=t
        )
        await repo.insert_readings(session, readings=rows)
    service = ReportService(sessionmaker=sessionmaker, sites={site.name: site}, clock=clock)
    report = await service.report(site, period)
    assert report.previous is not None and report.previous.flows.hours == 1
    assert report.previous_is_partial
    text = digest_text(report)
    assert "Load: 36.0 kWh" in text, text
    assert "only 1 h against 24 h now, so no change is given (" in text, text
    assert "Load 1.5 kWh" in text and "%" not in text.split("only 1 h")[1], text
    assert "-0.0" not in text, text
    assert "Grid export: 0.0 kWh" in text, text


async def test_many_alerts_do_not_push_the_actions_out_of_the_report(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """A device that flaps raises an alert every few minutes: the card, the breakdown
    and the PDF list a limited number of events, but every action of the day is listed
    and the alerts left out are counted (before, the card listed the first eight events
    by time, so the evening's actions vanished behind the afternoon's alerts)."""
    site = _site()
    clock = ManualClock(datetime(2026, 11, 11, 7, 0, tzinfo=UTC))  # 00:00 local on the 11th
    day = date(2026, 11, 10)
    period = custom_period(day, day, now=clock.now(), tz=site.tz)
    rows = [
        repo.ReadingRecord(site=site.name, device="m", metric="load_power_w", time=t, value=1500.0)
        for t in (period.start + timedelta(minutes=10 * i) for i in range(6 * 24))
    ]
    async with sessionmaker() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=period.start
        )
        await repo.insert_readings(session, readings=rows)
    service = ReportService(sessionmaker=sessionmaker, sites={site.name: site}, clock=clock)
    report = await service.report(site, period)
    assert report.has_data

    def at(hour: int, minute: int = 0) -> datetime:
        return period.start + timedelta(hours=hour, minutes=minute)

    alerts = [
        EventBrief(time=at(17, 2 * i), kind="alert", severity="warning", text="simulator offline")
        for i in range(70)
    ]
    actions = [
        EventBrief(time=at(18), kind="action", severity="succeeded", text="stop miners: succeeded"),
        EventBrief(time=at(21), kind="action", severity="succeeded", text="grid charge on: ok"),
    ]
    busy = dataclasses.replace(report, events=sorted(alerts + actions, key=lambda e: e.time))

    card = digest_card(busy, chart=False).text
    assert card.count("] stop miners: succeeded") == 1, card
    assert card.count("] grid charge on: ok") == 1, card
    assert card.count("simulator offline") == 6, card  # eight rows, two are the actions
    assert card.endswith("… and 64 more alerts"), card
    # oldest first: the alerts of 17:00-17:10, then the actions
    assert card.index("17:10") < card.index("18:00 action") < card.index("21:00 action"), card

    text = digest_text(busy)
    assert "18:00 action [succeeded] stop miners" in text, text
    assert "21:00 action [succeeded] grid charge on" in text, text
    assert text.count("simulator offline") == 8, text
    assert text.endswith("  … and 62 more alerts"), text

    pdf = PdfReader(io.BytesIO(report_pdf_bytes(busy, title="Daily report")))
    content = "\n".join(page.extract_text() for page in pdf.pages)
    assert "stop miners: succeeded" in content and "grid charge on: ok" in content
    assert "... and 12 more alerts" in content, content

    # Fewer events than rows: all of them, and no count.
    quiet = dataclasses.replace(report, events=[alerts[0], *actions])
    assert "more" not in digest_card(quiet, chart=False).text
    assert "more alerts" not in digest_text(quiet)
