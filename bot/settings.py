"""Settings from the environment and ``.env`` (pydantic-settings).

One variable per real part; every part has an embedded default, so nothing
needs to be set to run the demo. Secrets are ``SecretStr`` and never logged.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsInvalid(ValueError):
    """An environment variable (or ``.env`` entry, or command-line override) has a value
    the bot cannot use; the message names the variable, the value and what is expected."""


# The product's own settings all start with COMMANDCENTER_; these older names still work
# (the new name wins when both are set) and log a deprecation line. Vendor names
# (SLACK_*, OPENAI_*, DATABASE_URL, ...) and the platform's HOST / PORT stay as they are.
RENAMED_ENV: dict[str, str] = {
    "WORKER_SITES": "COMMANDCENTER_WORKER_SITES",
    "SHARD": "COMMANDCENTER_SHARD",
    "LOG_LEVEL": "COMMANDCENTER_LOG_LEVEL",
    "LOG_FORMAT": "COMMANDCENTER_LOG_FORMAT",
    "MODEL_PRICE_INPUT_PER_MTOK": "COMMANDCENTER_MODEL_PRICE_INPUT_PER_MTOK",
    "MODEL_PRICE_OUTPUT_PER_MTOK": "COMMANDCENTER_MODEL_PRICE_OUTPUT_PER_MTOK",
}


def deprecated_env(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per old variable name that is set, saying what to use instead."""
    env = os.environ if environ is None else environ
    lines = []
    for old, new in RENAMED_ENV.items():
        if old in env:
            note = f" ({new} is also set and wins)" if new in env else ""
            lines.append(f"{old} is deprecated: use {new}{note}")
    return lines


def log_deprecated_env(
    logger: logging.Logger, environ: Mapping[str, str] | None = None
) -> list[str]:
    lines = deprecated_env(environ)
    for line in lines:
        logger.warning("%s", line)
    return lines


