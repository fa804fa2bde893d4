"""The week ahead (``week_outlook``) and expected consumption (``load_forecast``).

Voices: a home-lab owner (miners, a rack, a powerwall), a factory manager (shifts,
the plant, kWh and demand), a small power-station owner (a PS100 and one panel on a
van or a balcony) and an installer with several sites. ``battery_outlook`` stays the
48-hour question ("will the battery last the night?"); a week, or the next few days,
is ``week_outlook``.
"""

from __future__ import annotations

SYN: dict[str, tuple[str, ...]] = {
    "wk": (
        "this week",
        "this week",
        "the coming week",
        "the next few days",
        "the next 7 days",
        "the next seven days",
        "the rest of the week",
        "over the week",
        "next week",
        "the week ahead",
        "in the coming days",
        "for the next several days",
        "thru the week",
    ),
    "consumption": (
        "load",
        "consumption",
        "usage",
        "power use",
        "energy use",
        "demand",
        "power consumption",
        "energy consumption",
        "electricity use",
        "draw",
        "kwh use",
    ),
    "dayword": (
        "tomorrow",
        "tomorrow",
        "tmrw",
        "2moro",
        "today",
        "today",
        "for today",
        "for tomorrow",
        "tomorow",
    ),
    "who": ("we", "i", "the house", "the plant", "the factory", "the site", "the lab", "the shop"),
    "wk7": ("7-day", "7 day", "seven-day", "seven day", "week-long", "7d"),
    "until": (
        "monday",
        "next monday",
        "the weekend",
        "friday",
        "sunday",
        "next week",
        "the end of the week",
    ),
    "ps": ("ps100", "power station", "little power station", "the ps100", "my ps100"),
}

