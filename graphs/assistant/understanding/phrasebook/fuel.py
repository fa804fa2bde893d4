"""Generator service and diesel phrasings: hours until the service, days of diesel left,
when to order fuel, and the L/kWh the generator burns.

Voices: an off-grid home owner ("genny", "how long till the oil change"), a farm or
factory manager ("genset", "when do we have to reorder diesel"), an installer with
several sites ("hour meter", "service interval"), and short chat ("gen svc?").
"""

from __future__ import annotations

SYN: dict[str, tuple[str, ...]] = {
    "svc": (
        "service",
        "oil change",
        "maintenance",
        "servicing",
        "oil service",
        "next service",
        "scheduled maintenance",
        "250 h service",
        "svc",
    ),
    "diesel": ("diesel", "fuel", "gasoil", "red diesel", "the diesel", "fuel"),
}

TEMPLATES: dict[str, tuple[str, ...]] = {
    "generator_service": (
        "{pre}how many hours until the {gen} {svc}{post}",
        "{pre}hours until the {gen} {svc}{post}",
        "{pre}when is the {gen} due for an oil change{post}",
        "{pre}when is the {gen} due for its {svc}{post}",
        "{pre}when's the next {gen} {svc}{post}",
        "{pre}how long till the {gen} needs its {svc}{post}",
        "{pre}how long until the {gen} {svc}{at}{post}",
        "{pre}is the {gen} due for {svc}{post}",
        "{pre}is the {gen} overdue for its {svc}{post}",
        "{pre}{gen} {svc} due{post}",
        "{pre}{gen} hours left before {svc}{post}",
        "{pre}how many run hours are left before the {gen} {svc}{post}",
        "{pre}how many run hours on the {gen}{post}",
        "{pre}what does the {gen} hour meter say{post}",
        "{pre}{gen} run hours{at}{post}",
        "{pre}engine hours on the {gen}{post}",
        "{pre}how many hours has the {gen} done since the last {svc}{post}",
        "{pre}hours since the last {gen} {svc}{post}",
        "{pre}when do i need to change the oil in the {gen}{post}",
        "{pre}when should the {gen} get its next oil change{post}",
        "{pre}how soon is the {gen} {svc}{post}",
        "{pre}when do we have to book the {gen} {svc}{post}",
        "{pre}what date will the {gen} need its {svc}{post}",
        "{pre}is it time for the {gen} {svc}{post}",
        "{pre}how close is the {gen} to its service interval{post}",
        "{pre}{gen} service countdown{post}",
        "{pre}next {svc} for the {gen}{at}{post}",
        "{pre}when is the next oil change due{at}{post}",
        "{pre}how many hours before the {gen} needs oil{post}",
        "{pre}has the {gen} passed its service hours{post}",
        "{pre}how far are we from the next {gen} {svc}{post}",
        "{pre}{gen} maintenance due date{post}",
        "{pre}genset service status{at}{post}",
        "{pre}how many hours left on the {gen} before it needs servicing{post}",
        "{pre}when will the {gen} hit its service interval{post}",
    ),
    "fuel_outlook": (
        "{pre}what's the {diesel} situation{at}{post}",
        "{pre}{diesel} status{at}{post}",
        "{pre}how's the {diesel} position{post}",
        "{pre}where are we on {diesel}{post}",
        "{pre}{diesel} situation please{post}",
        "{pre}how many days of {diesel} left{at}{post}",
        "{pre}how many days of {diesel} do we have{post}",
        "{pre}days of {diesel} left in the tank{post}",
        "{pre}how long will the {diesel} in the tank last{post}",
        "{pre}when do i need to order {diesel}{post}",
        "{pre}when should i reorder {diesel}{at}{post}",
        "{pre}when do we have to order more {diesel}{post}",
        "{pre}by when should i book a {diesel} delivery{post}",
        "{pre}what's our l/kwh{post}",
        "{pre}what is the {gen}'s l/kwh{post}",
        "{pre}how many litres per kwh does the {gen} burn{post}",
        "{pre}litres per kwh of the {gen}{post}",
        "{pre}how efficient is the {gen} on {diesel}{post}",
        "{pre}what does the {gen} really burn per kwh{post}",
        "{pre}{gen} fuel consumption per kwh{post}",
        "{pre}measured l/kwh for the {gen}{post}",
        "{pre}how thirsty is the {gen}{post}",
        "{pre}how much {diesel} is left and how long will it last{post}",
        "{pre}when will the tank be empty{post}",
        "{pre}when does the {diesel} run out{at}{post}",
    ),
}

# Generator readings the bot has no data for (replacing the retired service templates
# in the "unsupported" label, which now belong to generator_service).
TEMPLATES["unsupported"] = (
    "{pre}what's the coolant temperature of the {gen}{post}",
    "{pre}what's the oil pressure on the {gen}{post}",
    "{pre}how hot is the {gen} exhaust{post}",
    "{pre}what's the rpm of the {gen}{post}",
)

HAND: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("how many hours until the generator service", ("generator_service",)),
    ("when is the genset due for an oil change", ("generator_service",)),
    ("gen svc due?", ("generator_service",)),
    ("hour meter on the genny?", ("generator_service",)),
    ("do we need to book the service tech for the generator soon", ("generator_service",)),
    ("how many days of diesel left", ("fuel_outlook",)),
    ("when do I need to order fuel", ("fuel_outlook",)),
    ("what's our L/kWh", ("fuel_outlook",)),
    ("tank's getting low, when should we call the fuel truck", ("fuel_outlook",)),
    ("how long will 400 litres last us", ("fuel_outlook",)),
)

RETIRED: frozenset[str] = frozenset(
    {
        "{pre}hours until the {gen} service{post}",
        "{pre}when is the {gen} due for service{post}",
    }
)