class Settings(BaseSettings):
    # allow_inf_nan=False: "inf"/"nan" are refused for every number, like any other typo.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, allow_inf_nan=False
    )

    data_dir: Path = Field(
        default=Path("data"),
        validation_alias=AliasChoices("COMMANDCENTER_DATA_DIR", "data_dir"),
        description="Folder for the SQLite database and checkpoints",
    )
    site_file: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_SITE_FILE", "site_file"),
        description="YAML or TOML site file; the built-in demo site when unset",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "database_url"),
        description="postgresql://... or sqlite:///...; SQLite in data_dir when unset",
    )
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    openai_model: str = Field(
        default="gpt-4o-mini", validation_alias=AliasChoices("OPENAI_MODEL", "openai_model")
    )
    openai_timeout_s: float = Field(
        default=30.0, validation_alias=AliasChoices("OPENAI_TIMEOUT_S", "openai_timeout_s")
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"),
    )
    slack_api_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"),
        description="base of Slack's Web API (default https://slack.com/api/): a proxy or a test "
        "fake",
    )
    discord_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("DISCORD_BOT_TOKEN", "discord_bot_token")
    )
    discord_guild_id: int | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_GUILD_ID", "discord_guild_id"),
        description="sync /energy to this server at once (global sync can take an hour)",
    )
    pinecone_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PINECONE_API_KEY", "pinecone_api_key"),
        description="turns the Pinecone knowledge index on (with OPENAI_API_KEY for embeddings)",
    )
    pinecone_index: str = Field(
        default="commandcenter",
        validation_alias=AliasChoices("PINECONE_INDEX", "pinecone_index"),
        description="name of the serverless index (created on first use when missing)",
    )
    pinecone_host: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PINECONE_HOST", "pinecone_host"),
        description="the index's data-plane host; skips looking it up by name",
    )
    pinecone_cloud: str = Field(
        default="aws", validation_alias=AliasChoices("PINECONE_CLOUD", "pinecone_cloud")
    )
    pinecone_region: str = Field(
        default="us-east-1", validation_alias=AliasChoices("PINECONE_REGION", "pinecone_region")
    )
    embedding_model: str = Field(
        default="text-embedding-3-small",
        validation_alias=AliasChoices("OPENAI_EMBEDDING_MODEL", "embedding_model"),
    )
    embedding_dimension: int = Field(
        default=1536,
        gt=0,
        validation_alias=AliasChoices("OPENAI_EMBEDDING_DIMENSION", "embedding_dimension"),
        description="vector width of the embedding model (1536 for text-embedding-3-small)",
    )
    http_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOST", "http_host"))
    http_port: int = Field(
        default=8000, ge=0, le=65535, validation_alias=AliasChoices("PORT", "http_port")
    )
    poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_POLL_INTERVAL_S", "poll_interval_s"),
    )
    state_refresh_s: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_STATE_REFRESH_S", "state_refresh_s"),
        description="how often a process that does not poll reloads the stored readings",
    )
    db_connect_timeout_s: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("DATABASE_CONNECT_TIMEOUT_S", "db_connect_timeout_s"),
        description="seconds to open a database connection",
    )
    db_command_timeout_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("DATABASE_COMMAND_TIMEOUT_S", "db_command_timeout_s"),
        description="seconds one database statement may take",
    )
    db_pool_timeout_s: float = Field(
        default=10.0,
        gt=0,
        validation_alias=AliasChoices("DATABASE_POOL_TIMEOUT_S", "db_pool_timeout_s"),
        description="seconds to wait for a free pooled connection",
    )
    job_timeout_s: float = Field(
        default=120.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_JOB_TIMEOUT_S", "job_timeout_s"),
        description="deadline of one run of a scheduled job",
    )
    shutdown_grace_s: float = Field(
        default=10.0,
        ge=0,
        validation_alias=AliasChoices("COMMANDCENTER_SHUTDOWN_GRACE_S", "shutdown_grace_s"),
        description="how long stopping waits for work in flight before cancelling it",
    )
    poll_concurrency: int = Field(
        default=8,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_POLL_CONCURRENCY", "poll_concurrency"),
        description="sites (and devices of a site) polled at once",
    )
    site_poll_deadline_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_SITE_POLL_DEADLINE_S", "site_poll_deadline_s"),
        description="total deadline of one poll of a site's devices",
    )
    channel_min_interval_s: float = Field(
        default=1.0,
        ge=0,
        validation_alias=AliasChoices(
            "COMMANDCENTER_CHANNEL_MIN_INTERVAL_S", "channel_min_interval_s"
        ),
        description="minimum spacing of messages to one chat channel",
    )
    raw_retention_days: float = Field(
        default=90.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_RAW_RETENTION_DAYS", "raw_retention_days"),
        description="raw readings older than this are deleted; hourly rollups stay",
    )
    chat_rate_per_min: float = Field(
        default=30.0,
        ge=0,
        validation_alias=AliasChoices("COMMANDCENTER_CHAT_RATE_PER_MIN", "chat_rate_per_min"),
        description="chat messages and commands per person per minute; 0 disables the limit",
    )
    model_rate_per_min: float = Field(
        default=10.0,
        ge=0,
        validation_alias=AliasChoices("COMMANDCENTER_MODEL_RATE_PER_MIN", "model_rate_per_min"),
        description="questions per person per minute that go to the language model; beyond "
        "that the offline planner answers (and says so); 0 disables the limit",
    )
    context_budget_tokens: int = Field(
        default=3000,
        ge=800,
        validation_alias=AliasChoices(
            "COMMANDCENTER_CONTEXT_BUDGET_TOKENS", "context_budget_tokens"
        ),
        description="prompt tokens per model call (tools, site summary, history, knowledge)",
    )
    model_price_input_per_mtok: float | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices(
            "COMMANDCENTER_MODEL_PRICE_INPUT_PER_MTOK",
            "MODEL_PRICE_INPUT_PER_MTOK",
            "model_price_input_per_mtok",
        ),
        description="USD per million prompt tokens (default: list price of known models)",
    )
    model_price_output_per_mtok: float | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices(
            "COMMANDCENTER_MODEL_PRICE_OUTPUT_PER_MTOK",
            "MODEL_PRICE_OUTPUT_PER_MTOK",
            "model_price_output_per_mtok",
        ),
        description="USD per million completion tokens (default: list price of known models)",
    )
    weather: Literal["clear-sky", "open-meteo"] = Field(
        default="clear-sky",
        validation_alias=AliasChoices("COMMANDCENTER_WEATHER", "weather"),
        description="open-meteo fetches forecasts (falls back to clear-sky when unreachable)",
    )
    open_meteo_url: str = Field(
        default="https://api.open-meteo.com/v1/forecast",
        validation_alias=AliasChoices("OPEN_METEO_URL", "open_meteo_url"),
        description="Open-Meteo forecast endpoint (a self-hosted instance, or a test fake)",
    )
    worker_sites: str | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_WORKER_SITES", "WORKER_SITES", "worker_sites"),
        description="comma-separated sites this worker runs (drivers, alerts, actions)"
        "; all if unset",
    )
    shard: str | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_SHARD", "SHARD", "shard"),
        description="i/n: this worker runs the sites whose stable hash falls in shard i of n",
    )
    worker_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_WORKER_ID", "worker_id"),
        description="this worker's name in logs, the audit log and job_runs; host:pid if unset",
    )
    ops_channel: str | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_OPS_CHANNEL", "ops_channel"),
        description="chat channel for alerts about the bot itself (ingest overloaded)",
    )
    job_intervals: dict[str, float] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("COMMANDCENTER_JOB_INTERVALS", "job_intervals"),
        description='JSON, e.g. {"rollup": 600}: seconds between runs of named scheduled jobs',
    )
    sim_speed: float | None = Field(
        default=None,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_SIM_SPEED", "sim_speed"),
        description="run the clock this many times faster from 19:00 at the first site "
        "(simulated sites only: demos and tests)",
    )
    ha_mqtt_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_HA_MQTT_URL", "ha_mqtt_url"),
        description="mqtt://[user:password@]host[:port] (mqtts:// for TLS): publish the bot's "
        "own sensors to Home Assistant by MQTT discovery",
    )
    ha_discovery_prefix: str = Field(
        default="homeassistant",
        pattern=r"^[A-Za-z0-9_/-]+$",
        validation_alias=AliasChoices("COMMANDCENTER_HA_DISCOVERY_PREFIX", "ha_discovery_prefix"),
        description="Home Assistant's discovery prefix",
    )
    ha_state_prefix: str = Field(
        default="commandcenter",
        pattern=r"^[A-Za-z0-9_/-]+$",
        validation_alias=AliasChoices("COMMANDCENTER_HA_STATE_PREFIX", "ha_state_prefix"),
        description="topic prefix of the sensors' states and the bot's availability",
    )
    ha_refresh_s: float = Field(
        default=30.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_HA_REFRESH_S", "ha_refresh_s"),
        description="seconds between sensor updates (forecasts and plans every 10 minutes)",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("COMMANDCENTER_METRICS_PORT", "metrics_port"),
        description="the worker serves Prometheus /metrics on this port (off when unset)",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_METRICS_TOKEN", "metrics_token"),
        description="when set, /metrics answers only 'Authorization: Bearer <token>'",
    )
    log_level: str = Field(
        default="INFO",
        validation_alias=AliasChoices("COMMANDCENTER_LOG_LEVEL", "LOG_LEVEL", "log_level"),
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        validation_alias=AliasChoices("COMMANDCENTER_LOG_FORMAT", "LOG_FORMAT", "log_format"),
        description="json: one JSON object per line, for log collectors",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("job_intervals")
    @classmethod
    def _positive_intervals(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {name: s for name, s in value.items() if not (math.isfinite(s) and s > 0)}
        if bad:
            listing = ", ".join(f"{name}={s}" for name, s in bad.items())
            raise ValueError(f"intervals must be seconds above 0 (got {listing})")
        return value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'commandcenter.sqlite').as_posix()}"

    def not_yet_supported(self) -> list[str]:
        """Variables that are set but whose part this release does not run yet (none now)."""
        names: dict[str, object] = {}
        return [name for name, value in names.items() if value]

    @property
    def knowledge_backend(self) -> Literal["local", "pinecone"]:
        """Pinecone when it and the embedding model both have keys; else the local index."""
        if self.pinecone_api_key is not None and self.openai_api_key is not None:
            return "pinecone"
        return "local"


