"""Approve-to-act against a hostile user: two sites, people limited to one, every path.

Each test drives a public interface (chat messages and clicks, the scripted chat
model, the toolbox, the action service) on two sites, ``home`` and ``barn``, both
with simulated devices, and checks that nothing reaches the other site's hardware.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig
from sqlalchemy import update

from bot.app import App, open_app
from bot.chat.base import Click, InboundMessage
from bot.chat.memory import MemoryAdapter
from bot.settings import Settings
from storage import repositories as repo
from storage.models import ActionRequestRow
from tests.bot.helpers import EVENING, CountingDriver
from tests.graphs.scripted_model import ScriptedChatModel
from tools.actions.service import Actor
from tools.agent import TOOL_SPECS, CallContext
from tools.clock import ManualClock
from tools.devices.simulator import SimulatedSite
from tools.permissions import PERMISSIONS, ROLES, Permission, Principal, allows
from tools.site import ActionSettings, Channels, Person, SiteFile, demo_site_file

PEOPLE = [
    Person(platform="console", user_id="ada", name="Ada", role="admin"),
    Person(platform="console", user_id="hank", name="Hank", role="operator", sites=["home"]),
    Person(platform="console", user_id="bea", name="Bea", role="operator", sites=["barn"]),
    Person(platform="console", user_id="otto", name="Otto", role="operator"),
    Person(platform="console", user_id="mona", name="Mona", role="manager", sites=["home"]),
    Person(platform="console", user_id="fin", name="Fin", role="finance"),
    Person(platform="console", user_id="vic", name="Vic", role="viewer"),
]


def two_site_file(people: list[Person] | None = None) -> SiteFile:
    demo = demo_site_file().sites[0]
    home = demo.model_copy(
        update={"name": "home", "title": "Home", "channels": Channels(console="#home")}
    )
    barn = demo.model_copy(
        update={"name": "barn", "title": "Barn", "channels": Channels(console="#barn")}
    )
    return SiteFile(sites=[home, barn], people=people if people is not None else PEOPLE)


@asynccontextmanager
async def two_sites(
    db_url: str,
    data_dir: Path,
    *,
    model: ScriptedChatModel | None = None,
    site_file: SiteFile | None = None,
) -> AsyncIterator[tuple[App, dict[str, CountingDriver], ManualClock]]:
    clock = ManualClock(EVENING)
    site_file = site_file or two_site_file()
    drivers = {
        s.name: CountingDriver(SimulatedSite(s, seed=7, start=clock.now())) for s in site_file.sites
    }
    settings = Settings(data_dir=data_dir, database_url=db_url)
    async with open_app(
        settings,
        adapter=MemoryAdapter(),
        clock=clock,
        site_file=site_file,
        drivers=drivers,
        model=model,
    ) as app:
        await app.monitor.poll_once()
        yield app, drivers, clock


def say(user: str, text: str, channel: str = "#home", delivery_id: str = "") -> InboundMessage:
    return InboundMessage(
        platform="console", user_id=user, channel=channel, text=text, delivery_id=delivery_id
    )


async def _barn_request(app: App) -> str:
    """A pending barn request made by a barn operator."""
    made = await app.chat.handle_message(say("bea", "stop the miners", channel="#barn"))
    assert [a["kind"] for a in made.actions] == ["stop_miners"], made.answer
    return str(made.actions[0]["id"])


async def test_a_person_limited_to_home_cannot_decide_a_barn_request(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, drivers, _clock):
        action_id = await _barn_request(app)
        # The button, clicked in the home channel (the channel is not what counts).
        for action in ("approve", "reject"):
            reply = await app.chat.handle_click(
                Click(
                    platform="console",
                    user_id="hank",
                    channel="#home",
                    action=action,
                    value=action_id,
                )
            )
            assert "do not have access to the site 'barn'" in reply
            assert "you may use home" in reply
        # The decision path itself, as the CLI uses it.
        hank = await app.chat.actor("console", "hank")
        assert hank.sites == frozenset({"home"})
        decision = await app.actions.decide(action_id=action_id, actor=hank, approve=True)
        assert decision.verdict == "denied" and not decision.changed
        assert (await app.actions.get(action_id)).status == "pending"
        assert drivers["barn"].commands == []
        async with app.sessionmaker() as session:
            audit = await repo.list_audit(session, action_id=action_id)
        assert [a.event for a in audit].count("decision_denied") == 3
        # Someone allowed on barn approves; it runs on barn only.
        bea = await app.chat.actor("console", "bea")
        done = await app.actions.decide(action_id=action_id, actor=bea, approve=True)
        assert done.verdict == "succeeded"
        assert drivers["barn"].commands and drivers["home"].commands == []


async def test_site_limits_hold_on_every_chat_path(db_url: str, tmp_path: Path) -> None:
    async with two_sites(db_url, tmp_path) as (app, drivers, _clock):
        asks = {
            "any alerts at barn?": "active_alerts",
            "stop the miners at barn": "stop_miners",
            "keep the barn battery above 90 %": "set_preferences",
            "battery at barn?": "battery_status",
            "barn report for yesterday": "energy_report",
        }
        for text, tool in asks.items():
            answer = await app.chat.handle_message(say("hank", text))
            assert answer.tools == [tool], (text, answer.tools)
            assert "do not have access to the site 'barn'" in answer.answer, (text, answer.answer)
            assert answer.actions == []
        # Asked in the barn's own channel without naming a site: about their own site.
        in_barn = await app.chat.handle_message(say("hank", "how is the battery?", "#barn"))
        assert in_barn.tools == ["battery_status"]
        assert "Home" in in_barn.answer and "Barn" not in in_barn.answer
        assert await app.actions.list_requests(site="barn") == []
        assert app.preferences.get("site", "barn", "battery") == {}
        assert drivers["barn"].commands == []
        # Home is theirs.
        ok = await app.chat.handle_message(say("hank", "battery?"))
        assert ok.tools == ["battery_status"] and "access" not in ok.answer


async def test_alert_ids_and_silences_of_another_site_are_refused(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, clock):
        # Drain the barn battery until its SOC alert fires.
        for _ in range(240):
            clock.advance(timedelta(minutes=1))
            await app.monitor.poll_once()
            if await app.alerts.open_alerts("barn"):
                break
        barn_alerts = await app.alerts.open_alerts("barn")
        assert barn_alerts, "the simulated barn raised no alert"
        alert = barn_alerts[0]
        ack = await app.chat.handle_message(say("hank", f"ack alert {alert.id}"))
        assert ack.tools == ["acknowledge_alert"]
        assert "do not have access to the site 'barn'" in ack.answer
        clicked = await app.chat.handle_click(
            Click(
                platform="console",
                user_id="hank",
                channel="#home",
                action="ack",
                value=str(alert.id),
            )
        )
        assert "do not have access to the site 'barn'" in clicked
        snooze = await app.chat.handle_click(
            Click(
                platform="console",
                user_id="hank",
                channel="#home",
                action="snooze",
                value=f"{alert.id}:60",
            )
        )
        assert "do not have access" in snooze
        assert (await app.alerts.get(alert.id)).status == alert.status  # type: ignore[union-attr]
        # An alert's number is about the alert's site: naming another site with it is a
        # mistake said back, not an acknowledgement of a barn alert "at home".
        odd = await app.chat.handle_message(say("otto", f"ack alert {alert.id} at home"))
        assert odd.tools == ["acknowledge_alert"]
        assert f"Alert {alert.id} is at barn, not at Home" in odd.answer, odd.answer
        assert (await app.alerts.get(alert.id)).status == alert.status  # type: ignore[union-attr]
        # Bea may not use home, yet from the home channel she may acknowledge it.
        bea = await app.chat.handle_message(say("bea", f"ack alert {alert.id}", "#home"))
        assert bea.tools == ["acknowledge_alert"]
        assert "do not have access" not in bea.answer, bea.answer
        assert (await app.alerts.get(alert.id)).status == "acknowledged"  # type: ignore[union-attr]
        # A barn silence made by Bea is neither listed to nor removable by Hank.
        made = await app.chat.handle_message(say("bea", "silence battery alerts for 2h", "#barn"))
        assert made.tools == ["silence_alerts"] and "Silence" in made.answer
        listed = await app.chat.handle_message(say("hank", "list silences"))
        assert "No active silences" in listed.answer
        removed = await app.chat.handle_message(say("hank", "remove silence"))
        assert removed.tools == ["remove_silence"]
        assert len(await app.alerts.list_silences()) == 1


async def test_the_model_path_is_held_to_the_same_limits(db_url: str, tmp_path: Path) -> None:
    model = ScriptedChatModel(
        script=[
            AIMessage(
                content="",
                tool_calls=[
                    {"name": "active_alerts", "args": {"site": "barn"}, "id": "c1"},
                    {"name": "stop_miners", "args": {"site": "barn"}, "id": "c2"},
                    {
                        "name": "set_preferences",
                        "args": {"site": "barn", "min_soc_pct": 90},
                        "id": "c3",
                    },
                ],
            ),
            AIMessage(content="Done."),
        ]
    )
    async with two_sites(db_url, tmp_path, model=model) as (app, drivers, _clock):
        await app.chat.handle_message(say("hank", "do things at the barn"))
        results = [m for m in model.seen[-1] if getattr(m, "type", "") == "tool"]
        assert len(results) == 3
        assert all("do not have access to the site 'barn'" in str(m.content) for m in results)
        assert await app.actions.list_requests(site="barn") == []
        assert app.preferences.get("site", "barn", "battery") == {}
        assert drivers["barn"].commands == []


async def test_one_message_creates_at_most_three_requests(sqlite_url: str, tmp_path: Path) -> None:
    calls = [
        {"name": "stop_miners", "args": {"loads": ["miner-1"]}, "id": "a"},
        {"name": "stop_miners", "args": {"loads": ["miner-2"]}, "id": "b"},
        {"name": "stop_miners", "args": {"loads": ["miner-3"]}, "id": "c"},
        {"name": "set_grid_charge", "args": {"enabled": True}, "id": "d"},
        {"name": "start_generator", "args": {}, "id": "e"},
    ]
    model = ScriptedChatModel(script=[AIMessage(content="", tool_calls=calls)])
    async with two_sites(sqlite_url, tmp_path, model=model) as (app, _drivers, _clock):
        result = await app.chat.handle_message(say("otto", "do everything"))
        assert len(result.actions) == 3
        assert len(await app.actions.list_requests(site="home")) == 3
        tool_messages = [
            m
            for m in (await app.graph.aget_state(_config(result.thread_id))).values["messages"]
            if getattr(m, "type", "") == "tool"
        ]
        refused = [m for m in tool_messages if "at most 3 actions" in str(m.content)]
        assert [m.name for m in refused] == ["set_grid_charge", "start_generator"]


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


async def test_each_ask_in_one_thread_gets_its_own_request(db_url: str, tmp_path: Path) -> None:
    async with two_sites(db_url, tmp_path) as (app, _drivers, _clock):
        first = await app.chat.handle_message(say("otto", "stop the miners"))
        second = await app.chat.handle_message(say("otto", "turn on grid charging"))
        assert first.thread_id == second.thread_id
        assert [a["kind"] for a in first.actions] == ["stop_miners"]
        assert [a["kind"] for a in second.actions] == ["grid_charge_on"]
        assert first.actions[0]["id"] != second.actions[0]["id"]
        # The same platform delivery handled twice (a redelivery): still one request.
        once = await app.chat.handle_message(say("otto", "start the generator", delivery_id="E1"))
        again = await app.chat.handle_message(say("otto", "start the generator", delivery_id="E1"))
        assert once.actions[0]["id"] == again.actions[0]["id"]
        kinds = sorted(a.kind for a in await app.actions.list_requests(site="home"))
        assert kinds == ["generator_start", "grid_charge_on", "stop_miners"]


async def test_a_model_repeating_call_ids_across_turns_gets_separate_requests(
    sqlite_url: str, tmp_path: Path
) -> None:
    # Each turn stops at the approval interrupt, so the model speaks once per turn.
    model = ScriptedChatModel(
        script=[
            AIMessage(content="", tool_calls=[{"name": "stop_miners", "args": {}, "id": "call_0"}]),
            AIMessage(
                content="",
                tool_calls=[{"name": "set_grid_charge", "args": {"enabled": True}, "id": "call_0"}],
            ),
            AIMessage(content="", tool_calls=[{"name": "start_generator", "args": {}, "id": None}]),
        ]
    )
    async with two_sites(sqlite_url, tmp_path, model=model) as (app, _drivers, _clock):
        ids = []
        for text in ("stop the miners", "grid charge please", "start the generator"):
            result = await app.chat.handle_message(say("otto", text))
            ids.append(result.actions[0]["id"])
        assert len(set(ids)) == 3


async def test_tiers_merge_over_the_defaults() -> None:
    settings = ActionSettings.model_validate({"tiers": {"stop_miners": {"approvals": 2}}})
    generator = settings.tier("generator_start")
    assert generator.approvals == 2 and generator.self_approve is False
    assert settings.tier("stop_miners").approvals == 2
    # A field given for the generator keeps the default's other fields.
    narrowed = ActionSettings.model_validate({"tiers": {"generator_start": {"roles": ["admin"]}}})
    assert narrowed.tier("generator_start").roles == ["admin"]
    assert narrowed.tier("generator_start").approvals == 2
    with pytest.raises(ValueError, match="unknown action kind"):
        ActionSettings.model_validate({"tiers": {"launch_rocket": {"approvals": 1}}})
    with pytest.raises(ValueError, match="may not approve actions"):
        ActionSettings.model_validate({"tiers": {"stop_miners": {"roles": ["viewer"]}}})


async def test_a_site_tier_for_one_kind_keeps_the_generator_two_person_rule(
    sqlite_url: str, tmp_path: Path
) -> None:
    base = two_site_file()
    strict = ActionSettings.model_validate({"tiers": {"stop_miners": {"approvals": 2}}})
    home = base.sites[0].model_copy(update={"actions": strict})
    site_file = base.model_copy(update={"sites": [home, base.sites[1]]})
    async with two_sites(sqlite_url, tmp_path, site_file=site_file) as (app, drivers, _clock):
        asked = await app.chat.handle_message(say("otto", "start the generator"))
        action_id = str(asked.actions[0]["id"])
        otto = await app.chat.actor("console", "otto")
        selfish = await app.actions.decide(action_id=action_id, actor=otto, approve=True)
        assert selfish.verdict == "denied" and "someone else must approve" in selfish.message
        ada = await app.chat.actor("console", "ada")
        first = await app.actions.decide(action_id=action_id, actor=ada, approve=True)
        assert first.verdict == "partial"
        assert drivers["home"].commands == []


async def test_the_executor_rechecks_recorded_approvals(sqlite_url: str, tmp_path: Path) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, drivers, _clock):
        view = await app.actions.request(
            site="barn", kind="stop_miners", requested_by="console:bea"
        )
        # An approval written by something other than the decision path (an old process,
        # a hand edit): a home-only operator, recorded as approving a barn request.
        forged = {"by": [{"actor": "console:hank", "role": "operator", "sites": ["home"]}]}
        async with app.sessionmaker() as session, session.begin():
            await session.execute(
                update(ActionRequestRow)
                .where(ActionRequestRow.id == view.id)
                .values(status="approved", approvals=forged)
            )
        done = await app.actions.run_approved()
        assert [d.status for d in done] == ["failed"]
        assert "no valid approval" in (done[0].outcome or "")
        assert drivers["barn"].commands == []


async def test_every_tool_asks_the_permission_table(sqlite_url: str, tmp_path: Path) -> None:
    """Walk role x tool: a tool is refused exactly when the role lacks its permission."""
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        args: dict[str, dict[str, object]] = {
            "set_role": {"user_id": "newbie", "role": "viewer"},
            "who_is": {"user_id": "ada"},
            "search_knowledge": {"query": "inverter fault"},
            "snooze_alert": {"minutes": 30},
            "set_preferences": {"power_unit": "W"},
            "set_alert_preferences": {"critical_only": False},
            "set_grid_charge": {"enabled": False},
            "decide_action": {"action_id": "0000abcd", "approve": False},
            "set_alert_rule": {"metric": "battery", "comparator": "<", "value": 5, "unit": "%"},
            "remove_alert_rule": {"rule_id": 999},
        }
        for role in ROLES:
            for n, spec in enumerate(TOOL_SPECS):
                ctx = CallContext(
                    default_site="home",
                    requested_by=f"console:t-{role}",
                    thread_id=f"walk:{role}",
                    call_id=f"{role}-{n}",
                    role=role,
                    sites=None,
                )
                out = await app.toolbox.call(spec.name, dict(args.get(spec.name, {})), ctx)
                refused = "your role is" in out.text.lower()
                expected = spec.permission not in PERMISSIONS[role]
                assert refused == expected, (role, spec.name, out.text)


def test_the_table_is_what_the_readme_documents() -> None:
    """The README's permission table (one row per permission, one column per role)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    header = re.search(r"^\| permission \| (.+) \|$", readme, flags=re.MULTILINE)
    assert header is not None
    columns = [c.strip() for c in header[1].split("|")]
    assert columns == list(ROLES)
    rows = dict(
        (m[1], [c.strip() for c in m[2].split("|")])
        for m in re.finditer(r"^\| `([a-z_]+)` \| ((?:[^|]+\|){4}[^|]+) \|$", readme, re.M)
    )
    for permission in Permission:
        cells = rows.get(permission.value)
        assert cells is not None, permission
        for role, cell in zip(ROLES, cells, strict=True):
            assert (cell == "yes") == allows(Principal(role), permission), (role, permission)


