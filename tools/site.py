"""The site file: what each site has and where it posts.

A site file is YAML (``.yaml``/``.yml``) or TOML (``.toml``) with a top-level
``sites`` list and an optional ``people`` list. See ``sites.example.yaml`` at
the repository root for a commented example. :func:`load_site_file` refuses a
wrong file with a message naming the file, the field and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tools.actions.kinds import ACTION_KINDS
from tools.delivery_config import DeliveryConfig
from tools.devices.config import CONNECTION_MODELS, Connection, DriverName, VrmAccount
from tools.errors import SiteConfigError, UnknownSiteError
from tools.permissions import ROLES, Permission, Role, check_tier_roles, roles_with

__all__ = ["ROLES", "Role"]  # re-exported for callers that read roles off the site file

# Roles and what each may do live in tools.permissions (the one permission table).
APPROVER_ROLES: tuple[Role, ...] = roles_with(Permission.APPROVE_ACTION)


class _Model(BaseModel):
    # allow_inf_nan=False: .inf / .nan (YAML) and inf / nan (TOML) are refused for every
    # number; a plan or a policy limit computed from them would be meaningless.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Location(_Model):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude_m: float = Field(default=0.0, ge=-500, le=9000)


class PvArray(_Model):
    name: str = Field(min_length=1)
    kwp: float = Field(gt=0, le=100_000, description="DC nameplate [kWp]")
    tilt_deg: float = Field(ge=0, le=90)
    azimuth_deg: float = Field(
        ge=0, lt=360, description="degrees clockwise from north: 180 = south"
    )
    inverter_kw: float | None = Field(default=None, gt=0, description="AC limit [kW]")
    losses_pct: float = Field(default=14.0, ge=0, lt=100)


class Battery(_Model):
    capacity_kwh: float = Field(gt=0, le=1_000_000)
    min_soc_pct: float = Field(default=20.0, ge=0, le=100)
    max_charge_kw: float = Field(default=5.0, gt=0)
    max_discharge_kw: float = Field(default=5.0, gt=0)
    round_trip_efficiency_pct: float = Field(default=92.0, gt=0, le=100)
    initial_soc_pct: float = Field(default=60.0, ge=0, le=100, description="simulator only")


class SwitchableLoad(_Model):
    name: str = Field(min_length=1)
    kind: Literal["miner", "pump", "heater", "other"] = "miner"
    power_kw: float = Field(gt=0)
    relay: str = Field(
        default="", description="name of the device whose relay switches it (blank: simulator)"
    )
    initially_on: bool = True


class Generator(_Model):
    name: str = "generator"
    rated_kw: float = Field(gt=0)
    tank_l: float = Field(gt=0)
    initial_fuel_l: float | None = Field(default=None, ge=0)
    # (load fraction 0..1, litres per hour); when omitted a synthetic curve is used
    fuel_curve: list[tuple[float, float]] | None = None
    # shortest run once started [h]; the generator plan uses 2 h when omitted
    min_run_h: float | None = Field(default=None, gt=0, le=24)
    # SOC points the generator plan keeps above the battery floor for forecast error
    plan_reserve_pct: float = Field(default=5.0, ge=0, le=50)

    @property
    def curve(self) -> list[tuple[float, float]]:
        """The fuel curve in use: the site file's, else :func:`default_fuel_curve`."""
        return self.fuel_curve if self.fuel_curve is not None else default_fuel_curve(self.rated_kw)

    @model_validator(mode="after")
    def _curve(self) -> Generator:
        curve = self.curve
        fractions = [f for f, _ in curve]
        rising = (
            len(curve) >= 2
            and fractions == sorted(fractions)
            and 0 <= fractions[0] < fractions[-1] <= 1
        )
        if not rising:
            raise ValueError(
                "fuel_curve must have >= 2 points with load fractions rising within 0..1"
            )
        if any(lph < 0 for _, lph in curve):
            raise ValueError("fuel_curve litres per hour must be >= 0")
        if self.initial_fuel_l is not None and self.initial_fuel_l > self.tank_l:
            raise ValueError("initial_fuel_l cannot exceed tank_l")
        return self


