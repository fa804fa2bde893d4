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
