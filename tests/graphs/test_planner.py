"""Tests of the offline planner's router: many phrasings, typos, sites, loads and non-commands."""

from __future__ import annotations

from typing import Any

import pytest

from graphs.assistant.planner import TOOL_NAMES, Intent, help_text, route
from tools.agent import TOOL_SPECS

SITES = ("barn", "home", "north field")
LOADS = ("miner-1", "miner-2", "miner-3", "pump")


def status(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("site_status", {"site": site})


def battery(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("battery_status", {"site": site})


def solar(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("solar_now", {"site": site})


def forecast(day: str = "today", site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("solar_forecast", {"site": site, "day": day})


def alerts(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("active_alerts", {"site": site})


def stop_miners(
    loads: list[str] | None = None, site: str | None = None
) -> tuple[str, dict[str, Any]]:
    return ("stop_miners", {"site": site, "loads": loads})


def start_miners(
    loads: list[str] | None = None, site: str | None = None
) -> tuple[str, dict[str, Any]]:
    return ("start_miners", {"site": site, "loads": loads})


def grid(enabled: bool, site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("set_grid_charge", {"site": site, "enabled": enabled})


def start_gen(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("start_generator", {"site": site})


def stop_gen(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("stop_generator", {"site": site})


def gen_plan(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("generator_plan", {"site": site})


def helps() -> tuple[str, dict[str, Any]]:
    return ("help", {"site": None})


def ack(alert_id: int | None = None, site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("acknowledge_alert", {"site": site, "alert_id": alert_id})


def snooze(
    alert_id: int | None = None,
    minutes: int | None = 60,
    until: str | None = None,
    site: str | None = None,
) -> tuple[str, dict[str, Any]]:
    return (
        "snooze_alert",
        {"site": site, "alert_id": alert_id, "minutes": minutes, "until": until},
    )


def silence(
    category: str | None = None,
    *,
    rule: str | None = None,
    severity: str | None = None,
    hours: float = 24,
    preview: bool = False,
    site: str | None = None,
) -> tuple[str, dict[str, Any]]:
    args = {"category": category, "rule": rule, "severity": severity, "hours": hours}
    return ("silence_alerts", {"site": site, **args, "preview": preview})


def silences(site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("list_silences", {"site": site})


def unsilence(silence_id: int | None = None, site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("remove_silence", {"site": site, "silence_id": silence_id})


def prefs(
    critical_only: bool | None = None,
    quiet_hours: list[str] | None = None,
    clear: bool = False,
    site: str | None = None,
) -> tuple[str, dict[str, Any]]:
    args = {"critical_only": critical_only, "quiet_hours": quiet_hours, "clear": clear}
    return ("set_alert_preferences", {"site": site, **args})


def floor(pct: float, site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("set_preferences", {"site": site, "min_soc_pct": pct})


def units(
    power: str | None = None, temp: str | None = None, site: str | None = None
) -> tuple[str, dict[str, Any]]:
    return ("set_preferences", {"site": site, "power_unit": power, "temperature_unit": temp})


def report(period: str, focus: str = "all", site: str | None = None) -> tuple[str, dict[str, Any]]:
    return ("energy_report", {"site": site, "period": period, "focus": focus})


def kb(text: str, site: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    return [("search_knowledge", {"site": site, "query": text})]


KNOWLEDGE_CASES: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    (text, kb(text, site))
    for text, site in (
        ("what does the stuck value alert mean?", None),
        ("What do inverter fault codes mean", None),
        ("what is the meaning of the consumption anomaly alert", None),
        ("how do I set up a Victron ESS?", None),
        ("how do i configure the SolArk battery low capacity", None),
        ("How can we connect a Shelly relay to a miner", None),
        ("how to install the modbus gateway", None),
        ("what's the procedure for a grid outage at the barn?", "barn"),
        ("is there a runbook for the generator service?", None),
        ("according to the manual, what is the SOC floor for LiFePO4?", None),
        ("what should I do when the fuel tank low alert fires?", None),
        ("what to do if the grid goes down", None),
        ("explain the battery low alert", None),
        ("what's the recommended SOC floor?", None),
        ("which register holds the grid charge setting", None),
        ("steps to refuel the generator", None),
        ("how should we store diesel?", None),
        ("checklist for generator maintenance at north field", "north field"),
        ("how do I troubleshoot a device offline alert", None),
        ("what do we do about the solar under-performance warning?", None),
    )
]

CASES: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    (
        "make U024BE7LH an operator",
        [("set_role", {"site": None, "user_id": "U024BE7LH", "role": "operator"})],
    ),
    ("set olga to viewer", [("set_role", {"site": None, "user_id": "olga", "role": "viewer"})]),
    ("make sam a manager", [("set_role", {"site": None, "user_id": "sam", "role": "manager"})]),
    ("who is U024BE7LH?", [("who_is", {"site": None, "user_id": "U024BE7LH"})]),
    ("what role does olga have?", [("who_is", {"site": None, "user_id": "olga"})]),
    ("pending approvals?", [("pending_approvals", {"site": None})]),
    (
        "approve 8c41fea3",
        [("decide_action", {"site": None, "action_id": "8c41fea3", "approve": True})],
    ),
    ("reject 8C41", [("decide_action", {"site": None, "action_id": "8c41", "approve": False})]),
    (
        "promote <@80351110224678912> to admin",
        [("set_role", {"site": None, "user_id": "80351110224678912", "role": "admin"})],
    ),
    # site status
    ("how is the site", [status()]),
    ("status", [status()]),
    ("What's going on?", [status()]),
    ("overview please", [status()]),
    ("everything ok?", [status()]),
    ("how are things", [status()]),
    ("all good?", [status()]),
    ("sitrep", [status()]),
    ("statsu", [status()]),
    ("status of the barn site", [status("barn")]),
    ("barn?", [status("barn")]),
    ("hey bot, how's home?", [status("home")]),
    ("status at north feild", [status("north field")]),
    ("how much power are we using", [status()]),
    # battery
    ("how's the battery", [battery()]),
    ("How's the BATTERY doing at the Barn???", [battery("barn")]),
    ("battery level", [battery()]),
    ("charge level", [battery()]),
    ("SOC", [battery()]),
    ("what's the soc at hme", [battery("home")]),
    ("state of charge", [battery()]),
    ("how full is the bank", [battery()]),
    ("is the battery charging", [battery()]),
    ("how's the batery", [battery()]),
    ("batterry %", [battery()]),
    ("how much juice is left", [battery()]),
    ("will the battery last the night?", [("battery_outlook", {"site": None})]),
    ("will the battery charge this week?", [("week_outlook", {"site": None})]),
    ("do I need the generator this week?", [("week_outlook", {"site": None})]),
    ("week ahead at barn", [("week_outlook", {"site": "barn"})]),
    ("load tomorrow?", [("load_forecast", {"site": None, "day": "tomorrow"})]),
    ("expected consumption today", [("load_forecast", {"site": None, "day": "today"})]),
    ("when will the battery run out?", [("battery_outlook", {"site": None})]),
    ("Should I charge from the grid tonight?", [("grid_charge_advice", {"site": None})]),
    ("grid charge tonight? tomorrow is cloudy", [("grid_charge_advice", {"site": None})]),
    ("will tomorrow's sun carry the miners all day?", [("miner_plan", {"site": None})]),
    ("plan the miners at the barn", [("miner_plan", {"site": "barn"})]),
    (
        "how much diesel will we burn this month?",
        [("fuel_outlook", {"site": None, "focus": "month"})],
    ),
    ("how many days of diesel left?", [("fuel_outlook", {"site": None, "focus": "days_left"})]),
    ("when do I need to order fuel", [("fuel_outlook", {"site": None, "focus": "order"})]),
    ("what's our L/kWh at the barn", [("fuel_outlook", {"site": "barn", "focus": "rate"})]),
    ("how many hours until the generator service", [("generator_service", {"site": None})]),
    ("when is the genset due for an oil change?", [("generator_service", {"site": None})]),
    ("genny run hours at the barn", [("generator_service", {"site": "barn"})]),
    ("how accurate was yesterday's forecast?", [("solar_scorecard", {"site": None})]),
    ("solar scorecard", [("solar_scorecard", {"site": None})]),
    # reports on past periods
    ("weekly report", [report("last_week")]),
    ("daily digest", [report("yesterday")]),
    ("monthly report for the barn", [report("last_month", site="barn")]),
    ("how much did we spend on diesel last month", [report("last_month", "cost")]),
    ("carbon this month", [report("this_month", "carbon")]),
    ("what were our CO2 emissions last week?", [report("last_week", "carbon")]),
    ("fuel efficiency trend", [report("last_month", "fuel")]),
    ("generator L/kWh this month", [report("this_month", "fuel")]),
    ("cost per kWh generator vs grid", [report("last_month", "cost")]),
    ("miner uptime last week", [report("last_week", "miners")]),
    ("peak demand yesterday", [report("yesterday", "peak")]),
    ("how much solar did we produce this week?", [report("this_week", "solar")]),
    ("savings this month", [report("this_month", "cost")]),
    ("energy report for yesterday", [report("yesterday")]),
    # generator run plan
    ("when should I run the generator tomorrow", [gen_plan()]),
    ("genset plan", [gen_plan()]),
    ("how long to run the gen tonight", [gen_plan()]),
    ("generator schedule for the barn", [gen_plan("barn")]),
    ("plan the generator at north field", [gen_plan("north field")]),
    ("what time should we start the genny?", [gen_plan()]),
    ("how many hours should the generator run tonight?", [gen_plan()]),
    ("do we need to run the genset tomorrow?", [gen_plan()]),
    ("best time to run the generator at home", [gen_plan("home")]),
    ("when should the generator run", [gen_plan()]),
    ("how long will the generater need to run", [gen_plan()]),
    # solar now
    ("solar right now", [solar()]),
    ("how much sun are we getting", [solar()]),
    ("pv output", [solar()]),
    ("panels producing?", [solar()]),
    ("solr", [solar()]),
    ("what are the pannels doing", [solar()]),
    ("how many watts from the panels at barn", [solar("barn")]),
    ("what are we producing", [solar()]),
    # solar forecast
    ("solar tomorrow", [forecast("tomorrow")]),
    ("will tomorrow be sunny", [forecast("tomorrow")]),
    ("expected solar today", [forecast("today")]),
    ("how much will the panels make tomorrow", [forecast("tomorrow")]),
    ("forecast", [forecast("today")]),
    ("solar tonight", [forecast("today")]),
    ("solar forcast for tomorow", [forecast("tomorrow")]),
    ("tomorrow's forecast at north field", [forecast("tomorrow", "north field")]),
    ("is it going to be cloudy tomorrow", [forecast("tomorrow")]),
    ("what will the pv do later", [forecast("today")]),
    # alerts
    ("any alerts?", [alerts()]),
    ("alarms", [alerts()]),
    ("what's wrong", [alerts()]),
    ("warnings at barn", [alerts("barn")]),
    ("any problems", [alerts()]),
    ("any alrets", [alerts()]),
    ("faults?", [alerts()]),
    # stop miners
    ("stop the miners", [stop_miners()]),
    ("turn off mining", [stop_miners()]),
    ("shut down the rigs", [stop_miners()]),
    ("kill the minners", [stop_miners()]),
    ("pause mining", [stop_miners()]),
    ("miners off", [stop_miners()]),
    ("shut the mining machines off", [stop_miners()]),
    ("stop miner-2", [stop_miners(["miner-2"])]),
    ("turn off miner 2", [stop_miners(["miner-2"])]),
    ("please turn miner2 off", [stop_miners(["miner-2"])]),
    ("kill minr 3", [stop_miners(["miner-3"])]),
    ("stop miner 1 and 2", [stop_miners(["miner-1", "miner-2"])]),
    ("stop miner-1 and miner-3 at barn", [stop_miners(["miner-1", "miner-3"], "barn")]),
    ("turn off the pump", [stop_miners(["pump"])]),
    ("can you stop the miners?", [stop_miners()]),
    ("let's stop the miners at home", [stop_miners(site="home")]),
    # start miners
    ("start the miners", [start_miners()]),
    ("turn miners back on", [start_miners()]),
    ("resume mining", [start_miners()]),
    ("switch on miner-1", [start_miners(["miner-1"])]),
    ("bring the rigs back online", [start_miners()]),
    ("miners on", [start_miners()]),
    ("restart the asics", [start_miners()]),
    ("could you please start miner 2 and 3", [start_miners(["miner-2", "miner-3"])]),
    # grid charge
    ("charge from the grid", [grid(True)]),
    ("grid charge on", [grid(True)]),
    ("start grid charging", [grid(True)]),
    ("stop grid charging", [grid(False)]),
    ("disable grid charge", [grid(False)]),
    ("grid charging off", [grid(False)]),
    ("enable grid chrging at barn", [grid(True, "barn")]),
    ("don't charge from the grid", [grid(False)]),
    ("turn grid charging on", [grid(True)]),
    # generator
    ("start the generator", [start_gen()]),
    ("run the genset", [start_gen()]),
    ("fire up the gen", [start_gen()]),
    ("start the genrator at barn", [start_gen("barn")]),
    ("stop the generator", [stop_gen()]),
    ("shut off the generator", [stop_gen()]),
    ("kill the genny", [stop_gen()]),
    ("generator off", [stop_gen()]),
    # help
    ("help", [helps()]),
    ("what can you do?", [helps()]),
    ("commands", [helps()]),
    ("?", [helps()]),
    ("hellp", [helps()]),
    # acknowledge alerts
    ("ack", [ack()]),
    ("acknowledge the alert", [ack()]),
    ("ack alert 12", [ack(12)]),
    ("I've seen it", [ack()]),
    ("i have seen it", [ack()]),
    ("got it, acknowledge", [ack()]),
    ("ack all", [ack()]),
    ("ack #12", [ack(12)]),
    ("acknowlege alert 5 at barn", [ack(5, "barn")]),
    ("acknoweldge #8", [ack(8)]),
    ("please acknowledge all alerts at home", [ack(site="home")]),
    ("ack 12 and 13", [ack(12), ack(13)]),
    # snooze an alert
    ("snooze", [snooze()]),
    ("snooze for 1 hour", [snooze(minutes=60)]),
    ("snooze alert 7 for 30 min", [snooze(7, 30)]),
    ("snooze until tomorrow", [snooze(minutes=None, until="tomorrow")]),
    ("snooze alert 9 till tomorrow", [snooze(9, None, "tomorrow")]),
    ("mute this for 2h", [snooze(minutes=120)]),
    ("snoze alert #4 for 45 minutes", [snooze(4, 45)]),
    ("snooze #3 for 90m", [snooze(3, 90)]),
    ("snoooze 20 mins", [snooze(minutes=20)]),
    ("snooze for half an hour", [snooze(minutes=30)]),
    ("snooze for 1.5 hours", [snooze(minutes=90)]),
    ("snooze it for 2 days", [snooze(minutes=2880)]),
    ("can you snooze alert 7", [snooze(7)]),
    ("mute", [snooze()]),
    ("snooze alert 7 and 8 for 30 min", [snooze(7, 30), snooze(8, 30)]),
    # silence alerts
    ("silence solar alerts at the barn site for 2 days", [silence("solar", hours=48, site="barn")]),
    ("mute all battery warnings for 6 hours", [silence("battery", severity="warning", hours=6)]),
    ("silence the barn site for a day", [silence(site="barn")]),
    ("silence offline alerts", [silence(rule="device_offline")]),
    (
        "silence the under-performance alerts for 3 hours",
        [silence(rule="solar_underperformance", hours=3)],
    ),
    ("silence fuel alerts until tomorrow", [silence("generator")]),
    ("silense the grid alerts for 1 day", [silence("grid")]),
    ("mute the inverter warnings for 12 h", [silence("inverter", severity="warning", hours=12)]),
    ("silence cost alerts for a week", [silence("cost", hours=168)]),
    ("silence critical alerts for 90 minutes", [silence(severity="critical", hours=1.5)]),
    ("mute alerts at home for 3 hrs", [silence(site="home", hours=3)]),
    (
        "silence all device alerts at north field for 2 days",
        [silence("device", hours=48, site="north field")],
    ),
    ("snooze the solar alerts for 2 hours", [silence("solar", hours=2)]),
    ("turn off the battery alerts for 2 hours", [silence("battery", hours=2)]),
    ("disable notifications", [silence()]),
    (
        "silence battery and solar alerts for 2 days",
        [silence("battery", hours=48), silence("solar", hours=48)],
    ),
    ("what would silencing the solar alerts match?", [silence("solar", preview=True)]),
    ("preview a silence of battery alerts", [silence("battery", preview=True)]),
    (
        "dry run: silence generator alerts for 2 days",
        [silence("generator", hours=48, preview=True)],
    ),
    # silences: list and remove
    ("list silences", [silences()]),
    ("what is silenced", [silences()]),
    ("show mutes", [silences()]),
    ("any silences?", [silences()]),
    ("what's muted at barn?", [silences("barn")]),
    ("remove silence 3", [unsilence(3)]),
    ("unsilence 3", [unsilence(3)]),
    ("delete silence #2", [unsilence(2)]),
    ("end the silence", [unsilence()]),
    ("cancel silnce 4", [unsilence(4)]),
    ("unmute everything", [unsilence()]),
    # alert preferences
    ("only alert me for critical", [prefs(critical_only=True)]),
    ("critical alerts only", [prefs(critical_only=True)]),
    ("just critical ones please", [prefs(critical_only=True)]),
    ("all alerts again", [prefs(critical_only=False)]),
    ("not only critical anymore", [prefs(critical_only=False)]),
    ("quiet hours 22:00-07:00", [prefs(quiet_hours=["22:00", "07:00"])]),
    ("quiet hours from 10pm to 7am", [prefs(quiet_hours=["22:00", "07:00"])]),
    ("quiet hours between 11pm and 6:30am", [prefs(quiet_hours=["23:00", "06:30"])]),
    ("quite hours 22-7", [prefs(quiet_hours=["22:00", "07:00"])]),
    ("do not disturb from 23:00 to 06:00", [prefs(quiet_hours=["23:00", "06:00"])]),
    ("no quiet hours", [prefs(clear=True)]),
    ("turn off quiet hours", [prefs(clear=True)]),
    # standing preferences: battery floor and units
    ("keep the battery above 45 %", [floor(45)]),
    ("Keep battery above 45%", [floor(45)]),
    ("please keep the battery above 50 percent from now on", [floor(50)]),
    ("don't let the battery go below 40%", [floor(40)]),
    ("never let the battery drop below 35 %", [floor(35)]),
    ("set the minimum soc to 30%", [floor(30)]),
    ("set battery floor to 40 % at barn", [floor(40, "barn")]),
    ("raise the reserve to 55%", [floor(55)]),
    ("keep the battery above 2%", [floor(2)]),
    ("I prefer kW and °F", [units("kW", "F")]),
    ("show temperatures in fahrenheit", [units(temp="F")]),
    ("use watts please", [units("W")]),
    ("units: W and C", [units("W", "C")]),
    ("i prefer degrees f", [units(temp="F")]),
    ("use celsius", [units(temp="C")]),
    ("show me the battery in kw", [battery()]),
    ("will the battery stay above 45% tonight?", [("battery_outlook", {"site": None})]),
    # combined questions, in the order asked
    ("battery and solar?", [battery(), solar()]),
    ("solar and battery", [solar(), battery()]),
    ("battery, solar & alerts", [battery(), solar(), alerts()]),
    ("battery plus solar forecast", [battery(), forecast("today")]),
    ("solar now and tomorrow", [solar(), forecast("tomorrow")]),
    ("battery at barn and home", [battery("barn"), battery("home")]),
    ("stop the miners and start the generator", [stop_miners(), start_gen()]),
    ("stop the miners and the generator", [stop_miners(), stop_gen()]),
    ("how's the battery and stop the miners", [battery(), stop_miners()]),
    ("any alerts? also how is the barn", [alerts("barn"), status("barn")]),
    ("battery and battery", [battery()]),
    ("solar today, what about tomorrow?", [forecast("today"), forecast("tomorrow")]),
    ("battery at barn, how about home", [battery("barn"), battery("home")]),
    ("ack alert 12 and how is the battery", [ack(12), battery()]),
    ("stop the miners and ack all", [stop_miners(), ack()]),
    ("any alerts? snooze alert 3 for 2 hours", [alerts(), snooze(3, 120)]),
    (
        "critical only, quiet hours 22:00-07:00",  # one change with both settings
        [prefs(True, quiet_hours=["22:00", "07:00"])],
    ),
    # questions are not commands
    ("are the miners on?", [status()]),
    ("should I stop the miners?", [("miner_plan", {"site": None})]),  # the plan answers it
    ("should i start the generator", [gen_plan()]),
    ("is the generator running?", [status()]),
    ("did the miners stop?", [("timeline", {"site": None, "window": None, "full": False})]),
    ("can I turn off the miners", [status()]),
    ("is it safe to stop miner-2", [status()]),
    ("we should stop the miners", [status()]),
    ("is grid charging on?", [status()]),
    ("do i need to run the genset tonight", [gen_plan()]),  # a plan question, not a command
    ("how long has the generator been running?", [status()]),
    ("miners on?", [status()]),
    ("don't stop the miners", []),  # nothing asked: the reply says nothing was done
    ("should I snooze?", [alerts()]),
    ("should I silence the solar alerts?", [alerts()]),
    ("can I mute alert 7", [alerts()]),
    ("is alert 12 acknowledged?", [alerts()]),
    ("don't snooze it", [alerts()]),
    ("is the battery quite low", [battery()]),
    # alert rules set in chat
    (
        "alert me if voltage < 12 V",
        [
            (
                "set_alert_rule",
                {
                    "site": None,
                    "metric": "voltage",
                    "comparator": "<",
                    "value": 12.0,
                    "unit": "V",
                    "hold_minutes": None,
                    "severity": "warning",
                },
            )
        ],
    ),
    ("what alert rules do I have", [("list_alert_rules", {"site": None})]),
    ("delete rule 3", [("remove_alert_rule", {"site": None, "rule_id": 3})]),
    # nothing understood
    ("what's the weather", []),
    ("tell me a joke", []),
    ("tell me something funny", []),
    ("how are you", []),
    ("good morning", []),
    ("thanks!", []),
    ("what time is it", []),
    ("play some music", []),
    ("stop", []),
    ("turn it off", []),
    ("", []),
    # comparisons: periods, sites side by side, the month's projected bill
    (
        "this month vs last",
        [("compare_periods", {"site": None, "first": "this_month", "second": "last_month"})],
    ),
    (
        "summer vs winter at barn",
        [("compare_periods", {"site": "barn", "first": "summer", "second": "winter"})],
    ),
    (
        "is consumption up on last week?",
        [("compare_periods", {"site": None, "first": "this_week", "second": "last_week"})],
    ),
    (
        "compare home and barn",
        [("compare_sites", {"site": None, "sites": ["home", "barn"], "rank_by": "status"})],
    ),
    (
        "which site has the most solar today?",
        [("compare_sites", {"site": None, "sites": None, "rank_by": "solar_today"})],
    ),
    ("what will this month cost?", [("cost_projection", {"site": None})]),
    ("are we on track for the energy budget at home", [("cost_projection", {"site": "home"})]),
    # how-to, procedures and alert meanings: the knowledge base
    *KNOWLEDGE_CASES,
    # what happened, what was unusual, the INA228's readings
    (
        "what happened overnight at the barn?",
        [("timeline", {"site": "barn", "window": "overnight", "full": False})],
    ),
    (
        "full timeline since 6am",
        [("timeline", {"site": None, "window": "since 06:00", "full": True})],
    ),
    ("anything weird in the numbers this week?", [("anomalies", {"site": None})]),
    ("ina228 current?", [("panel_readings", {"site": None, "quantity": "current"})]),
]


def _as_pairs(intents: list[Intent]) -> list[tuple[str, dict[str, Any]]]:
    return [(intent.tool, intent.args) for intent in intents]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_route(text: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert _as_pairs(route(text, site_names=SITES, load_names=LOADS)) == expected


def test_enough_cases_and_every_tool_covered() -> None:
    assert len(CASES) >= 180
    covered = {tool for _, expected in CASES for tool, _ in expected}
    assert covered == {*TOOL_NAMES, "help"}


def test_every_intent_has_a_known_tool_and_site() -> None:
    for text, _ in CASES:
        for intent in route(text, site_names=SITES, load_names=LOADS):
            assert intent.tool in (*TOOL_NAMES, "help")
            assert "site" in intent.args


def test_no_site_names_means_site_none() -> None:
    assert _as_pairs(route("battery at barn")) == [battery()]
    # With no load names known, a named machine is kept as said (the action
    # checks it against the site's loads) rather than widened to every miner.
    assert _as_pairs(route("stop miner-2")) == [stop_miners(["miner-2"])]


def test_site_names_are_whole_words() -> None:
    # "homes" is one typo away from "home", but "homework" is not the site.
    assert _as_pairs(route("battery at homes", site_names=SITES)) == [battery("home")]
    assert _as_pairs(route("battery homework", site_names=SITES)) == [battery()]


def test_short_site_names_need_exact_match() -> None:
    assert _as_pairs(route("battery at lab", site_names=["lab"])) == [battery("lab")]
    assert _as_pairs(route("battery at lap", site_names=["lab"])) == [battery()]


def test_intent_is_frozen() -> None:
    intent = Intent("site_status", {"site": None})
    with pytest.raises(AttributeError):
        intent.tool = "help"  # type: ignore[misc]


def test_tool_names() -> None:
    # The planner routes to the agent's tools, each named once, and to every one of them.
    assert len(set(TOOL_NAMES)) == len(TOOL_NAMES)
    assert set(TOOL_NAMES) == {spec.name for spec in TOOL_SPECS}


def test_help_text_mentions_every_capability() -> None:
    text = help_text().lower()
    for words in (
        ("status", "overview"),
        ("battery", "soc"),
        ("solar", "right now"),
        ("forecast", "tomorrow"),
        ("alert",),
        ("stop", "miner"),
        ("start", "miner"),
        ("grid charg",),
        ("generator",),
        ("acknowledge", "snooze", "silence", "quiet hours", "critical"),
    ):
        for word in words:
            assert word in text, word


def test_help_text_examples_are_understood() -> None:
    examples = [line.strip().strip('"') for line in help_text().splitlines() if '"' in line]
    assert 5 <= len(examples) <= 8
    tools: set[str] = set()
    for example in examples:
        intents = route(example, load_names=LOADS)
        assert intents, example
        tools.update(intent.tool for intent in intents)
    assert len(tools) >= 7


ALERT_TOOLS = {
    "acknowledge_alert",
    "snooze_alert",
    "silence_alerts",
    "list_silences",
    "remove_silence",
    "set_alert_preferences",
}


def test_enough_alert_housekeeping_cases() -> None:
    alert_cases = [text for text, expected in CASES if {t for t, _ in expected} & ALERT_TOOLS]
    assert len(alert_cases) >= 40


def test_enough_knowledge_cases() -> None:
    assert len(KNOWLEDGE_CASES) >= 15


def test_silence_hours_is_a_float() -> None:
    [intent] = route("silence solar alerts for 2 days")
    assert intent.args["hours"] == 48.0
    assert isinstance(intent.args["hours"], float)


def test_snooze_durations() -> None:
    for text, minutes in (
        ("snooze 45 min", 45),
        ("snooze 45 minutes", 45),
        ("snooze 2 h", 120),
        ("snooze 2 hours", 120),
        ("snooze 1 day", 1440),
        ("snooze 2 days", 2880),
        ("snooze for a couple of hours", 120),
    ):
        [intent] = route(text)
        assert intent.args["minutes"] == minutes, text


def test_silence_durations() -> None:
    for text, hours in (
        ("silence solar alerts for 30 min", 0.5),
        ("silence solar alerts for 3 h", 3),
        ("silence solar alerts for 3 hours", 3),
        ("silence solar alerts for 1 day", 24),
        ("silence solar alerts for 2 days", 48),
        ("silence solar alerts until tomorrow", 24),
        ("silence solar alerts", 24),
    ):
        [intent] = route(text)
        assert intent.args["hours"] == hours, text
