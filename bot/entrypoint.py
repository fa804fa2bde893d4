"""The container's entry point: ``python -m bot.entrypoint [COMMAND ...]``.

1. In a Home Assistant add-on (``/data/options.json`` exists), the add-on's
   options become the settings' environment variables (:data:`ADDON_OPTIONS`).
2. For the long-running commands (``run``, ``worker``, ``web``) the database is
   migrated first, retrying while it is still starting (a fresh PostgreSQL
   container takes a few seconds); ``COMMANDCENTER_MIGRATE_ON_START=0`` skips it.
3. Then it becomes ``commandcenter COMMAND ...`` (exec: signals reach the bot).

Without a command it runs ``run`` (worker and web face in one process).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, MutableMapping
from pathlib import Path

log = logging.getLogger("commandcenter.entrypoint")

ADDON_OPTIONS_FILE = Path("/data/options.json")
# add-on option -> the setting's environment variable
ADDON_OPTIONS: dict[str, str] = {
    "site_file": "COMMANDCENTER_SITE_FILE",
    "database_url": "DATABASE_URL",
    "openai_api_key": "OPENAI_API_KEY",
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_model": "OPENAI_MODEL",
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "discord_bot_token": "DISCORD_BOT_TOKEN",
    "ha_mqtt_url": "COMMANDCENTER_HA_MQTT_URL",
    "weather": "COMMANDCENTER_WEATHER",
    "metrics_port": "COMMANDCENTER_METRICS_PORT",
    "log_level": "COMMANDCENTER_LOG_LEVEL",
}
MIGRATING_COMMANDS = {"run", "worker", "web"}


def addon_environment(options: Mapping[str, object]) -> dict[str, str]:
    """The environment for an add-on's options (unknown options are an error; empty
    ones are left out so the embedded defaults apply)."""
    unknown = sorted(set(options) - set(ADDON_OPTIONS))
    if unknown:
        raise SystemExit(f"error: unknown add-on option(s) {', '.join(unknown)}")
    env = {"COMMANDCENTER_DATA_DIR": "/data"}
    for key, value in options.items():
        if value is None or value == "":
            continue
        env[ADDON_OPTIONS[key]] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


async def _upgrade(url: str) -> str | None:
    from storage.engine import create_engine, current_revision, upgrade_database

    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        return await current_revision(engine)
    finally:
        await engine.dispose()


def migrate(*, retries: int, wait_s: float) -> str | None:
    """Apply migrations; retry while the database refuses connections."""
    from sqlalchemy.exc import OperationalError

    from bot.settings import Settings
    from storage.engine import redact_url

    url = Settings().effective_database_url
    if url.startswith("sqlite"):
        Settings().data_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, retries + 1):
        try:
            revision = asyncio.run(_upgrade(url))
        except (OSError, OperationalError) as err:
            if attempt == retries:
                raise SystemExit(
                    f"error: the database {redact_url(url)} is not reachable: {err}"
                ) from None
            print(
                f"waiting for the database ({attempt}/{retries}): {type(err).__name__}",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(wait_s)
        else:
            print(f"database {redact_url(url)} at revision {revision}", file=sys.stderr)
            return revision
    return None


def prepare(argv: list[str], env: MutableMapping[str, str]) -> list[str]:
    """Apply add-on options to ``env``; returns the command line to exec."""
    if ADDON_OPTIONS_FILE.is_file():
        options = json.loads(ADDON_OPTIONS_FILE.read_text())
        for key, value in addon_environment(options).items():
            env.setdefault(key, value)
    args = argv or ["run"]
    if args[0] in MIGRATING_COMMANDS and "--host" not in args and "HOST" not in env:
        env["HOST"] = "0.0.0.0"  # reachable from outside the container
    return [sys.executable, "-m", "bot", *args]


def main(argv: list[str]) -> int:
    command = prepare(argv, os.environ)
    migrates = os.environ.get("COMMANDCENTER_MIGRATE_ON_START", "1") != "0"
    if migrates and command[3:4] and command[3] in MIGRATING_COMMANDS:
        migrate(retries=int(os.environ.get("COMMANDCENTER_MIGRATE_RETRIES", "30")), wait_s=2.0)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
