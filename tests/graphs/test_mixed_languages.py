"""English mixed with Bangla (in Latin letters) or Korean: the other language's verbs,
time and question words read as plain English. Written by the team, not held-out lines."""

from __future__ import annotations

import pytest

from graphs.assistant.planner import plan
from graphs.assistant.understanding import mixed_languages

SITES = ["demo", "barn", "home"]
LOADS = ["miner-1", "miner-2", "miner-3"]


def _tools(text: str) -> list[str]:
    return [i.tool for i in plan(text, site_names=SITES, load_names=LOADS).intents]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("miner-2 bondho korun ekhon", ["stop_miners"]),
        ("genset chalu koro bhai, current nei", ["start_generator"]),
        ("battery koto ache ekhon? janan", ["battery_status"]),
        ("diesel ar koto din cholbe?", ["fuel_outlook"]),
        ("pending requests dekhan", ["pending_approvals"]),
        ("soc 25 percent er niche gele critical alert dien", ["set_alert_rule"]),
    ],
)
def test_bangla_in_latin_letters(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("miner-1 꺼줘", ["stop_miners"]),
        ("gen 켜주세요 지금", ["start_generator"]),
        ("battery 20% 밑으로 가면 알림 줘", ["set_alert_rule"]),
        ("alert rules 보여줘", ["list_alert_rules"]),
        ("내일 solar forecast 알려줘", ["solar_forecast"]),
    ],
)
def test_korean_mixed_with_english(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "kal 7 tay miners chalu korben",  # tomorrow at 7
        "gen 내일 아침 6시에 켜줘",  # tomorrow morning at 6
    ],
)
def test_a_later_time_in_either_language_makes_no_request(text: str) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert not read.intents
    assert read.reason == "unsupported"


def test_a_message_passing_news_never_turns_the_order_around() -> None:
    # "load-shedding cholche": the power cut is news; the order still starts the generator
    assert _tools("generator chalu korun, load-shedding cholche, battery kom") == [
        "start_generator"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "the barn is dark, are the miners off?",  # English with "ar"-like words stays as it was
        "din is a word in English too, and so is kal in a name",
    ],
)
def test_english_is_left_alone(text: str) -> None:
    assert mixed_languages.rewrite(text) == text


def test_a_machine_that_turns_itself_off_is_no_order() -> None:
    # "꺼질라": the guests' PCs might go off; only "꺼" (turn off) is the order
    assert mixed_languages.rewrite("miners 다 꺼 손님 PC 꺼질라").split().count("off") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("miner-3 band karo abhi", ["stop_miners"]),
        ("gen chala do bhai, bijli chali gayi", ["start_generator"]),
        ("battery kitni hai abhi?", ["battery_status"]),
        ("soc 30% se neeche jaye to alert karo", ["set_alert_rule"]),
        ("pichle hafte ki report do", ["energy_report"]),
        ("quiet hours hata do", ["set_alert_preferences"]),
    ],
)
def test_hindi_and_urdu_in_latin_letters(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tolong matikan miner-1", ["stop_miners"]),
        ("nyalakan genset sekarang, PLN mati", ["start_generator"]),
        ("besok solar forecast berapa kak?", ["solar_forecast"]),
        ("laporan energi minggu lalu ya", ["energy_report"]),
    ],
)
def test_indonesian_mixed_with_english(text: str, expected: list[str]) -> None:
    assert _tools(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "tolong nyalakan genset jam 7 pagi besok",  # at 7 tomorrow morning
        "matikan miner jam 9 malam nanti",  # at 9 tonight, later
        "genset kitne din chalega?",  # "will run": a question of days, no order
        "agle 2 din generator kab chalana hai?",  # when it should run: the plan
    ],
)
def test_no_request_from_a_later_time_or_a_future_tense(text: str) -> None:
    assert not {"start_generator", "stop_miners", "start_miners"} & set(_tools(text))