async def test_who_is_says_where_a_role_comes_from(sqlite_url: str, tmp_path: Path) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        listed = await app.chat.handle_message(say("vic", "who is hank?"))
        assert listed.tools == ["who_is"]
        assert "is operator (set in the site file); may use home." in listed.answer
        refused = await app.chat.handle_message(say("ada", "make hank an admin"))
        assert "listed in the site file as operator" in refused.answer
        granted = await app.chat.handle_message(say("ada", "make sam a manager"))
        assert "now manager" in granted.answer
        who = await app.chat.handle_message(say("vic", "who is sam?"))
        assert "is manager (granted in chat by Ada" in who.answer
        # A site-limited manager may not grant roles (roles apply to every site).
        limited = await app.chat.handle_message(say("mona", "make tom an operator"))
        assert "only admin may change roles" in limited.answer
        unknown = await app.chat.handle_message(say("vic", "who is nobody1?"))
        assert "viewer (the default" in unknown.answer
        # In one's own words: "my role" is the asker's, and nobody else's.
        mine = await app.chat.handle_message(say("hank", "what's my role?"))
        assert mine.tools == ["who_is"]
        assert "is operator (set in the site file); may use home." in mine.answer
        waiting = await app.chat.handle_message(say("hank", "anything waiting for my approval?"))
        assert waiting.tools == ["pending_approvals"]


