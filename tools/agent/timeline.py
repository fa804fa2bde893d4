"""What happened, what was unusual, and the INA228's readings: read tools over the stored
history (the figures come from tools/reports/timeline.py and anomalies.py) and the live
state of a site's INA228 monitors."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tools.agent.spec import CallContext, SiteArgs, ToolOutput, ToolSpec
from tools.alerts.engine import AlertError
from tools.cards import age_text
from tools.reports import anomalies as anomaly_report
from tools.reports import timeline as timeline_report
from tools.reports.windows import WindowError, resolve_window
from tools.site import Device, Site
from tools.telemetry import SiteState

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox

INA228_DRIVERS = frozenset({"ina228", "ina228_mqtt"})


class TimelineArgs(SiteArgs):
    window: str | None = Field(
        default=None,
        max_length=80,
        description="As said: 'overnight', 'since 06:00', 'last 3 h', 'today'; default 24 h",
    )
    full: bool = Field(default=False, description="All events, not the newest 15")


class PanelArgs(SiteArgs):
    quantity: Literal["all", "voltage", "current", "power", "temperature"] = Field(
        default="all", description="What was asked (answered first)"
    )


async def timeline(tb: Toolbox, site: Site, args: TimelineArgs, _ctx: CallContext) -> ToolOutput:
    if tb.reports is None:
        raise AlertError("The timeline needs stored history, which is not available here.")
    try:
        window = resolve_window(args.window, now=tb.clock.now(), tz=site.tz)
    except WindowError as err:
        return ToolOutput(text=str(err), error=True)
    found = await tb.reports.timeline(site, window)
    limit = None if args.full else timeline_report.LIMIT
    text = timeline_report.render(found, site.tz, site=site.display_name, limit=limit)
    whole = timeline_report.render(found, site.tz, site=site.display_name, limit=None)
    # "more" gives every event when the answer showed only the newest ones.
    return ToolOutput(
        text=text,
        more=whole if whole != text else "",
        why=timeline_report.why_text(found, site.tz, limit=limit),
    )


async def anomalies(tb: Toolbox, site: Site, _args: SiteArgs, _ctx: CallContext) -> ToolOutput:
    if tb.reports is None:
        raise AlertError("Finding anomalies needs stored history, which is not available here.")
    report = await tb.reports.anomalies(site, tb.clock.now())
    return ToolOutput(
        text=anomaly_report.render(report, site=site.display_name),
        why=anomaly_report.why_text(report, site.tz),
    )


_PANEL_FIELDS = (
    ("voltage", "voltage_v", "voltage", "{:.2f} V"),
    ("current", "current_a", "current", "{:.3f} A"),
    ("power", "power_w", "power", "{:.1f} W"),
    ("temperature", "temp_c", "die temperature", "{:.1f} °C"),
)


_PANEL_WIRING = ("bus", "address", "shunt_ohms", "max_current_a", "topic")


def panel_line(device: str, state: SiteState, quantity: str, now: datetime) -> str:
    """One INA228's latest readings, the asked quantity first ("panel-1 voltage: 18.42 V")."""
    found = {
        key: (label, fmt.format(sample.value), sample.time)
        for key, metric, label, fmt in _PANEL_FIELDS
        if (sample := state.sample(metric, device)) is not None
    }
    if not found:
        return f"{device} (INA228): no readings yet."
    order = sorted(found, key=lambda k: k != quantity)
    newest = max(t for _l, _v, t in found.values())
    age = f" ({age_text(now - newest)} ago)"
    lead = order[0]
    label, value, _t = found[lead]
    head = f"{device} (INA228) {label}: {value}{age}"
    if quantity not in ("all", lead):
        head = f"{device} (INA228) has no {quantity} reading; {label}: {value}{age}"
    others = [f"{found[k][0]} {found[k][1]}" for k in order[1:]]
    return head + (f"; {', '.join(others)}." if others else ".")


async def panel_readings(tb: Toolbox, site: Site, args: PanelArgs, _ctx: CallContext) -> ToolOutput:
    monitors = [d for d in site.devices if d.driver in INA228_DRIVERS]
    if not monitors:
        kinds = sorted({d.driver for d in site.devices})
        return ToolOutput(
            text=f"{site.display_name} has no INA228 monitor, so I have no panel voltage, "
            f"current or chip temperature there. It has: {', '.join(kinds) or 'no devices'}"
            "; for solar power ask 'solar now?', for the battery 'how is the battery?'."
        )
    state = tb.state(site.name)
    now = tb.clock.now()
    return ToolOutput(
        text="\n".join(panel_line(d.name, state, args.quantity, now) for d in monitors),
        why=panel_why(monitors, state, now),
    )


def panel_why(monitors: list[Device], state: SiteState, now: datetime) -> str:
    """The reasons behind the panel readings (pure): each INA228, how it is read, and
    every reading's value, metric and age."""
    lines = []
    for d in monitors:
        # only the wiring, never broker credentials
        shown = {k: d.connection[k] for k in _PANEL_WIRING if k in d.connection}
        if isinstance(shown.get("address"), int):
            shown["address"] = hex(shown["address"])
        where = ", ".join(f"{k} {v}" for k, v in shown.items()) or "default wiring"
        readings = [
            f"{metric} {fmt.format(sample.value)} ({age_text(now - sample.time)} ago)"
            for _key, metric, _label, fmt in _PANEL_FIELDS
            if (sample := state.sample(metric, d.name)) is not None
        ]
        lines.append(
            f"{d.name}: {d.driver} driver ({where}), polled every {d.interval_s:g} s; "
            + ("; ".join(readings) if readings else "no reading has arrived yet")
            + "."
        )
    lines.append(
        "Voltage is the INA228's bus voltage, current the shunt current, power their product "
        "as the chip reports it, and temperature the chip's own die, not the panel's."
    )
    return "Why: " + "\n".join(lines)


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="timeline",
        kind="read",
        args=TimelineArgs,
        run=timeline,
        description="What happened in a period (overnight, since a time): alerts, action "
        "requests and who decided them, generator starts, grid outages, SOC range, PV peak.",
    ),
    ToolSpec(
        name="anomalies",
        kind="read",
        args=SiteArgs,
        run=anomalies,
        description="What was unusual this week against the previous 4 weeks: load, PV, SOC, "
        "grid, device gaps, generator hours.",
    ),
    ToolSpec(
        name="panel_readings",
        kind="read",
        args=PanelArgs,
        run=panel_readings,
        description="Panel voltage, current, power and chip temperature from INA228 monitors.",
    ),
)