def default_fuel_curve(rated_kw: float) -> list[tuple[float, float]]:
    """A synthetic diesel fuel curve [L/h] by load fraction, scaled to the rating.

    Shape of the usual published consumption tables for small diesel gensets
    (about 0.08 L/h per rated kW idling, about 0.30 L/h per rated kW at full
    load). Synthetic: enter your generator's own table in the site file.
    """
    per_kw = [(0.0, 0.08), (0.25, 0.11), (0.5, 0.165), (0.75, 0.235), (1.0, 0.30)]
    return [(f, round(k * rated_kw, 3)) for f, k in per_kw]


class Grid(_Model):
    present: bool = True
    max_charge_kw: float = Field(default=3.0, gt=0, description="grid-charge power into battery")


class Device(_Model):
    """A source of readings and sink of commands; ``connection`` depends on the driver."""

    name: str = Field(min_length=1)
    driver: DriverName = "simulator"
    connection: dict[str, Any] = Field(default_factory=dict)
    interval_s: float = Field(default=10.0, gt=0, le=3600, description="expected reading interval")
    stale_after_s: float | None = Field(
        default=None, gt=0, description="silence after which the device is offline"
    )

    @model_validator(mode="after")
    def _connection(self) -> Device:
        try:
            CONNECTION_MODELS[self.driver].model_validate(self.connection)
        except ValidationError as err:
            problems = "; ".join(
                f"connection.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
            )
            raise ValueError(f"{self.driver} device {self.name!r}: {problems}") from None
        if self.stale_after_s is not None and self.stale_after_s <= self.interval_s:
            raise ValueError("stale_after_s must be longer than interval_s")
        return self

    @property
    def config(self) -> Connection:
        """The validated connection settings for this device's driver."""
        return CONNECTION_MODELS[self.driver].model_validate(self.connection)

    @property
    def stale_after(self) -> float:
        """Seconds of silence after which the device counts as offline [s]."""
        return self.stale_after_s if self.stale_after_s is not None else 3 * self.interval_s + 30


class Channels(_Model):
    console: str = "#site"
    slack: str | None = None
    discord: str | None = None


class AlertThresholds(_Model):
    """Thresholds and timing of the monitoring rules (each overridable by preferences)."""

    soc_critical_pct: float = Field(default=30.0, ge=0, le=100)
    soc_warning_pct: float = Field(default=40.0, ge=0, le=100)
    discharge_warning_kw: float = Field(default=5.0, gt=0)
    battery_full_pct: float = Field(default=98.0, ge=50, le=100)
    high_load_kw: float | None = Field(default=None, gt=0, description="site load warning")
    daily_energy_kwh_max: float | None = Field(
        default=None, gt=0, description="consumption per local day, e.g. 300 for a factory"
    )
    underperformance_ratio: float = Field(
        default=0.5, gt=0, lt=1, description="PV below this share of expected is under-performing"
    )
    underperformance_for_min: float = Field(default=60.0, gt=0)
    stale_value_min: float = Field(
        default=120.0, gt=0, description="a value that has not changed for this long is stuck"
    )
    fuel_l_per_day_max: float = Field(default=50.0, gt=0)
    fuel_low_days: float = Field(default=3.0, gt=0, description="warn below this many days left")
    fuel_efficiency_decline_pct: float = Field(
        default=15.0, gt=0, description="L/kWh worse than the earlier weeks by this much"
    )
    generator_service_interval_h: float | None = Field(default=250.0, gt=0)
    generator_last_service_h: float = Field(default=0.0, ge=0)
    daily_cost_max: float | None = Field(default=None, gt=0)
    monthly_cost_max: float | None = Field(default=None, gt=0)
    excess_solar_kw: float = Field(
        default=1.0, gt=0, description="surplus that makes idle miners worth mentioning"
    )
    # lifecycle
    default_for_s: float = Field(default=0.0, ge=0, description="how long a condition must hold")
    repeat_interval_min: float = Field(default=240.0, gt=0, description="reminder interval")
    escalate_after_min: float | None = Field(default=30.0, gt=0)
    escalate_to: str | None = Field(
        default=None, description="a second channel, or a role to mention (e.g. @operator)"
    )
    group_wait_s: float = Field(default=10.0, ge=0)
    group_interval_s: float = Field(default=300.0, ge=0)

    @model_validator(mode="after")
    def _order(self) -> AlertThresholds:
        if self.soc_critical_pct >= self.soc_warning_pct:
            raise ValueError("soc_critical_pct must be below soc_warning_pct")
        return self


