"""The container stack without a container engine (none runs on the CI machines):
the files agree with each other and with the code, and what the image runs (its
entry point and health check) works as a plain process."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from pydantic import AliasChoices

from bot.entrypoint import ADDON_OPTIONS, addon_environment
from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90.0


def setting_env_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c for c in alias.choices if isinstance(c, str) and c.isupper()}
    return names


# Read by the entry point or Python itself, not by Settings.
PROCESS_ENV = {
    "COMMANDCENTER_MIGRATE_ON_START",
    "COMMANDCENTER_MIGRATE_RETRIES",
    "PATH",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
}


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_dockerfile_is_slim_multistage_nonroot_with_a_health_check() -> None:
    text = dockerfile()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.M)
    assert len(stages) >= 2 and all("slim" in image for image, _ in stages)
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    health = re.search(r"^HEALTHCHECK .*\n\s+CMD (\[.*\])", text, re.M)
    assert health, "HEALTHCHECK missing"
    assert json.loads(health.group(1))[-1] == "bot.healthcheck"
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])", text, re.M).group(1))  # type: ignore[union-attr]
    assert entry == ["python", "-m", "bot.entrypoint"]
    for source in re.findall(r"^COPY (?!--from)(\S+(?: \S+)*) \S+$", text, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"COPY {path}: no such file"
    env_names = set(
        re.findall(r"\b([A-Z][A-Z0-9_]+)=", text.rsplit("\nENV ", 1)[1].split("WORKDIR")[0])
    )
    assert env_names <= setting_env_names() | PROCESS_ENV, env_names - setting_env_names()
    exposed = {int(p) for p in re.findall(r"^EXPOSE (.+)$", text, re.M)[0].split()}
    assert {8000, 9108} <= exposed


def test_compose_services_ports_health_and_settings_agree() -> None:
    stack = compose()
    services = stack["services"]
    assert {"worker", "web", "postgres", "mosquitto"} <= set(services)
    assert {"prometheus", "grafana"} <= {
        name for name, s in services.items() if "observability" in s.get("profiles", [])
    }
    known = setting_env_names() | PROCESS_ENV
    exposed = {int(p) for p in re.findall(r"^EXPOSE (.+)$", dockerfile(), re.M)[0].split()}
    for name in ("worker", "web"):
        service = services[name]
        env = service["environment"]
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
        assert "postgres:5432" in env["DATABASE_URL"]
        assert "data:/data" in service["volumes"]
        url = service["healthcheck"]["test"][-1]
        port = int(re.match(r"http://127.0.0.1:(\d+)(/\S+)", url).group(1))  # type: ignore[union-attr]
        path = re.match(r"http://127.0.0.1:\d+(/\S+)", url).group(1)  # type: ignore[union-attr]
        assert path == "/readyz" and port in exposed
        expected = int(env.get("COMMANDCENTER_METRICS_PORT") or env.get("PORT"))
        assert port == expected, f"{name}: health check on {port}, served on {expected}"
    # /readyz is a route of both faces
    from bot.web import build_web_app

    app = build_web_app(None)  # type: ignore[arg-type]
    routes = {r.resource.canonical for r in app.router.routes() if r.resource is not None}
    assert "/readyz" in routes
    ports = [p.split(":")[-1] for p in services["web"]["ports"]]
    assert ports == ["8000"]
    # mounted files exist; Prometheus scrapes the ports the services serve
    for service in services.values():
        for volume in service.get("volumes", []):
            if volume.startswith("./"):
                assert (ROOT / volume.split(":")[0]).exists(), volume
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]
    }
    assert targets == {
        f"worker:{services['worker']['environment']['COMMANDCENTER_METRICS_PORT']}",
        f"web:{services['web']['environment']['PORT']}",
    }
    # .env.example names only real settings (commented or not)
    example = (ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.M))
    assert names and names <= known, names - known


def test_addon_options_map_to_settings() -> None:
    config = yaml.safe_load((ROOT / "deploy/homeassistant-addon/config.yaml").read_text())
    assert set(config["options"]) <= set(config["schema"]) == set(ADDON_OPTIONS)
    assert set(ADDON_OPTIONS.values()) <= setting_env_names()
    assert {int(p.split("/")[0]) for p in config["ports"]} <= {
        int(p) for p in re.findall(r"^EXPOSE (.+)$", dockerfile(), re.M)[0].split()
    }
    addon = (ROOT / "deploy/homeassistant-addon/Dockerfile").read_text()
    assert re.search(r"^FROM \$\{BUILD_FROM\}", addon, re.M)  # the stack's image, as it is
    build = yaml.safe_load((ROOT / "deploy/homeassistant-addon/build.yaml").read_text())
    assert set(build["build_from"]) == set(config["arch"])
    env = addon_environment(
        {"ha_mqtt_url": "mqtt://core-mosquitto:1883", "site_file": "", "metrics_port": 9108}
    )
    assert env == {
        "COMMANDCENTER_DATA_DIR": "/data",
        "COMMANDCENTER_HA_MQTT_URL": "mqtt://core-mosquitto:1883",
        "COMMANDCENTER_METRICS_PORT": "9108",
    }
    settings = Settings(_env_file=None, **{k: v for k, v in env.items()})  # type: ignore[call-arg, arg-type]
    assert settings.metrics_port == 9108 and settings.ha_mqtt_url is not None
    with pytest.raises(SystemExit, match="unknown add-on option"):
        addon_environment({"sudo": True})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMMANDCENTER_", "SLACK_"))}
    env.update({"PYTHONPATH": str(ROOT), "COMMANDCENTER_LOG_LEVEL": "WARNING", **extra})
    return env


def _health(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.healthcheck", url], capture_output=True, text=True, timeout=30
    )


def test_entry_point_migrates_then_serves_readyz(postgres_url: str, tmp_path: Path) -> None:
    """What `docker run commandcenter web` does: settings from the environment, the
    migrations applied, the web face up, the health check green; SIGTERM stops it."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    assert _health(url).returncode == 1  # nothing listens yet
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.entrypoint", "web"],
        env=_env(DATABASE_URL=postgres_url, PORT=str(port), HOST="127.0.0.1",
                 COMMANDCENTER_DATA_DIR=str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            result = _health(url)
            if result.returncode == 0:
                break
            assert proc.poll() is None, f"the entry point exited: {proc.stdout.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, f"/readyz never answered: {result.stdout}"
            time.sleep(0.2)  # poll again (the loop ends on the event, not the sleep)
        assert '"database": "ok"' in result.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    from storage.engine import create_engine, current_revision, head_revision

    head = head_revision()
    assert f"at revision {head}" in out  # the migration ran before the server

    async def revision() -> str | None:
        engine = create_engine(postgres_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) == head


def test_entry_point_gives_up_on_an_unreachable_database(tmp_path: Path) -> None:
    port = _free_port()
    result = subprocess.run(
        [sys.executable, "-m", "bot.entrypoint", "worker"],
        env=_env(DATABASE_URL=f"postgresql://cc@127.0.0.1:{port}/cc",
                 COMMANDCENTER_MIGRATE_RETRIES="2", COMMANDCENTER_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "waiting for the database (1/2)" in result.stderr
    assert "is not reachable" in result.stderr
