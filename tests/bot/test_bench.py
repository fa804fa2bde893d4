"""The ingest benchmark runs end to end (small and untimed here; it prints figures)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

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


def test_bench_fleet_counts_every_message(mqtt_broker: tuple[str, int]) -> None:
    host, port = mqtt_broker
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "fleet",
            "--sites",
            "5",
            "--duration",
            "2",
            "--interval",
            "1",
            "--mqtt",
            f"mqtt://{host}:{port}",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["sites"] == 5
    assert figures["lost"] == 0 and figures["received"] == figures["sent"] > 0
    for key in ("messages_per_s", "lag_p95_ms", "cpu_pct"):
        assert figures[key] is not None and figures[key] >= 0


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