def env_name(field: str) -> str:
    """The environment variable that sets ``field`` (its first alias), else the name."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, AliasChoices) and alias.choices and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return field


def describe_settings_error(err: Exception, *, flags: dict[str, str] | None = None) -> str | None:
    """One line for an error raised building :class:`Settings` (naming the environment
    variable, or the command-line option via ``flags``), else None."""
    if isinstance(err, ValidationError) and err.title == Settings.__name__:
        problems = []
        for e in err.errors():
            key = str(e["loc"][0]) if e["loc"] else "settings"
            name = (flags or {}).get(key) or env_name(key)
            got = e.get("input")
            got_text = "" if isinstance(got, dict | list) or got is None else f"={got!r}"
            msg = str(e["msg"]).removeprefix("Value error, ")
            problems.append(f"{name}{got_text}: {msg}")
        return "; ".join(problems)
    if isinstance(err, SettingsError):
        # Raised for values that must be JSON (dicts, lists) and are not.
        quoted = str(err).split('"')
        field = quoted[1] if len(quoted) > 2 else "a setting"
        cause = f" ({err.__cause__})" if err.__cause__ is not None else ""
        example = ' (expected e.g. {"rollup": 600})' if field == "job_intervals" else ""
        return f"{env_name(field)} is not valid JSON{cause}{example}"
    return None


def load_settings(
    *, overrides: dict[str, Any] | None = None, flags: dict[str, str] | None = None
) -> Settings:
    """Settings from the environment and ``.env``, then ``overrides`` (field -> value, e.g.
    from command-line options, validated like the environment).

    Raises :class:`SettingsInvalid` with one line naming the variable (or, via ``flags``
    field -> option, the command-line option), the value and what is expected.
    """
    try:
        settings = Settings()
        if overrides:
            settings = Settings.model_validate({**settings.model_dump(), **overrides})
    except (ValidationError, SettingsError) as err:
        message = describe_settings_error(err, flags=flags)
        if message is None:
            raise
        raise SettingsInvalid(message) from None
    return settings
