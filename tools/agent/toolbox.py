"""The toolbox: runs a tool by its spec against the services it was given.

:meth:`Toolbox.call` validates the arguments, resolves the site, checks the asker's
permission on it and then runs the spec's handler. The handlers live in the family
modules beside this one and reach the services through the toolbox's attributes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from knowledge.service import KnowledgeBase
from tools.actions.service import ActionService, ActionView
from tools.agent.spec import CallContext, ToolOutput, ToolSpec
from tools.alerts.engine import AlertEngine, AlertError, AlertEvent
from tools.alerts.user_rules import UserRuleStore
from tools.clock import Clock
from tools.delivery import DeliveryStats
from tools.errors import ToolsError, UnknownSiteError
from tools.forecast.fuel_service import FuelService
from tools.forecast.service import ForecastService, SiteForecast
from tools.offload import Offload
from tools.people import Directory
from tools.permissions import UNSCOPED, Forbidden, authorize
from tools.preferences import ChannelPrefs, PreferenceStore
from tools.reports.service import ReportService
from tools.site import Site
from tools.telemetry import SiteState


class Toolbox:
    """Runs agent tools against live services."""

    def __init__(
        self,
        *,
        sites: Mapping[str, Site],
        state: Callable[[str], SiteState],
        alerts: AlertEngine,
        actions: ActionService,
        clock: Clock,
        preferences: PreferenceStore | None = None,
        on_alert_event: Callable[[AlertEvent], Awaitable[None]] | None = None,
        deliveries: Callable[[], Awaitable[DeliveryStats]] | None = None,
        directory: Directory | None = None,
        on_action_decided: Callable[[ActionView, str], Awaitable[None]] | None = None,
        forecasts: ForecastService | None = None,
        reports: ReportService | None = None,
        knowledge: KnowledgeBase | None = None,
        offload: Offload | None = None,
        specs: Iterable[ToolSpec] | None = None,
        fuel: FuelService | None = None,
        alert_rules: UserRuleStore | None = None,
    ) -> None:
        """``offload`` runs the optimisers and chart rendering off the event loop (one is
        made here when none is given); ``specs`` are the tools it runs (every tool in
        :data:`tools.agent.TOOL_SPECS` when omitted); ``fuel`` learns the generator's L/kWh from
        the stored history (without it the configured fuel curve is used, and said so)."""
        if specs is None:
            from tools.agent import TOOL_SPECS  # the package assembles the families

            specs = TOOL_SPECS
        self.specs: dict[str, ToolSpec] = {s.name: s for s in specs}
        self.offload = offload or Offload()
        self.sites = sites
        self.state = state
        self.alerts = alerts
        self.actions = actions
        self.clock = clock
        self.preferences = preferences
        self.on_alert_event = on_alert_event
        self.deliveries = deliveries
        self.directory = directory
        self.on_action_decided = on_action_decided
        self.forecasts = forecasts
        self.reports = reports
        self.knowledge = knowledge
        self.fuel = fuel
        self.alert_rules = alert_rules  # thresholds set in chat (tools.alerts.user_rules)

    def now(self) -> datetime:
        return self.clock.now()

    async def channel_prefs(self, channel: str) -> ChannelPrefs:
        if self.preferences is None:
            return ChannelPrefs()
        return await self.preferences.channel_prefs(channel)

    def display_units(self, person: str) -> dict[str, str]:
        """The units ``person`` asked to see (kW and °C unless they said otherwise)."""
        if self.preferences is None:
            return {"power_unit": "kW", "temperature_unit": "C"}
        return self.preferences.display(person)

    @property
    def site_names(self) -> list[str]:
        return list(self.sites)

    def site(self, name: str | None, default: str) -> Site:
        key = (name or default).strip().lower()
        site = self.sites.get(key)
        if site is None:
            raise UnknownSiteError(name or default, list(self.sites))
        return site

    async def call(self, name: str, args: dict[str, Any], ctx: CallContext) -> ToolOutput:
        """Run one tool; a bad call or a refusal comes back as an error observation."""
        spec = self.specs.get(name)
        if spec is None:
            return ToolOutput(
                text=f"Unknown tool {name!r}. Tools: {', '.join(self.specs)}.", error=True
            )
        try:
            parsed = spec.args.model_validate(args)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            return ToolOutput(text=f"Invalid arguments for {name}: {problems}", error=True)
        try:
            if spec.multi_site:  # checks every site it is about itself
                return await spec.run(self, self.site(None, ctx.default_site), parsed, ctx)
            named = getattr(parsed, "site", None)
            if named is None and spec.site_of_ids is not None:
                named = await spec.site_of_ids(self, parsed)
            site = self.site(named, ctx.default_site)
            # The site the call is about, not the channel it came from.
            scope = None if spec.permission in UNSCOPED else site.name
            authorize(ctx.principal, spec.permission, scope)
            return await spec.run(self, site, parsed, ctx)
        except Forbidden as err:
            return ToolOutput(text=str(err), error=True)
        except ToolsError as err:
            return ToolOutput(text=str(err), error=True)

    # -- helpers shared by several families ------------------------------------------

    async def outlook(self, site: Site, hours: int = 48) -> tuple[SiteForecast, float]:
        """The site's PV and load forecast for the next ``hours`` and the battery SOC now."""
        if self.forecasts is None:
            raise AlertError("Forecasts are not available here.")
        if site.battery is None:
            raise AlertError(f"{site.display_name} has no battery to plan for.")
        state = self.state(site.name)
        soc = state.get("battery_soc_pct")
        if soc is None:
            raise AlertError(f"No battery reading from {site.display_name} yet.")
        forecast = await self.forecasts.forecast(
            site, hours=hours, current_load_w=state.get("load_power_w")
        )
        return forecast, soc

    async def emit(self, event: AlertEvent | None) -> None:
        """Pass an alert lifecycle event on (to the delivery and the chat cards)."""
        if event is not None and self.on_alert_event is not None:
            await self.on_alert_event(event)
