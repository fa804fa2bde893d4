"""Settings from the environment and ``.env`` (pydantic-settings).

One variable per real part; every part has an embedded default, so nothing
needs to be set to run the demo. Secrets are ``SecretStr`` and never logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

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
    http_port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "http_port"))
    poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        validation_alias=AliasChoices("COMMANDCENTER_POLL_INTERVAL_S", "poll_interval_s"),
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
        validation_alias=AliasChoices("MODEL_PRICE_INPUT_PER_MTOK", "model_price_input_per_mtok"),
        description="USD per million prompt tokens (default: list price of known models)",
    )
    model_price_output_per_mtok: float | None = Field(
        default=None,
        ge=0,
        validation_alias=AliasChoices("MODEL_PRICE_OUTPUT_PER_MTOK", "model_price_output_per_mtok"),
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
        validation_alias=AliasChoices("WORKER_SITES", "worker_sites"),
        description="comma-separated sites this worker runs (drivers, alerts, actions)"
        "; all if unset",
    )
    shard: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SHARD", "shard"),
        description="i/n: this worker runs the sites whose stable hash falls in shard i of n",
    )
    worker_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("COMMANDCENTER_WORKER_ID", "worker_id"),
        description="this worker's name in logs, the audit log and job_runs; host:pid if unset",
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
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
    log_format: Literal["text", "json"] = Field(
        default="text",
        validation_alias=AliasChoices("LOG_FORMAT", "log_format"),
        description="json: one JSON object per line, for log collectors",
    )

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
