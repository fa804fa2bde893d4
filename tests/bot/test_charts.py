"""Images on cards: the round trip, each adapter's attachment, the forecast chart tool,
and the daily solar scorecard."""

from __future__ import annotations

import io
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import discord
import pandas as pd
import pytest

from bot.chat.console import ConsoleAdapter
from bot.chat.discord_bot import DiscordAdapter
from bot.chat.memory import MemoryAdapter
from bot.chat.slack import SlackAdapter, slack_client
from tests.bot.fake_slack import FakeSlack
from tests.bot.helpers import EVENING, running_bot, say
from tools.agent import SPECS_BY_NAME, CallContext
from tools.cards import Button, Card
from tools.clock import ManualClock
from tools.forecast.charts import PNG_SIGNATURE, forecast_chart_png
from tools.forecast.scorecard import scorecard

BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0FORECAST"


@pytest.fixture(scope="module")
def png() -> bytes:
    times = pd.date_range("2026-11-20 00:00", periods=6, freq="h", tz="UTC")
    return forecast_chart_png(
        times=times,
        pv_p10_w=[0, 500, 1500, 1500, 500, 0],
        pv_p50_w=[0, 800, 2000, 2000, 800, 0],
        pv_p90_w=[0, 1000, 2500, 2500, 1000, 0],
        load_w=[900] * 6,
        soc_pct=[50, 48, 52, 60, 62, 60, 58],
        title="test",
    )


def chart_card(png: bytes) -> Card:
    return Card(
        kind="forecast_chart",
        title="Battery outlook",
        text="next 6 h",
        fields=[("Now", "50 %")],
        buttons=[Button(label="Ack", action="ack", value="1")],
        image_png=png,
    )


# -- the card ------------------------------------------------------------------------------


def test_card_round_trip_with_an_image(png: bytes) -> None:
    card = chart_card(png)
    data = json.loads(json.dumps(card.to_dict()))  # JSON-serialisable
    assert "image_png" not in data and data["image_png_b64"]
    assert Card.from_dict(data) == card
    plain = Card(kind="info", title="no image")
    assert "image_png_b64" not in plain.to_dict()
    assert Card.from_dict(plain.to_dict()) == plain


# -- the adapters --------------------------------------------------------------------------


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _files(folder: Path) -> list[bytes]:
    return [p.read_bytes() for p in folder.iterdir()]


async def test_console_writes_the_png_and_prints_its_path(png: bytes, tmp_path: Path) -> None:
    out = io.StringIO()
    console = ConsoleAdapter(out=out, channel="#demo", media_dir=tmp_path / "media")
    await console.post("#demo", card=chart_card(png))
    [line] = [ln for ln in out.getvalue().splitlines() if "image:" in ln]
    path = Path(line.split("image:", 1)[1].strip())
    assert path.parent == tmp_path / "media" and path.name.endswith("chart.png")
    written = _read(path)
    assert written == png and written.startswith(PNG_SIGNATURE)


async def test_console_defaults_to_a_temporary_folder(png: bytes) -> None:
    console = ConsoleAdapter(out=io.StringIO())
    await console.post("#demo", card=chart_card(png))
    assert png in _files(console.media_dir)


async def test_memory_adapter_keeps_the_image(png: bytes) -> None:
    memory = MemoryAdapter()
    await memory.post("#demo", card=chart_card(png))
    assert memory.images() == [("chart.png", png)]
    [posted] = memory.cards("forecast_chart")
    assert posted.card is not None and posted.card.image_png == png


async def test_slack_uploads_the_image_in_the_cards_thread(png: bytes) -> None:
    async with FakeSlack() as fake:
        adapter = SlackAdapter(slack_client(BOT_TOKEN, base_url=fake.api_url))
        ref = await adapter.post(CHANNEL, card=chart_card(png))
        assert ref["ref"]
        methods = [c.method for c in fake.calls]
        assert methods == [
            "chat.postMessage",
            "files.getUploadURLExternal",
            "upload",
            "files.completeUploadExternal",
        ]
        [upload] = fake.uploads
        assert upload["filename"] == "chart.png" and upload["bytes"] == png
        [done] = fake.calls_to("files.completeUploadExternal")
        assert done.args["channel_id"] == CHANNEL
        assert done.args["thread_ts"] == ref["ref"]
        assert done.args["files"][0]["title"] == "Battery outlook"
        # A card without an image uploads nothing.
        await adapter.post(CHANNEL, card=Card(kind="info", title="plain"))
        assert len(fake.calls_to("files.getUploadURLExternal")) == 1