class TariffPeriod(_Model):
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local HH:MM")
    end: str = Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$", description="local HH:MM")
    price_per_kwh: float = Field(ge=0)


class Costs(_Model):
    """Prices for cost rules and reports (currency is only a label)."""

    currency: str = "USD"
    grid_price_per_kwh: float = Field(default=0.15, ge=0, description="when no period matches")
    grid_periods: list[TariffPeriod] = Field(
        default_factory=list, description="time-of-use prices by local time of day"
    )
    export_price_per_kwh: float = Field(default=0.0, ge=0)
    fuel_price_per_l: float = Field(default=1.5, ge=0)
    cheap_grid_price_per_kwh: float | None = Field(
        default=None, ge=0, description="at or below this, grid charging is worth proposing"
    )
    monthly_budget: float | None = Field(
        default=None, ge=0, description="energy budget per calendar month (cost projections)"
    )

    def grid_price_at(self, local_minutes: int) -> float:
        """Price per kWh at a local time of day given in minutes after midnight."""
        for period in self.grid_periods:
            start = _minutes(period.start)
            end = _minutes(period.end)
            inside = (
                start <= local_minutes < end
                if start < end
                else (local_minutes >= start or local_minutes < end)
            )
            if inside:
                return period.price_per_kwh
        return self.grid_price_per_kwh


_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Emissions(_Model):
    """CO2 emission factors for carbon figures in reports.

    Defaults: diesel 2.68 kg CO2 per litre burned (combustion; the US EPA's factor of
    10.21 kg per US gallon is 2.70 kg/L); grid 0.481 kg CO2 per kWh, the world average
    intensity of electricity in 2023 (Ember) — set your own grid's figure; solar 0 in
    operation (its lifecycle emissions, about 0.041 kg/kWh for rooftop PV in the
    IPCC's AR5 median, can be entered here if wanted).
    """

    diesel_kg_per_l: float = Field(default=2.68, ge=0, le=10)
    grid_kg_per_kwh: float = Field(default=0.481, ge=0, le=2)
    solar_kg_per_kwh: float = Field(default=0.0, ge=0, le=1)


class DigestSchedule(_Model):
    """When a scheduled report is posted (local time of the site) and where.

    ``channels`` entries: ``chat`` (the site's channel on every chat platform),
    ``email`` / ``webhook`` (the site's ``delivery`` targets), or a channel name or
    id (``#ops``, ``C0123``) to post on every chat platform.
    """

    enabled: bool = True
    time: str = Field(default="07:00", pattern=_HHMM, description="local HH:MM")
    day: Weekday = Field(default="mon", description="weekly only: the day it is posted")
    channels: list[str] = Field(default_factory=lambda: ["chat"], min_length=1)


