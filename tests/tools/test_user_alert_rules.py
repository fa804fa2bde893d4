"""Alert rules set in chat: drafting (units, ranges, the site's metrics), storage on both
databases, and the alert engine firing, holding, resolving and muting them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from storage.models import AuditRow
from tools.alerts import user_rules as user_rules_module
from tools.alerts.engine import AlertEngine, AlertEvent
from tools.alerts.registry import all_rules
from tools.alerts.silences import Matcher
from tools.alerts.user_rules import (
    MAX_RULES_PER_SITE,
    AlertRuleError,
    UserRuleStore,
    draft_rule,
    site_metrics,
)
from tools.clock import ManualClock
from tools.domain import Reading
from tools.site import Site, demo_site_file
from tools.telemetry import SiteState

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def site() -> Site:
    return demo_site_file().sites[0]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def panel_state(site: Site, when: datetime, voltage_v: float, **more: float) -> SiteState:
    """What an INA228 on a panel reports (device "panel-1"), plus any other metrics."""
    state = SiteState(site.name)
    for metric, value in {"voltage_v": voltage_v, "current_a": 1.2, "temp_c": 31.0}.items():
        state.update(
            Reading(site=site.name, metric=metric, time=when, value=value, device="panel-1")
        )
    for metric, value in more.items():
        state.update(Reading(site=site.name, metric=metric, time=when, value=value, device="inv"))
    return state


# --- drafting: the person's words and units into a rule in the metric's unit --------------


@pytest.mark.parametrize(
    ("metric", "value", "unit", "expected_metric", "threshold"),
    [
        ("panel voltage", 12, "V", "voltage_v", 12.0),
        ("voltage", 12500, "mV", "voltage_v", 12.5),
        ("battery", 30, "%", "battery_soc_pct", 30.0),
        ("battery", 48, "V", "battery_voltage_v", 48.0),
        ("load", 5, "kW", "load_power_w", 5000.0),
        ("solar power", 2000, "W", "pv_power_w", 2000.0),
        ("load", 5, None, "load_power_w", 5000.0),  # bare power numbers are kW
        ("die temperature", 40, "°C", "temp_c", 40.0),
        ("temperature", 104, "F", "temp_c", 40.0),
        ("fuel", 50, "litres", "generator_fuel_l", 50.0),
        ("fuel", 10, "gal", "generator_fuel_l", 37.85411784),
    ],
)
def test_a_rule_is_stored_in_the_metric_unit(
    site: Site,
    metric: str,
    value: float,
    unit: str | None,
    expected_metric: str,
    threshold: float,
) -> None:
    site = site.model_copy(update={"generator": _generator(site)})
    draft = draft_rule(
        site, panel_state(site, T0, 13.0), metric=metric, comparator="<", value=value, unit=unit
    )
    assert draft.metric == expected_metric
    assert draft.threshold == pytest.approx(threshold)
    assert draft.severity == "warning" and draft.hold_s == 0.0


def _generator(site: Site) -> object:
    from tools.site import Generator

    return site.generator or Generator(rated_kw=8.0, tank_l=400.0)


def test_fuel_percent_is_a_share_of_the_tank_when_the_site_measures_litres(site: Site) -> None:
    from tools.site import Generator

    site = site.model_copy(update={"generator": Generator(rated_kw=8.0, tank_l=400.0)})
    draft = draft_rule(site, None, metric="fuel", comparator="<", value=20, unit="%")
    assert (draft.metric, draft.threshold, draft.threshold_text) == (
        "generator_fuel_l",
        80.0,
        "20 %",
    )


def test_hold_time_and_severity(site: Site) -> None:
    draft = draft_rule(
        site,
        panel_state(site, T0, 13.0),
        metric="panel voltage",
        comparator="<=",
        value=11.5,
        unit="v",
        hold_minutes=10,
        severity="critical",
    )
    assert (draft.hold_s, draft.severity, draft.threshold_text) == (600.0, "critical", "11.5 V")


def test_a_metric_the_site_does_not_have_lists_those_it_has(site: Site) -> None:
    # The demo site has no INA228 and reports no panel voltage.
    with pytest.raises(AlertRuleError) as err:
        draft_rule(
            site, SiteState(site.name), metric="panel current", comparator="<", value=1, unit="A"
        )
    text = str(err.value)
    assert "does not report panel current" in text
    assert "battery soc (%)" in text and "load (W)" in text
    with pytest.raises(AlertRuleError, match=r"I don't know the metric 'humidity'.*battery soc"):
        draft_rule(site, None, metric="humidity", comparator=">", value=80, unit="%")


@pytest.mark.parametrize(
    ("metric", "comparator", "value", "unit", "message"),
    [
        ("battery", "<", 130, "%", "between 0 % and 100 %"),
        ("battery", "<", 0, "%", "never below 0 %"),
        ("battery", ">=", 0, "%", "always above 0 %"),
        ("soc", "<", 30, "V", "does not fit battery soc"),
        ("load", ">", 5, "furlongs", "I don't know the unit 'furlongs'"),
        ("battery", "<", 30, "°C", "does not fit|not °C"),
    ],
)
def test_silly_values_are_refused_with_the_reason(
    site: Site, metric: str, comparator: str, value: float, unit: str, message: str
) -> None:
    with pytest.raises(AlertRuleError, match=message):
        draft_rule(site, None, metric=metric, comparator=comparator, value=value, unit=unit)


def test_a_hold_over_a_day_is_refused(site: Site) -> None:
    with pytest.raises(AlertRuleError, match="hold time"):
        draft_rule(
            site, None, metric="battery", comparator="<", value=30, unit="%", hold_minutes=2000
        )


def test_site_metrics_come_from_the_site_and_its_readings(site: Site) -> None:
    assert "voltage_v" not in site_metrics(site, None)
    assert {"voltage_v", "current_a", "temp_c"} <= set(
        site_metrics(site, panel_state(site, T0, 12))
    )


# --- storage on SQLite and PostgreSQL ----------------------------------------------------------


async def _add_site(sm: async_sessionmaker[AsyncSession], site: Site) -> None:
    async with sm() as session, session.begin():
        await repo.upsert_site(
            session, name=site.name, title=site.title, timezone=site.timezone, now=T0
        )


async def test_rules_round_trip_through_the_database(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site
) -> None:
    await _add_site(sessionmaker, site)
    store = UserRuleStore(sessionmaker=sessionmaker)
    draft = draft_rule(
        site,
        panel_state(site, T0, 13.0),
        metric="panel voltage",
        comparator="<",
        value=12,
        unit="V",
        hold_minutes=10,
    )
    rule = await store.add(draft, created_by="slack:U1", created_by_name="olga", now=T0)
    # A second process sees it after loading.
    other = UserRuleStore(sessionmaker=sessionmaker)
    await other.load()
    (loaded,) = other.for_site(site.name)
    assert loaded == rule
    assert (loaded.metric, loaded.comparator, loaded.threshold, loaded.unit) == (
        "voltage_v",
        "<",
        12.0,
        "V",
    )
    assert loaded.hold_s == 600.0 and loaded.created_at == T0 and loaded.enabled
    assert loaded.describe() == f"#{rule.id} panel voltage < 12 V for 10 min (warning, by @olga)"
    removed = await other.remove(rule.id, removed_by="slack:U2", now=T0 + timedelta(hours=1))
    assert not removed.enabled
    assert await store.list(site.name) == [] and await store.get(rule.id) is None
    with pytest.raises(AlertRuleError, match="no alert rule"):
        await store.remove(rule.id, removed_by="slack:U2", now=T0)
    async with sessionmaker() as session:
        events = (await session.scalars(select(AuditRow.event).order_by(AuditRow.id))).all()
    assert events == ["alert_rule_added", "alert_rule_removed"]


async def test_a_site_holds_at_most_50_rules(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site
) -> None:
    await _add_site(sessionmaker, site)
    store = UserRuleStore(sessionmaker=sessionmaker)
    for n in range(MAX_RULES_PER_SITE):
        draft = draft_rule(
            site, None, metric="battery", comparator="<", value=10 + n % 80, unit="%"
        )
        await store.add(draft, created_by="console:ada", created_by_name="Ada", now=T0)
    draft = draft_rule(site, None, metric="load", comparator=">", value=5, unit="kW")
    with pytest.raises(AlertRuleError, match="already has 50 alert rules"):
        await store.add(draft, created_by="console:ada", created_by_name="Ada", now=T0)
    assert len(await store.list(site.name)) == MAX_RULES_PER_SITE


# --- the engine ------------------------------------------------------------------------------


@pytest.fixture
async def engine_and_store(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site, clock: ManualClock
) -> tuple[AlertEngine, UserRuleStore]:
    await _add_site(sessionmaker, site)
    store = UserRuleStore(sessionmaker=sessionmaker)
    engine = AlertEngine(
        sessionmaker=sessionmaker,
        sites={site.name: site},
        clock=clock,
        rules=all_rules(),
        user_rules=store.for_site,
    )
    return engine, store


async def _step(
    engine: AlertEngine, site: Site, clock: ManualClock, voltage_v: float, **more: float
) -> list[AlertEvent]:
    clock.advance(timedelta(minutes=1))
    events = await engine.evaluate(site.name, panel_state(site, clock.now(), voltage_v, **more))
    return [e for e in events if e.alert.rule.startswith("user:")]


async def test_the_engine_fires_and_resolves_a_rule_with_hysteresis(
    engine_and_store: tuple[AlertEngine, UserRuleStore], site: Site, clock: ManualClock
) -> None:
    engine, store = engine_and_store
    draft = draft_rule(
        site, panel_state(site, T0, 13), metric="panel voltage", comparator="<", value=12, unit="V"
    )
    rule = await store.add(draft, created_by="slack:U1", created_by_name="olga", now=T0)
    assert await _step(engine, site, clock, 12.4) == []
    (fired,) = await _step(engine, site, clock, 11.8)
    assert fired.kind == "fired" and fired.alert.rule == f"user:{rule.id}"
    assert fired.alert.summary == (
        f"Panel voltage 11.8 V is below your 12 V threshold (rule #{rule.id} by @olga)."
    )
    assert fired.alert.severity == "warning" and fired.alert.category == "solar"
    # Hovering just above the threshold does not resolve it (hysteresis), and nothing repeats.
    assert await _step(engine, site, clock, 12.05) == []
    assert await _step(engine, site, clock, 11.9) == []
    (resolved,) = await _step(engine, site, clock, 12.5)
    assert resolved.kind == "resolved"
    assert await engine.open_alerts(site.name) == []


async def test_a_hold_time_must_pass_before_the_rule_fires(
    engine_and_store: tuple[AlertEngine, UserRuleStore], site: Site, clock: ManualClock
) -> None:
    engine, store = engine_and_store
    draft = draft_rule(
        site,
        panel_state(site, T0, 13),
        metric="die temperature",
        comparator=">",
        value=104,
        unit="F",
        hold_minutes=5,
        severity="critical",
    )
    rule = await store.add(draft, created_by="console:ada", created_by_name="Ada", now=T0)
    hot = {"temp_c": 45.0}

    async def hot_step() -> list[AlertEvent]:
        clock.advance(timedelta(minutes=1))
        state = panel_state(site, clock.now(), 13.0)
        for metric, value in hot.items():
            state.update(
                Reading(
                    site=site.name, metric=metric, time=clock.now(), value=value, device="panel-1"
                )
            )
        events = await engine.evaluate(site.name, state)
        return [e for e in events if e.alert.rule == rule.key]

    # A short spike (2 min) is discarded without a notification.
    assert await hot_step() == [] and await hot_step() == []
    hot["temp_c"] = 30.0
    assert await hot_step() == []
    hot["temp_c"] = 45.0
    events: list[AlertEvent] = []
    for _ in range(7):
        events += await hot_step()
    (fired,) = events
    assert fired.kind == "fired" and fired.alert.severity == "critical"
    assert (
        "Device temperature 113 °F is above your 104 °F threshold for 5 min" in fired.alert.summary
    )


async def test_silences_acknowledgements_and_removal_apply_to_user_rules(
    engine_and_store: tuple[AlertEngine, UserRuleStore], site: Site, clock: ManualClock
) -> None:
    engine, store = engine_and_store
    low_soc = draft_rule(site, None, metric="battery", comparator="<", value=50, unit="%")
    rule = await store.add(low_soc, created_by="console:ada", created_by_name="Ada", now=T0)
    await engine.add_silence(
        # Chat rules carry the labels rule=user and device=<rule number>.
        matchers=[Matcher("rule", "=", "user"), Matcher("device", "=", str(rule.id))],
        ends_at=T0 + timedelta(hours=2),
        created_by="ada",
    )
    (fired,) = await _step(engine, site, clock, 13.0, battery_soc_pct=45.0)
    assert fired.kind == "fired" and fired.silenced
    acked = await engine.acknowledge(alert_id=fired.alert.id, actor="ada")
    assert acked is not None and acked.alert.status == "acknowledged"
    # Removing the rule resolves its open alert with the next evaluation.
    await store.remove(rule.id, removed_by="console:ada", now=clock.now())
    (resolved,) = await _step(engine, site, clock, 13.0, battery_soc_pct=45.0)
    assert resolved.kind == "resolved" and resolved.alert.rule == rule.key


async def test_power_rules_add_up_devices(
    engine_and_store: tuple[AlertEngine, UserRuleStore], site: Site, clock: ManualClock
) -> None:
    engine, store = engine_and_store
    draft = draft_rule(site, None, metric="solar", comparator=">", value=5, unit="kW")
    rule = await store.add(draft, created_by="console:ada", created_by_name="Ada", now=T0)
    clock.advance(timedelta(minutes=1))
    state = SiteState(site.name)
    for device in ("inv-1", "inv-2"):
        state.update(
            Reading(
                site=site.name, metric="pv_power_w", time=clock.now(), value=3000.0, device=device
            )
        )
    events = [e for e in await engine.evaluate(site.name, state) if e.alert.rule == rule.key]
    assert [e.kind for e in events] == ["fired"]
    assert "Solar power 6 kW is above your 5 kW threshold" in events[0].alert.summary


# --- real readings: 24 h of a household's load from Home Assistant ------------------------------


def _ha_load() -> list[tuple[datetime, float]]:
    """sensor.power_load_no_var_loads (W), ~10 s steps, as the pipeline would accept it."""
    import json

    from tests.conftest import shared_data
    from tools.domain import ReadingError, validate_reading

    path = shared_data("homeassistant/ha_history_api_power_load_2022-10-19.json")
    out = []
    for row in json.loads(path.read_text(encoding="utf-8"))[0]:
        when = datetime.fromisoformat(row["last_changed"])
        try:
            reading = validate_reading(
                Reading(site="demo", metric="load_power_w", time=when, value=float(row["state"]))
            )
        except (ReadingError, ValueError):
            continue  # negative or broken states are refused by the pipeline too
        out.append((reading.time, reading.value))
    return out


async def test_a_load_rule_replayed_over_a_real_day_fires_once_per_long_excursion(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site
) -> None:
    readings = _ha_load()
    clock = ManualClock(readings[0][0])
    await _add_site(sessionmaker, site)
    store = UserRuleStore(sessionmaker=sessionmaker)
    engine = AlertEngine(
        sessionmaker=sessionmaker,
        sites={site.name: site},
        clock=clock,
        rules=user_rules_module.RULES,
        user_rules=store.for_site,
    )
    draft = draft_rule(
        site, None, metric="load", comparator=">", value=3, unit="kW", hold_minutes=5
    )
    rule = await store.add(draft, created_by="console:ada", created_by_name="Ada", now=clock.now())
    band = user_rules_module.hysteresis(rule)
    events: list[tuple[str, datetime]] = []
    for when, value_w in readings:
        clock.set(when)
        state = SiteState(site.name)
        state.update(Reading(site=site.name, metric="load_power_w", time=when, value=value_w))
        events += [(e.kind, when) for e in await engine.evaluate(site.name, state)]

    # The same day read directly: a run starts above 3 kW and lasts while the load stays
    # above 3 kW less the band; it alerts when it lasted 5 minutes at a reading.
    expected: list[tuple[str, datetime]] = []
    start: datetime | None = None
    fired = False
    for when, value_w in readings:
        if start is None:
            if value_w > 3000.0:
                start, fired = when, False
            else:
                continue
        if value_w <= 3000.0 - band:
            if fired:
                expected.append(("resolved", when))
            start, fired = None, False
            continue
        if not fired and (when - start).total_seconds() >= 300:
            expected.append(("fired", when))
            fired = True
    assert len([k for k, _ in expected if k == "fired"]) >= 2  # the day has long peaks
    assert events == expected


async def test_a_rule_in_another_unit_shows_the_metric_unit_too(
    sessionmaker: async_sessionmaker[AsyncSession], site: Site
) -> None:
    from tools.site import Generator

    site = site.model_copy(update={"generator": Generator(rated_kw=8.0, tank_l=400.0)})
    await _add_site(sessionmaker, site)
    store = UserRuleStore(sessionmaker=sessionmaker)
    fuel = draft_rule(site, None, metric="fuel", comparator="<", value=20, unit="%")
    panel = panel_state(site, T0, 13.0)
    hot = draft_rule(site, panel, metric="die temp", comparator=">", value=104, unit="F")
    load = draft_rule(site, None, metric="load", comparator=">", value=2000, unit="W")
    made = [
        await store.add(d, created_by="console:ada", created_by_name="Ada", now=T0)
        for d in (fuel, hot, load)
    ]
    assert [r.condition for r in made] == [
        "generator fuel < 20 % (80 L)",
        "device temperature > 104 °F (40 °C)",
        "load > 2000 W",
    ]
