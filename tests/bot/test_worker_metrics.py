"""The worker's own /metrics port, and the shipped dashboard and alert rules use only
metrics the bot exports."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.web import serve_metrics
from tests.bot.helpers import EVENING, run_minutes, running_bot, say
from tools.clock import ManualClock

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Series Prometheus makes itself, and PromQL words that look like names.
BUILTIN = {"up"}
OUR_PREFIXES = ("commandcenter_", "process_", "python_")


def _names_in(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers hold no metric names
    expr = re.sub(r'"[^"]*"', "", expr)
    return {
        token
        for token in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr)
        if token.startswith(OUR_PREFIXES) or token in BUILTIN
    }


def referenced_metrics() -> dict[str, set[str]]:
    """Metric names per file: every alert rule and every dashboard panel query."""
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())
    in_rules = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in _names_in(rule["expr"])
    }
    dashboard = json.loads((DEPLOY / "grafana/dashboards/commandcenter.json").read_text())
    exprs: list[str] = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"]]
    in_dashboard = {name for e in exprs for name in _names_in(e)}
    return {"alerts.yml": in_rules, "commandcenter.json": in_dashboard}


def exported(text: str) -> tuple[set[str], dict[str, list[Any]]]:
    names: set[str] = set()
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for sample in family.samples:
            names.add(sample.name)
            samples.setdefault(sample.name, []).append(sample)
    return names, samples


async def test_worker_metrics_port_and_shipped_dashboards(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _a, _d):
        await run_minutes(app, clock, 3)
        await app.chat.handle_message(say("olga", "how is the battery?"))
        await app.metrics.refresh()
        runner = await serve_metrics(app.metrics, host="127.0.0.1", port=0)
        try:
            port = runner.addresses[0][1]
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/metrics") as response,
            ):
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/plain")
                text = await response.text()
        finally:
            await runner.cleanup()
        names, samples = exported(text)

        # Every metric the dashboard and the alert rules use is exported.
        for where, used in referenced_metrics().items():
            assert used, where
            missing = sorted(n for n in used - BUILTIN if n not in names)
            assert not missing, f"{where} uses metrics the worker does not export: {missing}"

        # ... with the values of the running site.
        state = app.pipeline.latest("demo")
        soc = {s.labels["site"]: s.value for s in samples["commandcenter_site_soc_percent"]}
        assert soc == {"demo": state.get("battery_soc_pct")}
        power = {
            s.labels["source"]: s.value
            for s in samples["commandcenter_site_power_watts"]
            if s.labels["site"] == "demo"
        }
        assert power["pv"] == state.get("pv_power_w")
        assert power["load"] == state.get("load_power_w")
        assert {"pv", "load", "battery"} <= set(power)
        accepted = {
            s.labels["site"]: s.value
            for s in samples["commandcenter_site_readings_total"]
            if s.labels["outcome"] == "accepted"
        }
        assert accepted["demo"] == state.accepted > 0
        seen = {
            s.labels["device"]: s.value
            for s in samples["commandcenter_device_last_seen_timestamp_seconds"]
        }
        assert seen and seen == {d: t.timestamp() for d, t in state.seen.items()}
        assert {s.labels["device"] for s in samples["commandcenter_device_up"]} == set(seen)
        build = samples["commandcenter_build_info"][0]
        assert build.value == 1.0 and build.labels["version"]
        assert "process_cpu_seconds_total" in names or "process_start_time_seconds" in names
        assert any(n.startswith("python_gc_") for n in names)


def test_device_up_follows_last_seen() -> None:
    from bot.site_metrics import SiteCollector
    from tools.telemetry import SiteState

    state = SiteState("barn")
    state.mark_seen("inverter", EVENING)
    state.mark_seen("pump", EVENING - timedelta(minutes=2))
    state.mark_seen("shunt", EVENING - timedelta(minutes=10))
    state.device_errors["meter"] = "timed out"
    collector = SiteCollector(
        lambda: {"barn": state},
        now=lambda: EVENING.timestamp() + 60,
        stale_after_s=lambda _site, device: 30.0 if device == "inverter" else None,
    )
    up = next(f for f in collector.collect() if f.name == "commandcenter_device_up")
    assert {s.labels["device"]: s.value for s in up.samples} == {
        "inverter": 0.0,  # silent for 60 s, its limit is 30 s
        "shunt": 0.0,  # older than the default five minutes
        "meter": 0.0,  # never answered
        "pump": 1.0,  # two minutes, within the default
    }