@dataclass(slots=True)
class Sent:
    content: str | None
    embed: dict[str, Any] | None
    file: discord.File | None
    view: discord.ui.View | None


@dataclass(slots=True)
class FileChannel:
    """A channel that keeps what was sent, attachments included."""

    id: int
    sent: list[Sent] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def send(
        self,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        file: discord.File | None = None,
    ) -> Any:
        self.sent.append(Sent(content, embed.to_dict() if embed else None, file, view))  # type: ignore[arg-type]
        return discord.Object(id=next(self.ids))


async def test_discord_sends_the_image_as_an_attachment(png: bytes) -> None:
    channel = FileChannel(id=42)

    async def lookup(_channel_id: int) -> Any:
        return channel

    adapter = DiscordAdapter(lookup)
    await adapter.post("42", card=chart_card(png))
    [sent] = channel.sent
    assert sent.file is not None and sent.file.filename == "chart.png"
    assert sent.file.fp.read() == png
    assert sent.embed is not None and sent.embed["image"]["url"] == "attachment://chart.png"
    assert sent.view is not None  # the buttons still come along
    await adapter.post("42", card=Card(kind="info", title="plain"))
    assert channel.sent[-1].file is None and "image" not in (channel.sent[-1].embed or {})


def test_discord_fake_takes_only_what_discord_takes() -> None:
    import inspect

    ours = set(inspect.signature(FileChannel.send).parameters) - {"self"}
    assert ours <= set(inspect.signature(discord.TextChannel.send).parameters)


# -- the tools -----------------------------------------------------------------------------


async def test_battery_outlook_returns_a_chart_card(sqlite_url: str, tmp_path: Path) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, chat, _d):
        await app.monitor.poll_once()
        result = await app.chat.handle_message(say("olga", "when will the battery run out?"))
        assert result.tools == ["battery_outlook"]
        [data] = [c for c in result.cards if c["kind"] == "forecast_chart"]
        card = Card.from_dict(data)
        assert card.image_png is not None and card.image_png.startswith(PNG_SIGNATURE)
        assert len(card.image_png) < 150_000  # small enough for the graph state
        [(name, image)] = chat.images()  # posted to the chat with its image
        assert name == "chart.png" and image == card.image_png


def test_scorecard_maths() -> None:
    hours = pd.date_range("2026-06-01 10:00", periods=4, freq="h", tz="UTC")
    forecast = pd.Series([1000.0, 2000.0, 3000.0, 2000.0], index=hours)
    actual = pd.Series([500.0, 2500.0, 2000.0, 1000.0], index=hours)
    sc = scorecard(forecast_w=forecast, actual_w=actual)
    assert sc.energy_forecast_kwh == pytest.approx(8.0)
    assert sc.energy_actual_kwh == pytest.approx(6.0)
    assert sc.error_pct == pytest.approx(100 * 2 / 6)
    assert sc.bias_w == pytest.approx((500 - 500 + 1000 + 1000) / 4)
    assert sc.mae_w == pytest.approx((500 + 500 + 1000 + 1000) / 4)
    assert sc.hours == 4
    # Only shared, measured hours count; 15-minute steps weigh a quarter hour each.
    gap = actual.copy()
    gap.iloc[0] = float("nan")
    assert scorecard(forecast_w=forecast, actual_w=gap).energy_forecast_kwh == pytest.approx(7.0)
    quarter = pd.date_range("2026-06-01 10:00", periods=4, freq="15min", tz="UTC")
    flat = pd.Series(4000.0, index=quarter)
    q = scorecard(forecast_w=flat, actual_w=flat * 0)
    assert q.energy_forecast_kwh == pytest.approx(4.0) and q.error_pct is None
    with pytest.raises(ValueError):
        scorecard(forecast_w=forecast, actual_w=actual.shift(10, freq="h"))