class MonthlySchedule(_Model):
    """When the monthly report (the calendar month before) is posted, and where.

    ``day`` is the day of the month, 1 to 28 so that every month has it; ``time`` and
    ``channels`` are as for :class:`DigestSchedule`.
    """

    enabled: bool = True
    time: str = Field(default="08:00", pattern=_HHMM, description="local HH:MM")
    day: int = Field(default=1, ge=1, le=28, description="day of the month it is posted (1-28)")
    channels: list[str] = Field(default_factory=lambda: ["chat"], min_length=1)


class Reports(_Model):
    """Daily digest, weekly and monthly management reports, and the savings baseline."""

    daily: DigestSchedule = Field(default_factory=DigestSchedule)
    weekly: DigestSchedule = Field(default_factory=lambda: DigestSchedule(time="08:00", day="mon"))
    monthly: MonthlySchedule = Field(default_factory=MonthlySchedule)
    savings_baseline: Literal["grid", "diesel"] = Field(
        default="grid",
        description="what the site's energy would have cost otherwise: all load from the "
        "grid at the tariff, or all load from the generator (diesel only)",
    )
    baseline_l_per_kwh: float | None = Field(
        default=None,
        gt=0,
        le=2,
        description="litres per kWh for the diesel-only baseline (default: the generator's "
        "fuel curve at 75 % load, or 0.3 L/kWh without a generator)",
    )


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class ApprovalTier(_Model):
    """Who may approve an action and how."""

    roles: list[Role] = Field(default_factory=lambda: list(APPROVER_ROLES), min_length=1)
    self_approve: bool = Field(default=True, description="the requester may approve it")
    approvals: int = Field(default=1, ge=1, le=5, description="distinct approvers needed")

    @field_validator("roles")
    @classmethod
    def _approver_roles(cls, roles: list[Role]) -> list[Role]:
        unable = check_tier_roles(roles)
        if unable:
            raise ValueError(
                f"role(s) {', '.join(unable)} may not approve actions at all "
                f"(approver roles: {', '.join(APPROVER_ROLES)})"
            )
        return roles

    def describe(self) -> str:
        """E.g. '2 approvals from admin or manager, not the requester'."""
        who = " or ".join(self.roles)
        count = f"{self.approvals} approval{'s' if self.approvals > 1 else ''}"
        return f"{count} from {who}" + ("" if self.self_approve else ", not the requester")


# Starting the generator burns fuel and is loud: two people, not the requester alone.
DEFAULT_TIERS: dict[str, dict[str, Any]] = {
    "generator_start": {"self_approve": False, "approvals": 2},
}


def default_tiers() -> dict[str, ApprovalTier]:
    return {kind: ApprovalTier(**fields) for kind, fields in DEFAULT_TIERS.items()}


class ActionSettings(_Model):
    expiry_minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60)
    tiers: dict[str, ApprovalTier] = Field(
        default_factory=default_tiers,
        description="per action kind, merged field by field over the defaults",
    )

    @field_validator("tiers", mode="before")
    @classmethod
    def _merge_over_defaults(cls, given: Any) -> Any:
        """A site's tiers refine the defaults per kind and per field; they never drop the
        defaults of kinds (or fields) they do not mention."""
        if not isinstance(given, dict):
            return given
        unknown = [k for k in given if k not in ACTION_KINDS]
        if unknown:
            raise ValueError(
                f"unknown action kind(s) {', '.join(map(str, unknown))} "
                f"(known: {', '.join(ACTION_KINDS)})"
            )
        merged: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_TIERS.items()}
        for kind, fields in given.items():
            if isinstance(fields, ApprovalTier):
                fields = fields.model_dump(exclude_unset=True)
            if not isinstance(fields, dict):
                merged[kind] = fields  # let the model say what is wrong
                continue
            merged[kind] = {**merged.get(kind, {}), **fields}
        return merged

    def tier(self, kind: str) -> ApprovalTier:
        return self.tiers.get(kind) or ApprovalTier()

    def effective_tiers(self) -> dict[str, ApprovalTier]:
        """What every action kind needs at this site (defaults merged with the site's)."""
        return {kind: self.tier(kind) for kind in ACTION_KINDS}


