"""The ingest benchmark runs end to end (small and untimed here; it prints figures)."""

from __future__ import annotations

import argparse
import gc
import json

from typer.testing import CliRunner

from bot.bench.fleet_publisher import payload, round_of, send_time
from bot.cli import app


def test_bench_ingest_prints_the_documented_keys(postgres_admin_url: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "ingest",
            "--readings",
            "4000",
            "--sites",
            "5",
            "--batch",
            "1000",
            "--postgres-url",
            postgres_admin_url,
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("sqlite_readings_per_s", "postgres_readings_per_s", "raw_copy_readings_per_s"):
        assert isinstance(figures[key], int) and figures[key] > 0
    assert figures["readings"] == 4000


def test_bench_fleet_finds_the_ceiling_against_the_broker_limit(
    mqtt_broker: tuple[str, int],
) -> None:
    host, port = mqtt_broker
    result = CliRunner().invoke(
        app,
        [
            *("bench", "fleet", "--find-ceiling", "--sites", "4", "--max-sites", "6"),
            *("--duration", "2", "--interval", "1", "--mqtt", f"mqtt://{host}:{port}", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["limit_msg_per_s"] > 0
    steps = figures["steps"]
    assert [s["sites"] for s in steps] == [4, 6][: len(steps)]
    first = steps[0]
    # Every message published reached the worker, once; every round's SOC gave a lag sample.
    assert first["lost"] == 0 and first["doubled"] == 0 and first["shed"] == 0
    assert first["received"] == first["sent"] == 4 * 2 * 20
    assert first["lag_samples"] == 4 * 2
    assert 0 <= first["lag_p50_ms"] <= first["lag_p95_ms"]
    assert set(first["cpu_pct"]) >= {"worker", "publisher"}
    assert first["worker_time_s"]["mqtt_callback_decode"] >= 0
    if all(s["held"] for s in steps):
        assert figures["ceiling_sites"] == steps[-1]["sites"]
        assert figures["ceiling_vs_limit"] > 0


def test_fleet_replay_reports_cpu_per_message_of_the_runtime_path(
    postgres_admin_url: str,
) -> None:
    """The fixed replay feeds the real hub and polls through the runtime's monitor: every
    reading a GX's messages give is stored, and the CPU is split by stage."""
    import asyncio

    from bot.bench.fleet_replay import _main

    thresholds = gc.get_threshold()
    args = argparse.Namespace(
        postgres_url=postgres_admin_url, sites=5, rounds=2, per_poll=30, gc="worker"
    )
    figures = asyncio.run(_main(args))
    # Tuned as the worker is for the replay, and put back afterwards.
    assert figures["gc"] == "worker" and len(figures["gc_collections"]) == 3
    assert figures["gc_cpu_us_per_msg"] >= 0
    assert 0 < figures["rss_mb_before"] <= figures["rss_mb_after"] * 2
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
    assert figures["messages"] == 5 * 2 * 20
    # A round's 20 topics give 19 readings: the battery service's three are fallbacks that
    # system/0 overrides, the active input and the generator state give two each.
    assert figures["readings_written"] == 5 * 2 * 19
    stages = figures["cpu_us_per_msg_by_stage"]
    assert {"network_thread_route", "decode", "validate_state_batch", "store"} <= set(stages)
    assert set(stages) <= {
        "network_thread_route",
        "decode",
        "validate_state_batch",
        "store",
        "alert_handoff",
        "tick",  # once a second: a short replay may not reach it
    }
    assert figures["cpu_us_per_msg"] > 0 and stages["store"] > 0


def test_a_late_reading_counts_from_its_own_round() -> None:
    """Lag is measured from the round the reading came from (the SOC carries it), so a
    reading later than half an interval is not mistaken for the next round (which gave
    negative lags under overload)."""
    t0, interval_s, sites = 1000.0, 10.0, 4
    for cycle in range(120):
        sent = send_time(t0, 2, sites, interval_s, cycle)
        soc = float(payload(2, cycle, 0, 0.0, 0.0).split(b":")[1].strip(b" }"))
        for late_s in (0.0, 4.9, 5.1, 9.9, 30.0, 240.0):
            found = round_of(
                soc, t0=t0, index=2, sites=sites, interval_s=interval_s, now=sent + late_s
            )
            assert found == cycle, (cycle, late_s)


def test_bench_alerts_times_real_cards(mqtt_broker: tuple[str, int]) -> None:
    host, port = mqtt_broker
    result = CliRunner().invoke(
        app, ["bench", "alerts", "--samples", "3", "--mqtt", f"mqtt://{host}:{port}", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["samples"] == 3
    assert 0 < figures["latency_p50_ms"] <= figures["latency_p95_ms"] < 10_000


def test_bench_chat_answers_every_signed_command() -> None:
    result = CliRunner().invoke(app, ["bench", "chat", "--requests", "6", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["requests"] == 6 and figures["failed"] == 0
    assert 0 < figures["ack_p99_ms"] < 3000 and figures["reply_p95_ms"] > 0


def test_bench_context_counts_prompts_below_the_naive_baseline() -> None:
    result = CliRunner().invoke(app, ["bench", "context", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["questions"] >= 50
    assert figures["model_calls"] >= figures["questions"]
    assert 0 < figures["prompt_tokens_avg"] <= figures["prompt_tokens_p95"]
    # Budgeting and tool selection must beat sending everything.
    assert figures["prompt_tokens_avg"] < figures["naive_prompt_tokens_avg"]
    assert figures["tools_bound_avg"] < figures["tools_total"]