async def test_solar_scorecard_after_a_simulated_day(sqlite_url: str, tmp_path: Path) -> None:
    assert SPECS_BY_NAME["solar_scorecard"].kind == "read"
    # 00:00 in Golden (UTC-7): one simulated day, polled every 10 minutes.
    clock = ManualClock(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        for _ in range(24 * 6 + 1):
            await app.monitor.poll_once()
            clock.advance(timedelta(minutes=10))
        await app.maintenance.rollup_recent(hours=30)
        ctx = CallContext(
            default_site=app.toolbox.site_names[0],
            requested_by="olga",
            thread_id="t1",
            call_id="c1",
        )
        out = await app.toolbox.call("solar_scorecard", {}, ctx)
        assert not out.error, out.text
        assert "2026-06-10" in out.text and "kWh" in out.text, out.text
        [card] = out.cards
        fields = dict(card.fields)
        forecast_kwh = float(fields["Forecast"].split()[0])
        actual_kwh = float(fields["Actual"].split()[0])
        assert forecast_kwh > 5 and actual_kwh > 1  # a June day in Colorado makes energy
        # said so it cannot be read backwards: which side of the actual the forecast was
        side = "above" if forecast_kwh > actual_kwh else "below"
        assert re.fullmatch(rf"forecast was \d+ % {side} actual", fields["Forecast vs actual"])
        assert fields["Forecast vs actual"] in out.text


async def test_solar_scorecard_uses_the_stored_day_ahead_forecast(
    db_url: str, tmp_path: Path
) -> None:
    # 23:50 in Golden (MDT, UTC-6) on June 9: the daily job issues tomorrow's forecast.
    clock = ManualClock(datetime(2026, 6, 10, 5, 50, tzinfo=UTC))
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        ctx = CallContext(
            default_site=app.toolbox.site_names[0],
            requested_by="olga",
            thread_id="t1",
            call_id="c1",
        )
        # a running bot schedules the daily snapshot job
        assert app.jobs(poll_interval_s=1.0).scheduler.get_job("forecast_snapshots") is not None
        assert await app.store_forecast_snapshots() == 1
        assert await app.store_forecast_snapshots() == 0  # once per local day
        site = app.sites[app.toolbox.site_names[0]]
        day_start = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)
        issued = await app.forecasts.day_ahead(site, day_start, day_start + timedelta(days=1))
        assert issued is not None
        clock.set(day_start)
        for _ in range(24 * 6 + 1):
            await app.monitor.poll_once()
            clock.advance(timedelta(minutes=10))
        await app.maintenance.rollup_recent(hours=30)
        out = await app.toolbox.call("solar_scorecard", {}, ctx)
        assert not out.error, out.text
        assert "day-ahead forecast issued 2026-06-09 23:50" in out.text, out.text
        assert "P10–P90 band" in out.text
        [card] = out.cards
        forecast_kwh = float(dict(card.fields)["Forecast"].split()[0])
        # the card's forecast is the stored P50 over the measured hours, not clear sky
        actual = await app.forecasts.actual_hourly(
            site, "pv_power_w", day_start, day_start + timedelta(days=1)
        )
        expected = issued.pv_p50_w.reindex(actual.dropna().index).sum() / 1000.0
        assert forecast_kwh == pytest.approx(expected, abs=0.051)
        assert "stored day-ahead forecast" in card.footer


async def test_solar_scorecard_says_when_no_forecast_was_stored(
    sqlite_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 6, 10, 7, 0, tzinfo=UTC))
    async with running_bot(db_url=sqlite_url, data_dir=tmp_path, clock=clock) as (app, _c, _d):
        for _ in range(6 * 6):
            await app.monitor.poll_once()
            clock.advance(timedelta(minutes=10))
        clock.set(datetime(2026, 6, 11, 8, 0, tzinfo=UTC))
        await app.maintenance.rollup_recent(hours=30)
        ctx = CallContext(
            default_site=app.toolbox.site_names[0], requested_by="o", thread_id="t", call_id="c"
        )
        out = await app.toolbox.call("solar_scorecard", {}, ctx)
        assert "no forecast was stored the day before" in out.text, out.text
        assert "clear-sky" in out.cards[0].footer


def test_forecast_chart_is_in_the_sites_local_time_with_the_zone_labelled() -> None:
    from matplotlib.dates import date2num

    from tools.forecast.charts import forecast_chart_figure

    times = pd.date_range("2026-11-20 02:00", periods=24, freq="h", tz="UTC")
    flat = [1000.0] * 24
    denver = ZoneInfo("America/Denver")
    fig = forecast_chart_figure(
        times=times,
        pv_p10_w=flat,
        pv_p50_w=flat,
        pv_p90_w=flat,
        load_w=flat,
        soc_pct=[50.0] * 25,
        generator_w=flat,
        title="generator plan",
        tz=denver,
    )
    ax = fig.axes[0]
    assert ax.get_xlabel() == "local time, America/Denver (MST)"
    # 02:00 UTC is 19:00 the evening before in Golden: the ticks read local hours
    assert ax.xaxis.get_major_formatter()(date2num(times[0].to_pydatetime())) == "Thu 19:00"
    utc = forecast_chart_figure(
        times=times,
        pv_p10_w=flat,
        pv_p50_w=flat,
        pv_p90_w=flat,
        load_w=flat,
        soc_pct=[50.0] * 25,
        title="no zone given",
    )
    assert utc.axes[0].get_xlabel() == "time (UTC)"