def _site_set(person: Person) -> frozenset[str] | None:
    return None if person.sites is None else frozenset(person.sites)


def _duplicates(names: list[str]) -> str:
    """The names that occur more than once, comma-separated in first-seen order."""
    return ", ".join(dict.fromkeys(n for n in names if names.count(n) > 1))


class Site(_Model):
    name: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = ""
    timezone: str = "UTC"
    location: Location
    pv_arrays: list[PvArray] = Field(default_factory=list)
    battery: Battery | None = None
    loads: list[SwitchableLoad] = Field(default_factory=list)
    generator: Generator | None = None
    grid: Grid = Field(default_factory=Grid)
    devices: list[Device] = Field(default_factory=lambda: [Device(name="simulator")])
    channels: Channels = Field(default_factory=Channels)
    alerts: AlertThresholds = Field(default_factory=AlertThresholds)
    actions: ActionSettings = Field(default_factory=ActionSettings)
    costs: Costs = Field(default_factory=Costs)
    delivery: DeliveryConfig | None = Field(
        default=None, description="e-mail and webhooks for this site's alerts"
    )
    vrm: VrmAccount | None = None
    emissions: Emissions = Field(default_factory=Emissions)
    reports: Reports = Field(default_factory=Reports)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)"
            ) from err
        return value

    @field_validator("loads")
    @classmethod
    def _unique_loads(cls, loads: list[SwitchableLoad]) -> list[SwitchableLoad]:
        dupes = _duplicates([load.name for load in loads])
        if dupes:
            raise ValueError(f"load names must be unique within a site (repeated: {dupes})")
        return loads

    @model_validator(mode="after")
    def _devices(self) -> Site:
        names = [d.name for d in self.devices]
        dupes = _duplicates(names)
        if dupes:
            raise ValueError(f"device names must be unique within a site (repeated: {dupes})")
        if len(self.devices) > 1 and any(d.driver == "simulator" for d in self.devices):
            raise ValueError("a simulated site has the simulator as its only device")
        for load in self.loads:
            if load.relay and load.relay not in names:
                raise ValueError(
                    f"load {load.name!r} names relay device {load.relay!r}, which is not in "
                    f"devices (known: {', '.join(names) or 'none'})"
                )
        return self

    def device(self, name: str) -> Device | None:
        return next((d for d in self.devices if d.name == name), None)

    @property
    def display_name(self) -> str:
        return self.title or self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def miners(self) -> list[SwitchableLoad]:
        return [load for load in self.loads if load.kind == "miner"]


PLATFORM_NAMES: dict[str, str] = {"console": "the console", "slack": "Slack", "discord": "Discord"}