async def test_chat_grants_survive_a_restart_and_file_roles_are_taken_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        await app.chat.handle_message(say("ada", "make sam an operator"))
    # Restart with Otto no longer in the site file.
    clock = ManualClock(EVENING)
    site_file = two_site_file([p for p in PEOPLE if p.user_id != "otto"])
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url)
    async with open_app(
        settings, adapter=MemoryAdapter(), clock=clock, site_file=site_file, drivers={}
    ) as app:
        assert (await app.chat.actor("console", "sam")).role == "operator"
        assert (await app.chat.actor("console", "otto")).role == "viewer"
        async with app.sessionmaker() as session:
            events = [a.event for a in await repo.list_audit(session)]
        assert "role_changed" in events and "role_revoked" in events


async def test_costs_are_shown_to_the_roles_that_may_see_them(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, clock):
        for _ in range(6):
            clock.advance(timedelta(minutes=10))
            await app.monitor.poll_once()
        await app.maintenance.rollup_recent()
        finance = await app.chat.handle_message(say("fin", "energy report for today"))
        operator = await app.chat.handle_message(say("otto", "energy report for today"))
        assert finance.tools == operator.tools == ["energy_report"]
        currency = app.site_file.sites[0].costs.currency
        assert "no readings were stored" not in finance.answer
        assert f"cost {currency} " in finance.answer.splitlines()[0], finance.answer
        assert currency not in operator.answer and "load " in operator.answer
        # the breakdown on "more" has the money rows only for the role that may see costs
        finance_more = await app.chat.handle_message(say("fin", "more"))
        assert f"Cost: {currency}" in finance_more.answer, finance_more.answer
        operator_more = await app.chat.handle_message(say("otto", "more"))
        assert currency not in operator_more.answer and "Load:" in operator_more.answer
        refused = await app.chat.handle_message(
            say("otto", "how much did we spend on energy yesterday?")
        )
        assert "only admin, manager, finance may see the costs of home" in refused.answer
        # Plans that mention the tariff leave it out for roles without see_costs.
        ask = "should I charge the battery from the grid tonight?"
        advice_fin = await app.chat.handle_message(say("fin", ask))
        advice_op = await app.chat.handle_message(say("otto", ask))
        assert advice_fin.tools == advice_op.tools == ["grid_charge_advice"]
        assert f"{currency}/kWh" in advice_fin.answer, advice_fin.answer
        assert currency not in advice_op.answer, advice_op.answer


