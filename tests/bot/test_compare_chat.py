"""Comparisons asked in chat: periods, sites side by side, the month's projected bill.

Two simulated sites (home and barn) through the whole bot; Hank is an operator limited to
home, Mona a manager limited to home, Fin finance, Ada an admin (tests/bot/test_security).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from graphs.assistant.planner import follow_up, plan
from tests.bot.test_security import say, two_sites
from tests.tools.test_reports_db import _simulate


async def _history(app: App, hours: int = 30) -> None:
    """The hours before now at both sites, stored as the simulator made them."""
    now = app.clock.now()
    for name in ("home", "barn"):
        site = app.toolbox.site(name, name)
        await _simulate(app.sessionmaker, site, now - timedelta(hours=hours), now)


async def test_status_of_all_sites_shows_only_the_sites_a_person_may_see(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, _clock):
        ada = await app.chat.handle_message(say("ada", "status of all sites", "#general"))
        assert ada.tools == ["compare_sites"], ada.answer
        lines = ada.answer.splitlines()
        assert lines[0].startswith("2 sites"), ada.answer
        assert any(line.startswith("Home: battery ") for line in lines)
        assert any(line.startswith("Barn: battery ") for line in lines)
        why = await app.chat.handle_message(say("ada", "why?", "#general"))
        assert why.tools == []
        assert why.answer.startswith(
            "Why: Ranking: a site needs a look when it has open alerts or its newest reading "
            "is older than 15 min."
        ), why.answer
        for title in ("Home", "Barn"):
            assert re.search(
                rf"^{title}: live readings \((newest reading .+ old|no reading yet)\)",
                why.answer,
                re.M,
            ), why.answer

        hank = await app.chat.handle_message(say("hank", "status of all sites", "#general"))
        assert hank.tools == ["compare_sites"]
        assert hank.answer.splitlines()[0].startswith("1 site"), hank.answer
        assert "Home: battery" in hank.answer and "Barn" not in hank.answer

        both = await app.chat.handle_message(say("hank", "compare home and barn"))
        assert both.tools == ["compare_sites"]
        assert "Home: battery" in both.answer
        assert "Barn: battery" not in both.answer
        assert "do not have access to the site 'barn' (you may use home)" in both.answer

        only_barn = await app.chat.handle_message(say("hank", "barn vs barn side by side"))
        assert only_barn.tools == ["compare_sites"]
        assert "Barn: battery" not in only_barn.answer
        assert "(you may use home)" in only_barn.answer


async def test_which_site_has_the_most_solar_today_ranks_the_visible_sites(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, _clock):
        await _history(app)
        ada = await app.chat.handle_message(
            say("ada", "which site has the most solar today?", "#general")
        )
        assert ada.tools == ["compare_sites"]
        first = ada.answer.splitlines()[0]
        assert first.startswith("Most solar today: "), ada.answer
        assert "(then " in first  # the other site follows
        why = await app.chat.handle_message(say("ada", "why?", "#general"))
        assert "Ranking: ranked by most solar today, highest first." in why.answer, why.answer
        assert "solar today from the hourly rollups since local midnight" in why.answer
        mona = await app.chat.handle_message(
            say("mona", "which site has the most solar today?", "#general")
        )
        assert mona.answer.splitlines()[0].startswith("Most solar today: Home"), mona.answer
        assert "Barn" not in mona.answer


async def test_the_projected_bill_is_for_roles_that_may_see_costs(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, _clock):
        await _history(app, hours=48)
        olga = await app.chat.handle_message(say("otto", "what will this month cost?"))
        assert olga.tools == ["cost_projection"]
        assert olga.answer.startswith("Your role is operator: only admin, manager, finance may")
        assert "USD" not in olga.answer
        fin = await app.chat.handle_message(say("fin", "projected bill"))
        assert fin.tools == ["cost_projection"]
        assert fin.answer.startswith("Home, November 2026: USD "), fin.answer
        assert "by the month's end" in fin.answer
        assert "No tariff is configured for this site" in fin.answer  # the demo has none
        # "why?": the prices, the days so far and with data, and the projection's arithmetic
        head = re.match(
            r"Home, November 2026: (USD [\d,.]+) so far \(([\d.]+) days\); about (USD [\d,.]+) by "
            r"the month's end at (USD [\d,.]+)/day",
            fin.answer,
        )
        assert head is not None, fin.answer
        why = await app.chat.handle_message(say("fin", "why?"))
        assert why.tools == []
        assert re.search(
            r"Grid price: grid USD \d\.\d{3}/kWh flat \(the default: no tariff in the site file\)",
            why.answer,
        ), why.answer
        assert f"So far: {head[2]} days of November 2026 elapsed, 2 days of them with readings" in (
            why.answer
        ), why.answer
        assert f"Projection: {head[1]} / 2 days of data = {head[4]}/day" in why.answer
        assert f"added to what is spent: {head[3]}." in why.answer
        mona = await app.chat.handle_message(say("mona", "are we on track for the budget at barn?"))
        assert mona.tools == ["cost_projection"]
        assert "do not have access to the site 'barn'" in mona.answer


async def test_comparing_periods_hides_money_from_an_operator(db_url: str, tmp_path: Path) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, _clock):
        await _history(app, hours=48)
        otto = await app.chat.handle_message(say("otto", "how does today compare to yesterday?"))
        assert otto.tools == ["compare_periods"]
        first = otto.answer.splitlines()[0]
        assert first.startswith("Home, Thu 19 Nov 2026 so far (19 h) vs the same 19 h of"), first
        assert "solar " in first and "load " in first
        assert "USD" not in otto.answer and "cost" not in otto.answer
        assert "-0.0" not in otto.answer and "+-" not in otto.answer
        why = await app.chat.handle_message(say("otto", "why?"))
        assert why.tools == []
        found = re.search(
            r"Periods: Thu 19 Nov 2026 so far \(19 h\) = 19 Nov 00:00–19 Nov \d\d:\d\d with "
            r"(\d+) h of readings of 19 h; the same 19 h of .+ with (\d+) h of 19 h",
            why.answer,
        )
        assert found is not None, why.answer
        assert 18 <= int(found[1]) <= 19 and int(found[2]) == 19, why.answer
        assert "compared with the same elapsed time of the one before it" in why.answer
        assert "Cost:" not in why.answer  # no prices for a role that may not see costs
        fin = await app.chat.handle_message(say("fin", "how does today compare to yesterday?"))
        assert "Cost USD " in fin.answer, fin.answer
        fin_why = await app.chat.handle_message(say("fin", "why?"))
        assert "Cost: grid USD " in fin_why.answer, fin_why.answer
        assert "(the default: no tariff configured)" in fin_why.answer
        hank = await app.chat.handle_message(say("hank", "barn this week vs last week"))
        assert hank.tools == ["compare_periods"]
        assert "do not have access to the site 'barn'" in hank.answer


# Phrasings written for this test only (not in the templates or the corpus).
UNSEEN = [
    ("how's the solar harvest this month stacking up vs last month?", "compare_periods"),
    ("did the factory pull more kwh this week than the week before", "compare_periods"),
    ("winter versus summer output, how big is the gap", "compare_periods"),
    ("compare february and march consumption for me", "compare_periods"),
    ("are we using less grid than last month", "compare_periods"),
    ("todays production compared with yesterdays", "compare_periods"),
    ("quick overview of every site I look after", "compare_sites"),
    ("which of my installs has the lowest battery right now", "compare_sites"),
    ("how are home and barn doing side by side", "compare_sites"),
    ("show all locations at a glance", "compare_sites"),
    ("which site made the most pv today", "compare_sites"),
    ("what's the bill going to look like at the end of this month", "cost_projection"),
    ("estimate this month's power costs please", "cost_projection"),
    ("will we blow the energy budget this month?", "cost_projection"),
    ("how much is december going to cost us in electricity", "cost_projection"),
]


@pytest.mark.parametrize(("text", "tool"), UNSEEN, ids=[t for t, _ in UNSEEN])
def test_phrasings_nobody_wrote_down_are_routed(text: str, tool: str) -> None:
    got = plan(text, site_names=["home", "barn"], load_names=["miner-1"])
    assert [i.tool for i in got.intents] == [tool], (text, got)


def test_follow_ups_keep_the_comparison() -> None:
    sites = ["home", "barn"]
    barn = follow_up(
        "this month vs last at home", "what about barn?", site_names=sites, load_names=[]
    )
    assert [(i.tool, i.args) for i in barn] == [
        ("compare_periods", {"site": "barn", "first": "this_month", "second": "last_month"})
    ]
    week = follow_up("this month vs last", "and this week?", site_names=sites, load_names=[])
    assert [(i.tool, i.args["first"], i.args["second"]) for i in week] == [
        ("compare_periods", "this_week", None)
    ]
    bill = follow_up("what will this month cost?", "and the barn?", site_names=sites, load_names=[])
    assert [(i.tool, i.args) for i in bill] == [("cost_projection", {"site": "barn"})]