class Person(_Model):
    """One chat account with its role. A human with accounts on several platforms (or
    two accounts on one) is listed once per account, every entry with the same
    ``person`` id, role and sites: they are then one person for approvals (two-person
    rules, self-approval)."""

    platform: Literal["console", "slack", "discord"]
    user_id: str = Field(min_length=1)
    name: str = ""
    role: Role = "viewer"
    sites: list[str] | None = Field(
        default=None, description="the sites this person may see (all when omitted)"
    )
    person: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$",
        description="the same id on every entry of one human (e.g. alice): one approver",
    )

    @field_validator("person")
    @classmethod
    def _person_id(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None  # 'Alice' and 'alice': one human

    @property
    def account(self) -> str:
        """``platform:user_id``, as actors and the audit log name an account."""
        return f"{self.platform}:{self.user_id}"

    @property
    def human(self) -> str:
        """Who this is for approvals: ``person:<id>`` when linked, else the account."""
        return f"person:{self.person}" if self.person else self.account

    def access(self) -> str:
        """E.g. 'operator at home, barn' or 'admin at every site'."""
        where = "every site" if self.sites is None else ", ".join(sorted(self.sites)) or "no site"
        return f"{self.role} at {where}"


class Humans:
    """Which accounts are one human: the site file's entries that share a ``person`` id.

    Accounts are ``platform:user_id`` keys. An account the file does not link (not
    listed, granted a role in chat, or listed without ``person``) is a person of its own.
    """

    def __init__(self, people: Iterable[Person] = ()) -> None:
        self._human: dict[str, str] = {}
        self._accounts: dict[str, tuple[str, ...]] = {}
        for p in people:
            if p.person:
                self._human[p.account] = p.human
                self._accounts[p.human] = (*self._accounts.get(p.human, ()), p.account)

    def of(self, account: str) -> str:
        """The human behind ``account``: ``person:<id>`` when linked, else the account."""
        return self._human.get(account, account)

    def person_id(self, account: str) -> str | None:
        """The ``person`` id the site file gives ``account``, or None."""
        human = self._human.get(account)
        return human.removeprefix("person:") if human is not None else None

    def accounts(self, account: str) -> tuple[str, ...]:
        """Every account of the human behind ``account``, itself included."""
        return self._accounts.get(self.of(account), (account,))

    def identities(self, account: str, person_id: str | None = None) -> frozenset[str]:
        """What identifies the human behind ``account`` (the account, its person by the
        site file, and ``person_id`` recorded earlier): two sets that share anything are
        the same human."""
        ids = {account, self.of(account)}
        if person_id:
            ids.add(f"person:{person_id}")
        return frozenset(ids)


class Group(_Model):
    """A Slack user group or Discord role whose members get a role."""

    platform: Literal["slack", "discord"]
    group_id: str = Field(min_length=1)
    role: Role


class SiteFile(_Model):
    sites: list[Site] = Field(min_length=1)
    people: list[Person] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)

    @field_validator("sites")
    @classmethod
    def _unique_sites(cls, sites: list[Site]) -> list[Site]:
        dupes = _duplicates([s.name for s in sites])
        if dupes:
            raise ValueError(f"site names must be unique (repeated: {dupes})")
        return sites

    @model_validator(mode="after")
    def _people(self) -> SiteFile:
        """Each person once (two entries would make their role depend on the order), and
        only sites that exist (a typo would silently hide a site from them)."""
        known = [s.name for s in self.sites]
        first: dict[tuple[str, str], int] = {}
        human: dict[str, int] = {}
        for i, person in enumerate(self.people):
            key = (person.platform, person.user_id)
            if key in first:
                raise ValueError(
                    f"people[{i}]: {person.platform} user {person.user_id!r} is already listed "
                    f"as people[{first[key]}]; list each person once with one role"
                )
            first[key] = i
            if person.person is not None:
                # One human, one role and one set of sites: otherwise they would act with
                # whichever account gives them more.
                j = human.setdefault(person.person, i)
                other = self.people[j]
                if other.role != person.role or _site_set(other) != _site_set(person):
                    raise ValueError(
                        f"people[{i}]: person {person.person!r} ({person.platform} user "
                        f"{person.user_id!r}) is {person.access()}, but people[{j}] "
                        f"({other.platform} user {other.user_id!r}), the same person, is "
                        f"{other.access()}; give every entry of one person the same role "
                        "and sites"
                    )
            unknown = [name for name in person.sites or [] if name not in known]
            if unknown:
                raise ValueError(
                    f"people[{i}].sites: {person.platform} user {person.user_id!r} is limited "
                    f"to {', '.join(repr(n) for n in unknown)}, which is not a site in this "
                    f"file (sites: {', '.join(known)})"
                )
        groups: dict[tuple[str, str], int] = {}
        for i, group in enumerate(self.groups):
            key = (group.platform, group.group_id)
            if key in groups:
                raise ValueError(
                    f"groups[{i}]: {group.platform} group {group.group_id!r} is already listed "
                    f"as groups[{groups[key]}]; list each group once with one role"
                )
            groups[key] = i
        return self

    def humans(self) -> Humans:
        """Which of the listed accounts are one human (entries sharing ``person``)."""
        return Humans(self.people)

    def site(self, name: str | None) -> Site:
        """The named site, or the only/first site when ``name`` is None."""
        if name is None:
            return self.sites[0]
        for site in self.sites:
            if site.name == name:
                return site
        raise UnknownSiteError(name, [s.name for s in self.sites])