def test_actor_principal_carries_the_site_limit() -> None:
    hank = Actor(platform="console", user_id="hank", role="operator", sites=frozenset({"home"}))
    assert allows(hank.principal, Permission.APPROVE_ACTION, "home")
    assert not allows(hank.principal, Permission.APPROVE_ACTION, "barn")
    assert not allows(hank.principal, Permission.MANAGE_ROLES)


async def test_approve_by_text_with_a_short_id_is_held_to_the_same_rules(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path) as (app, drivers, _clock):
        action_id = await _barn_request(app)
        short = action_id[:8]
        pending = await app.chat.handle_message(say("hank", "pending approvals?"))
        assert pending.tools == ["pending_approvals"]
        assert pending.answer == "Nothing is waiting for approval."
        listed = await app.chat.handle_message(say("otto", "pending approvals?"))
        assert short in listed.answer and "needs 1 approval" in listed.answer
        refused = await app.chat.handle_message(say("hank", f"approve {short}"))
        assert refused.tools == ["decide_action"]
        assert "do not have access to the site 'barn'" in refused.answer
        # the same approval behind a question in one message is held to the same rules
        both = await app.chat.handle_message(
            say("hank", f"what's pending? approve {short} while you're at it")
        )
        assert both.tools == ["pending_approvals", "decide_action"]
        assert "do not have access to the site 'barn'" in both.answer
        # and in everyday words ("green light for ...", "request ..., approve it")
        for words in (f"green light for {short}", f"request {short}, approve it"):
            loose = await app.chat.handle_message(say("hank", words))
            assert loose.tools == ["decide_action"], (words, loose.tools)
            assert "do not have access to the site 'barn'" in loose.answer
        viewer = await app.chat.handle_message(say("vic", f"approve {short}"))
        assert "your role is viewer" in viewer.answer.lower()
        unknown = await app.chat.handle_message(say("otto", "approve 0000ffff"))
        assert "No action request with id '0000ffff'" in unknown.answer
        assert (await app.actions.get(short)).status == "pending"
        assert drivers["barn"].commands == []
        done = await app.chat.handle_message(say("otto", f"approve {short}", channel="#barn"))
        assert "Done and verified" in done.answer
        assert (await app.actions.get(action_id)).status == "succeeded"
        again = await app.chat.handle_message(say("otto", f"approve {short}"))
        assert "Already succeeded" in again.answer
        assert len(drivers["barn"].commands) == 3  # three miners, once


