"""One COMMANDCENTER_ prefix for the product's settings; the old names still work."""

from __future__ import annotations

import logging

import pytest

from bot.settings import RENAMED_ENV, Settings, deprecated_env, log_deprecated_env


def test_new_names_win_and_old_names_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*RENAMED_ENV, *RENAMED_ENV.values()):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKER_SITES", "barn")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("COMMANDCENTER_LOG_FORMAT", "text")
    monkeypatch.setenv("COMMANDCENTER_SHARD", "1/2")
    monkeypatch.setenv("MODEL_PRICE_INPUT_PER_MTOK", "0")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.worker_sites == "barn"  # old name, still read
    assert settings.log_format == "text"  # the new name wins
    assert settings.shard == "1/2"
    assert settings.model_price_input_per_mtok == 0.0
    assert deprecated_env() == [
        "WORKER_SITES is deprecated: use COMMANDCENTER_WORKER_SITES",
        "LOG_FORMAT is deprecated: use COMMANDCENTER_LOG_FORMAT "
        "(COMMANDCENTER_LOG_FORMAT is also set and wins)",
        "MODEL_PRICE_INPUT_PER_MTOK is deprecated: use COMMANDCENTER_MODEL_PRICE_INPUT_PER_MTOK",
    ]


def test_every_renamed_setting_reads_both_names(caplog: pytest.LogCaptureFixture) -> None:
    aliases = {
        name: field.validation_alias.choices  # type: ignore[union-attr]
        for name, field in Settings.model_fields.items()
    }
    for old, new in RENAMED_ENV.items():
        assert any(tuple(choices[:2]) == (new, old) for choices in aliases.values()), old
    caplog.set_level(logging.WARNING)
    lines = log_deprecated_env(logging.getLogger("test"), {"SHARD": "1/2"})
    assert lines == ["SHARD is deprecated: use COMMANDCENTER_SHARD"]
    assert caplog.messages == lines
    assert deprecated_env({"COMMANDCENTER_SHARD": "1/2"}) == []
