"""Phrasings on the boundaries between intents that grew close as tools were added:
a command said in the negative asks for nothing ("don't stop the miners"), and the
48-hour plans are not the week ahead ("generator plan for the next 2 days")."""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, ...]] = {
    "none": (
        "don't stop the {miners}",
        "do not stop the {miners}{now}",
        "don't turn off the {gen}",
        "no, don't start the {gen}",
        "never mind, don't start the {miners}",
        "leave the {miners} alone",
        "no need to stop the {miners}",
        "don't touch the {gen}",
        "please don't switch off the {miners}",
        "i don't want the {gen} started",
    ),
    "generator_plan": (
        "{pre}{gen} plan for the next 2 days{at}{post}",
        "{pre}{gen} schedule for the next 48 hours{post}",
        "{pre}when should the {gen} run in the next two days{post}",
        "{pre}{gen} runs over the next 48 h{at}{post}",
        "{pre}plan the {gen} for the next couple of days{post}",
    ),
    "battery_outlook": (
        "{pre}{batt} over the next 2 days{at}{post}",
        "{pre}{batt} for the next 48 hours{post}",
        "{pre}how will the {batt} do over the next two days{post}",
    ),
}