async def test_a_huge_message_is_refused_unread(sqlite_url: str, tmp_path: Path) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        huge = "stop the miners " * 5_000  # 80,000 characters: minutes of planner time
        result = await app.chat.handle_message(say("otto", huge))
        assert result.tools == [] and result.actions == []
        assert "80,000 characters" in result.answer and "up to 2,000" in result.answer
        assert await app.actions.list_requests() == []


async def test_a_change_already_in_place_makes_no_request(sqlite_url: str, tmp_path: Path) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        first = await app.chat.handle_message(say("otto", "turn off miner-2"))
        action_id = str(first.actions[0]["id"])
        await app.actions.decide(
            action_id=action_id, actor=await app.chat.actor("console", "ada"), approve=True
        )
        again = await app.chat.handle_message(say("otto", "turn off miner-2"))
        assert again.actions == []
        assert "miner-2 is already off at Home" in again.answer
        # "stop the miners" now asks only for the two still running.
        rest = await app.chat.handle_message(say("otto", "stop the miners"))
        assert [a["kind"] for a in rest.actions] == ["stop_miners"]
        view = await app.actions.get(str(rest.actions[0]["id"]))
        assert view.params == {"loads": ["miner-1", "miner-3"]}
        generator = await app.chat.handle_message(say("otto", "stop the generator"))
        assert "the generator is already stopped" in generator.answer
        assert generator.actions == []