TEMPLATES: dict[str, tuple[str, ...]] = {
    "week_outlook": (
        # the people who ask it in the issue
        "{pre}will the {batt} charge {wk}{post}",
        "{pre}do i need the {gen} {wk}{post}",
        "{pre}how's {solar} looking for {wk}{post}",
        "{pre}week ahead{at}{post}",
        "{pre}week ahead outlook{post}",
        "{pre}7 day forecast{at}{post}",
        "{pre}seven day outlook{at}{post}",
        "{pre}weekly outlook{at}{post}",
        "{pre}solar and {batt} outlook for {wk}{post}",
        "{pre}what does {wk} look like{at}{post}",
        "{pre}how does {wk} look for {solar}{post}",
        "{pre}will the {batt} fill up {wk}{post}",
        "{pre}will the {batt} get full any day {wk}{post}",
        "{pre}is the {batt} going to get charged {wk}{post}",
        "{pre}enough sun {wk} to fill the {batt}{post}",
        "{pre}will we need to run the {gen} {wk}{post}",
        "{pre}how many hours of {gen} {wk}{post}",
        "{pre}how much will the {gen} run {wk}{post}",
        "{pre}is {wk} going to be sunny{post}",
        "{pre}any cloudy days {wk}{post}",
        "{pre}which days {wk} look bad for {solar}{post}",
        "{pre}bad solar days coming up{at}{post}",
        "{pre}forecast for {wk}{at}{post}",
        "{pre}{solar} forecast for {wk}{post}",
        "{pre}{batt} forecast for {wk}{post}",
        "{pre}lowest {batt} level {wk}{post}",
        "{pre}will the {batt} hit the floor {wk}{post}",
        "{pre}{wk7} outlook{at}{post}",
        "{pre}{wk7} picture{at}{post}",
        "{pre}give me the {wk7} view{at}{post}",
        "{pre}{wk7} solar and {batt} forecast{post}",
        "{pre}will we need the {gen} at all before {until}{post}",
        "{pre}any {gen} runs expected before {until}{post}",
        "{pre}is the {batt} ok until {until}{post}",
        "{pre}will {solar} keep up until {until}{post}",
        "{pre}day by day forecast until {until}{post}",
        # home lab
        "{pre}can the {miners} run on sun {wk} or will the {batt} tank{post}",
        "{pre}is my rack going to be on {batt} or grid {wk}{post}",
        "{pre}powerwall outlook for {wk}{post}",
        # factory manager
        "{pre}energy outlook for the plant {wk}{post}",
        "{pre}give me the week ahead for production planning{post}",
        "{pre}do we need diesel backup on any shift {wk}{post}",
        "{pre}solar vs load day by day for {wk}{post}",
        "{pre}daily outlook for {wk}, solar, storage and genset{post}",
        # small power station owner
        "{pre}will my {ps} charge {wk}{post}",
        "{pre}is there enough sun for my {ps} {wk}{post}",
        "{pre}will the panel keep the {ps} topped up {wk}{post}",
        "{pre}can i stay off the grid with the {ps} {wk}{post}",
        # installer with several sites
        "{pre}week outlook for {site}{post}",
        "{pre}how's {wk} looking at {site}{post}",
        "{pre}does {site} need the {gen} {wk}{post}",
        "{pre}will {site} charge {wk}{post}",
        "{pre}next few days at {site}{post}",
    ),
    "load_forecast": (
        "{pre}{consumption} {dayword}{post}",
        "{pre}{consumption} forecast{at}{post}",
        "{pre}{consumption} forecast for {dayword}{post}",
        "{pre}expected {consumption} {dayword}{post}",
        "{pre}predicted {consumption} {dayword}{post}",
        "{pre}projected {consumption} for {dayword}{post}",
        "{pre}estimated {consumption} {dayword}{post}",
        "{pre}how much power will {who} use {dayword}{post}",
        "{pre}how much energy will {who} use {dayword}{post}",
        "{pre}how much electricity will {who} consume {dayword}{post}",
        "{pre}how many kwh will {who} use {dayword}{post}",
        "{pre}how many kwh will {who} need {dayword}{post}",
        "{pre}what will the {consumption} be {dayword}{post}",
        "{pre}what's the {consumption} going to be {dayword}{post}",
        "{pre}what {consumption} should i expect {dayword}{post}",
        "{pre}what do you expect for {consumption} {dayword}{post}",
        "{pre}how big will the {consumption} be {dayword}{post}",
        "{pre}when is the peak {consumption} {dayword}{post}",
        "{pre}what time will {consumption} peak {dayword}{post}",
        "{pre}peak demand forecast for {dayword}{post}",
        "{pre}how much will {who} pull {dayword}{post}",
        "{pre}how much are we going to consume {dayword}{post}",
        "{pre}{consumption} outlook for {dayword}{post}",
        "{pre}{consumption} prediction{at}{post}",
        "{pre}predicted kwh {consumption} for {dayword}{post}",
        "{pre}kwh {consumption} {dayword}{post}",
        "{pre}{consumption} estimate for {dayword}{post}",
        "{pre}how much juice will {who} need {dayword}{post}",
        "{pre}guess the {consumption} {dayword}{post}",
        # home lab
        "{pre}how much will the rack and {miners} draw {dayword}{post}",
        "{pre}kwh the house will burn through {dayword}{post}",
        # factory manager
        "{pre}expected plant {consumption} for {dayword}'s shifts{post}",
        "{pre}how many kwh will the factory need {dayword}{post}",
        "{pre}what demand should we plan for {dayword}{post}",
        # small power station owner
        "{pre}how much will i drain from my {ps} {dayword}{post}",
        "{pre}how much power will my stuff use {dayword}{post}",
        # installer
        "{pre}{consumption} forecast for {site} {dayword}{post}",
        "{pre}what will {site} use {dayword}{post}",
        "{pre}expected {consumption} at {site} {dayword}{post}",
    ),
}

RETIRED: frozenset[str] = frozenset(
    {
        # the week is the week outlook's, no longer the 48 h battery outlook's
        "{pre}will the {batt} charge this week{post}",
        # load forecasts are answered now
        "{pre}what's the load forecast for {tomorrow}{post}",
        "{pre}how much will we consume {tomorrow}{post}",
        "{pre}predicted load {tomorrow}{post}",
    }
)

HAND: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("will the battery charge this week?", ("week_outlook",)),
    ("do I need the generator this week?", ("week_outlook",)),
    ("how's solar looking for the next few days", ("week_outlook",)),
    ("week ahead", ("week_outlook",)),
    ("we've got a run of grey days coming, will the bank cope this week?", ("week_outlook",)),
    (
        "planning maintenance on the line: what's the energy picture for the week?",
        ("week_outlook",),
    ),
    ("camping all week with the ps100, will the panel keep up?", ("week_outlook",)),
    ("load tomorrow?", ("load_forecast",)),
    ("how much power will we use tomorrow", ("load_forecast",)),
    ("expected consumption today", ("load_forecast",)),
    ("what's the plant going to draw tomorrow, roughly?", ("load_forecast",)),
    ("rough guess of the house's kwh tomorrow", ("load_forecast",)),
)