def demo_site_file() -> SiteFile:
    """The built-in demo: a home-lab site with solar, a battery and three miners.

    Located at NREL's SERF building in Golden, Colorado (the site of the
    measured PV data under ``shared/data/pv``). The battery starts low enough
    that an accelerated demo raises a battery alert within a minute.
    """
    return SiteFile(
        sites=[
            Site(
                name="demo",
                title="Demo home lab",
                timezone="America/Denver",
                location=Location(latitude=39.742, longitude=-105.179, altitude_m=1828),
                pv_arrays=[
                    PvArray(name="roof", kwp=8.0, tilt_deg=30, azimuth_deg=180, inverter_kw=7.6)
                ],
                battery=Battery(
                    capacity_kwh=14.3,
                    min_soc_pct=20,
                    max_charge_kw=7.0,
                    max_discharge_kw=7.0,
                    initial_soc_pct=44.0,
                ),
                loads=[
                    SwitchableLoad(name="miner-1", kind="miner", power_kw=1.45),
                    SwitchableLoad(name="miner-2", kind="miner", power_kw=1.45),
                    SwitchableLoad(name="miner-3", kind="miner", power_kw=1.45),
                ],
                generator=Generator(name="generator", rated_kw=8.0, tank_l=120, initial_fuel_l=90),
                grid=Grid(present=True, max_charge_kw=3.0),
                channels=Channels(console="#demo"),
            )
        ],
        people=[Person(platform="console", user_id="you", name="You", role="admin")],
    )


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _format_location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.match(part):  # a key with spaces, quotes or line breaks
            out += f"[{_short(part)}]"
        else:
            out += f".{part}" if out else part
    return out or "(top level)"


def parse_site_file(data: Any, *, source: str) -> SiteFile:
    """Validate already-parsed data.

    A wrong file raises :class:`SiteConfigError` with one line naming ``source``, then
    each problem's field, what was expected and the value given, separated by ``; ``.
    """
    if not isinstance(data, dict):
        raise SiteConfigError(f"{source}: expected a mapping with a 'sites' list at the top level")
    try:
        return SiteFile.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            where = _format_location(tuple(e["loc"]))
            got = e.get("input")
            got_text = "" if isinstance(got, dict | list) else f" (got {_short(got)})"
            msg = " ".join(str(e["msg"]).removeprefix("Value error, ").split())
            problems.append(f"{where}: {msg}{got_text}")
        raise SiteConfigError(f"{source}: invalid site file: " + "; ".join(problems)) from err


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _syntax_error(err: yaml.YAMLError | tomllib.TOMLDecodeError) -> str:
    """The parser's complaint with its position, on one line."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        return f"{where}{err.problem or err.context or 'syntax error'}"
    return " ".join(str(err).split())


def load_site_file(path: Path) -> SiteFile:
    """Read and validate a YAML or TOML site file (UTF-8); errors are one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SiteConfigError(f"{path}: cannot read site file ({err.strerror})") from err
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise SiteConfigError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} on line {line}); "
            "save the site file as UTF-8"
        ) from err
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            raise SiteConfigError(
                f"{path}: unknown site file type {suffix!r}; use .yaml, .yml or .toml"
            )
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        kind = suffix.lstrip(".").upper().replace("YML", "YAML")
        raise SiteConfigError(f"{path}: not valid {kind}: {_syntax_error(err)}") from err
    return parse_site_file(data, source=str(path))