@pytest.mark.parametrize(
    ("text", "english", "expected"),
    [
        ("¿cuánta batería queda ahorita?", "how much battery left now", ["battery_status"]),
        ("dame el pronóstico solar de mañana porfa", "solar forecast", ["solar_forecast"]),
        ("¿cuántos días de diesel nos quedan?", "how many days", ["fuel_outlook"]),
        ("¿qué pasó anoche en barn?", "what happened overnight at barn", ["timeline"]),
        (
            "avisame si la bateria baja de 25%",
            "alert me if the battery drops below 25",
            ["set_alert_rule"],
        ),
        ("pospón la alerta 8 hasta mañana", "snooze the alert 8 until tomorrow", ["snooze_alert"]),
        ("c'est quoi le pourcentage de la batterie icitte?", "what is the", ["battery_status"]),
        ("combien de jours de diesel il me reste?", "how many days", ["fuel_outlook"]),
        (
            "qu'est-ce qui s'est passé cette nuit à barn?",
            "what happened overnight at barn",
            ["timeline"],
        ),
        (
            "avertis-moi si la batterie descend sous 20 %",
            "alert me if the battery drops below",
            ["set_alert_rule"],
        ),
        ("y'a-tu des alertes ouvertes?", "are there", ["active_alerts"]),
    ],
)
def test_spanish_and_french_questions_and_requests_read_as_english(
    text: str, english: str, expected: list[str]
) -> None:
    assert english in mixed_languages.rewrite(text)
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Spanish: apaga/apagar is off, prende/enciende is on, la planta is the generator
        ("apágame el minero 2 jefe", ["stop_miners"]),
        ("prende los mineros, hay sol", ["start_miners"]),
        ("enciende la planta ya", ["start_generator"]),
        ("apaga la planta porfa", ["stop_generator"]),
        # Quebec: ferme is off, part/ouvre/allume is on, la génératrice is the generator
        ("ferme les mineurs", ["stop_miners"]),
        ("ouvre les mineurs", ["start_miners"]),
        ("part la generatrice", ["start_generator"]),
        ("éteins la génératrice", ["stop_generator"]),
    ],
)
def test_spanish_and_french_orders_each_way(text: str, expected: list[str]) -> None:
    assert mixed_languages.rewrite(text) != text  # read through the table, not guessed
    assert _tools(text) == expected


@pytest.mark.parametrize(
    ("text", "enabled"),
    [
        ("activa la carga desde la red", True),
        ("desactiva la carga de la CFE", False),
        ("mets la charge sur Hydro", True),
        ("arrête de charger sur le réseau", False),
    ],
)
def test_grid_charging_either_way(text: str, enabled: bool) -> None:
    got = plan(text, site_names=SITES, load_names=LOADS).intents
    assert [(i.tool, i.args.get("enabled")) for i in got] == [("set_grid_charge", enabled)]


@pytest.mark.parametrize(
    "text",
    [
        "mañana a las 7 prende la planta",  # tomorrow at 7
        "cada vez que la batería esté llena, prende los mineros",  # a standing order
        "cuando la batería baje de 20 apaga los mineros",  # when it happens, later
        "demain matin part la génératrice",  # tomorrow morning
        "chaque fois que la batterie est pleine, allume les mineurs",  # a standing order
        "à 21h mets la charge sur Hydro",  # at 9 pm, later
    ],
)
def test_a_later_or_standing_order_in_spanish_or_french_makes_no_request(text: str) -> None:
    read = plan(text, site_names=SITES, load_names=LOADS)
    assert not read.intents
    assert read.reason == "unsupported"


@pytest.mark.parametrize(
    ("text", "english"),
    [
        ("¿apago los mineros?", "should I turn off the miners?"),  # asking whether to
        ("¿están prendidos los mineros?", "on the miners?"),
        ("est-ce que je ferme les mineurs?", "should I turn off the miners?"),
        ("la génératrice roule-tu?", "the generator is running?"),
        ("on part pas la génératrice, la batterie est correcte", "part pas the generator"),
    ],
)
def test_a_question_or_a_refusal_is_no_order(text: str, english: str) -> None:
    assert english in mixed_languages.rewrite(text)
    acts = {"stop_miners", "start_miners", "start_generator", "stop_generator"}
    assert not acts & set(_tools(text))


@pytest.mark.parametrize(
    "text",
    [
        "are we on site at the barn today, or on the batteries?",
        "litres of diesel left on the demo site",
        "what's the prevision for tomorrow, merci",
        "turn on the miners at home please",
    ],
)
def test_english_with_french_or_spanish_looking_words_is_left_alone(text: str) -> None:
    assert mixed_languages.rewrite(text) == text
