"""A hostile user on two sites, through the chat service, the assistant and the console.

``home`` and ``barn`` run simulated devices; Hank is an operator limited to home, Bea
an operator limited to barn, Vera a viewer limited to home, Hal an admin limited to
home. Each test says something a person should not get away with and checks that
nothing moved at the other site (its requests, its channel's settings, its
hardware) and that the answer names nothing of it. Complements test_security.py,
which covers the same people on buttons, the model path and the permission table.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from bot.app import App
from bot.chat.base import Click, InboundMessage
from storage import repositories as repo
from tests.bot.test_security import PEOPLE, two_site_file, two_sites
from tests.graphs.scripted_model import ScriptedChatModel
from tools.site import Person

EXTRA = [
    Person(platform="console", user_id="vera", name="Vera", role="viewer", sites=["home"]),
    Person(platform="console", user_id="hal", name="Hal", role="admin", sites=["home"]),
]
SITE_FILE = two_site_file([*PEOPLE, *EXTRA])
NO_ACCESS = "do not have access to the site 'barn'"


def say(user: str, text: str, channel: str = "#home") -> InboundMessage:
    return InboundMessage(platform="console", user_id=user, channel=channel, text=text)


def press(user: str, action: str, value: str, channel: str = "#home") -> Click:
    return Click(platform="console", user_id=user, channel=channel, action=action, value=value)


@pytest.fixture
def chosen_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The ids the next action requests get, in order (to make prefixes collide)."""
    queue: list[str] = []
    made = repo.new_action_id

    def next_id() -> str:
        return queue.pop(0) if queue else made()

    monkeypatch.setattr(repo, "new_action_id", next_id)
    yield queue


async def _ask(app: App, user: str, text: str, channel: str) -> str:
    made = await app.chat.handle_message(say(user, text, channel))
    assert len(made.actions) == 1, made.answer
    return str(made.actions[0]["id"])


async def _audit_events(app: App, action_id: str) -> list[str]:
    async with app.sessionmaker() as session:
        return [a.event for a in await repo.list_audit(session, action_id=action_id)]


# -- 1. decisions said in everyday words ----------------------------------------------------


async def test_everyday_decisions_on_another_sites_request_are_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, drivers, _clock):
        barn = await _ask(app, "bea", "stop the miners", "#barn")
        home = await _ask(app, "otto", "turn on grid charging", "#home")
        short = barn[:8]
        words = [
            f"turn down {short}, not today",
            f"appr {short}",
            f"rej {short}",
            f"APPR {short.upper()}",
            f"lgtm {short}",
            f"{short} 👍",
            f"yes {short}",
            f"ok {short}",
            f"i'll allow {short}",
            f"do not approve {short}",  # a negated approval is a rejection: still refused
            f"approve #{barn[:5]}",  # a shorter prefix that only the barn request has
            f"approve {barn}",  # the full id
        ]
        for channel in ("#home", "#barn"):  # the channel is not what counts
            for text in words:
                answer = await app.chat.handle_message(say("hank", text, channel))
                assert answer.tools == ["decide_action"], (text, answer.tools)
                assert NO_ACCESS in answer.answer, (text, answer.answer)
        # Two ids in one breath: Hank's own is decided, the barn one is refused.
        both = await app.chat.handle_message(say("hank", f"approve both {home[:8]} and {short}"))
        assert both.tools == ["decide_action", "decide_action"]
        assert "Done and verified" in both.answer and NO_ACCESS in both.answer
        assert (await app.actions.get(home)).status == "succeeded"
        # A viewer, limited or not, decides nothing in any words, even on a site they see.
        other = await _ask(app, "otto", "turn off miner-2", "#home")
        for user in ("vic", "vera"):
            for text in (f"green light for {other[:8]}", f"appr {other[:8]}", f"rej {other[:8]}"):
                answer = await app.chat.handle_message(say(user, text))
                assert "your role is viewer" in answer.answer.lower(), (user, text, answer.answer)
        assert (await app.actions.get(other)).status == "pending"
        assert (await app.actions.get(barn)).status == "pending"
        assert drivers["barn"].commands == []
        events = await _audit_events(app, barn)
        assert events.count("decision_denied") == 2 * len(words) + 1
        assert not {"action_approved", "action_rejected"} & set(events)


async def test_an_ambiguous_prefix_never_reaches_the_other_site(
    sqlite_url: str, tmp_path: Path, chosen_ids: list[str]
) -> None:
    home_id, barn_id = "0badc0de" + "1" * 24, "0badc0de" + "2" * 24
    chosen_ids += [home_id, barn_id]
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, drivers, _clock):
        assert await _ask(app, "otto", "turn on grid charging", "#home") == home_id
        assert await _ask(app, "bea", "stop the miners", "#barn") == barn_id
        # Hank's list shows one request, by the short id both share...
        listed = await app.chat.handle_message(say("hank", "what's pending?"))
        assert "0badc0de at home" in listed.answer and "barn" not in listed.answer
        # ...and the short id he was shown decides the one he may see, never the barn's,
        # and the answer gives away nothing of the barn request (not even its id).
        for text in ("green light for 0badc0de", "appr #0bad"):
            answer = await app.chat.handle_message(say("hank", text))
            assert answer.tools == ["decide_action"]
            assert "2222" not in answer.answer, answer.answer
        assert (await app.actions.get(home_id)).status == "succeeded"
        assert (await app.actions.get(barn_id)).status == "pending"
        assert drivers["barn"].commands == []
        # Bea's "turn down" with the shared prefix is about her barn request only.
        down = await app.chat.handle_message(say("bea", "turn down 0badc0de, not today", "#barn"))
        assert "Rejected by Bea" in down.answer, down.answer
        assert "1111" not in down.answer
        assert (await app.actions.get(barn_id)).status == "rejected"
        assert (await app.actions.get(home_id)).status == "succeeded"


async def test_someone_who_sees_both_sites_must_say_which_request(
    sqlite_url: str, tmp_path: Path, chosen_ids: list[str]
) -> None:
    home_id, barn_id = "88cc44aa" + "1" * 24, "88cc44aa" + "2" * 24
    chosen_ids += [home_id, barn_id]
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, drivers, _clock):
        await _ask(app, "otto", "turn on grid charging", "#home")
        await _ask(app, "bea", "stop the miners", "#barn")
        for text in ("approve 88cc44aa", "turn down 88cc44aa, not today"):
            answer = await app.chat.handle_message(say("otto", text))
            assert "matches several requests" in answer.answer, answer.answer
        assert (await app.actions.get(home_id)).status == "pending"
        assert (await app.actions.get(barn_id)).status == "pending"
        # A prefix matching only barn requests is refused to Hank like the full id.
        only_barn = await app.chat.handle_message(say("hank", "approve 88cc44aa2"))
        assert NO_ACCESS in only_barn.answer
        assert drivers["barn"].commands == [] and drivers["home"].commands == []


async def test_self_approval_follows_the_tier_in_everyday_words(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, drivers, _clock):
        # The generator's default tier: two approvers, neither of them the requester.
        gen = await _ask(app, "hank", "start the generator", "#home")
        short = gen[:8]
        for text in (f"green light for {short}", f"appr {short}", f"{short} 👍"):
            mine = await app.chat.handle_message(say("hank", text))
            assert "you asked for this action" in mine.answer, (text, mine.answer)
        # Bea may not count as one of the two (home is not hers), in any channel.
        bea = await app.chat.handle_message(say("bea", f"lgtm {short}", "#home"))
        assert "do not have access to the site 'home'" in bea.answer, bea.answer
        first = await app.chat.handle_message(say("otto", f"green light for {short}"))
        assert "Approval 1 of 2 recorded" in first.answer, first.answer
        again = await app.chat.handle_message(say("otto", f"appr {short}"))
        assert "you already approved this" in again.answer, again.answer
        assert drivers["home"].commands == []
        second = await app.chat.handle_message(say("mona", f"ok {short}"))
        assert "Done and verified" in second.answer, second.answer
        assert (await app.actions.get(gen)).status == "succeeded"
        # Other kinds keep the default: the requester may approve their own request.
        stop = await _ask(app, "hank", "turn off miner-2", "#home")
        own = await app.chat.handle_message(say("hank", f"appr {stop[:8]}"))
        assert "Done and verified" in own.answer, own.answer
        assert drivers["barn"].commands == []


# -- 3. thresholds, quiet hours and silences set in chat --------------------------------


async def test_a_channel_of_another_site_cannot_be_quietened(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A channel's alert settings hold back the alerts of the site that posts there: they
    are that site's settings, whoever asks and from whichever site they may use."""
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, _drivers, _clock):
        asks = [
            "quiet hours 22:00-07:00",
            "critical alerts only",
            "only critical alerts here please",
            "please do not send me messages between 10 pm and 7 am unless it is urgent",
        ]
        for user in ("hank", "vera", "vic", "fin"):
            for text in asks:
                answer = await app.chat.handle_message(say(user, text, "#barn"))
                assert answer.tools == ["set_alert_preferences"], (user, text, answer.tools)
                why = NO_ACCESS if user == "hank" else "your role is"
                assert why in answer.answer.lower(), (user, text, answer.answer)
            # /energy prefs in the barn channel goes the same way
            command = await app.chat.handle_command(say(user, "prefs quiet 22:00-07:00", "#barn"))
            assert "now gets" not in command.answer, (user, command.answer)
        barn = await app.preferences.channel_prefs("#barn")
        assert not barn.critical_only and barn.quiet_hours is None
        # Hank's own channel is his to set; Bea's is hers, from her channel.
        mine = await app.chat.handle_message(say("hank", "quiet hours 22:00-07:00", "#home"))
        assert "quiet hours 22:00–07:00" in mine.answer, mine.answer
        hers = await app.chat.handle_message(say("bea", "critical alerts only", "#barn"))
        assert hers.answer == "This channel now gets critical alerts only.", hers.answer
        assert (await app.preferences.channel_prefs("#barn")).critical_only
        # ...and Hank cannot clear what Bea set.
        cleared = await app.chat.handle_message(say("hank", "all alerts again please", "#barn"))
        assert "now gets" not in cleared.answer
        assert (await app.preferences.channel_prefs("#barn")).critical_only


async def test_thresholds_and_silences_of_another_site_are_refused(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, _drivers, _clock):
        for text in (
            "alert me if voltage < 12 V at the barn",
            "alert me if the battery drops below 20 % at the barn",
            "silence battery alerts at barn for 2h",
            "mute the barn for the weekend",
        ):
            for channel in ("#home", "#barn"):
                answer = await app.chat.handle_message(say("hank", text, channel))
                assert NO_ACCESS in answer.answer, (text, channel, answer.tools, answer.answer)
        for user in ("vic", "vera", "fin"):
            for text in (
                "alert me if the battery drops below 20 %",
                "stop pinging me about the battery",
                "silence everything for 2 hours",
            ):
                answer = await app.chat.handle_message(say(user, text, "#barn"))
                assert "your role is" in answer.answer.lower(), (user, text, answer.answer)
        # Said in the barn's channel without naming a site: about Hank's own site only.
        own = await app.chat.handle_message(
            say("hank", "stop pinging me about the battery", "#barn")
        )
        assert own.tools == ["silence_alerts"] and 'site="home"' in own.answer, own.answer
        assert app.alert_rules.for_site("barn") == ()
        silences = await app.alerts.list_silences()
        assert [m.value for s in silences for m in s.matchers if m.label == "site"] == ["home"]


# -- 5. reads: every read tool holds the same rule ----------------------------------------

# One question per read tool about the barn, as people ask it.
BARN_READS = {
    "how is the barn?": "site_status",
    "battery at barn?": "battery_status",
    "solar now at barn?": "solar_now",
    "barn report for yesterday": "energy_report",
    "what happened overnight at the barn": "timeline",
    "any anomalies at barn?": "anomalies",
    "barn panel voltage?": "panel_readings",
    "barn solar forecast for tomorrow": "solar_forecast",
    "battery outlook at barn": "battery_outlook",
    "week outlook for barn": "week_outlook",
    "load forecast for barn tomorrow": "load_forecast",
    "solar scorecard at barn": "solar_scorecard",
    "how much fuel at barn?": "fuel_outlook",
    "generator service at barn?": "generator_service",
    "when should the barn miners run?": "miner_plan",
    "should I charge the barn battery from the grid tonight?": "grid_charge_advice",
    "generator plan for barn": "generator_plan",
    "barn this week vs last week": "compare_periods",
    "any alerts at barn?": "active_alerts",
    "list alert rules at barn": "list_alert_rules",
}


async def test_every_read_of_another_site_is_refused_alike(sqlite_url: str, tmp_path: Path) -> None:
    """Limited people (an operator, a viewer, a manager) get the same refusal from every
    read tool about the site they may not use, whichever channel they ask in; a viewer
    with no site limit reads every site (viewers see status everywhere unless limited)."""
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, _drivers, _clock):
        for question, tool in BARN_READS.items():
            for user, channel in (("hank", "#home"), ("vera", "#barn"), ("mona", "#home")):
                answer = await app.chat.handle_message(say(user, question, channel))
                assert answer.tools == [tool], (user, question, answer.tools)
                assert NO_ACCESS in answer.answer, (user, question, answer.answer)
                assert "Barn" not in answer.answer and answer.cards == [], (user, question)
            seen = await app.chat.handle_message(say("vic", question, "#home"))
            assert seen.tools == [tool] and "access" not in seen.answer, (question, seen.answer)
        # Money is refused for the site first (a manager may see costs, not the barn's).
        cost = await app.chat.handle_message(say("mona", "cost projection for barn"))
        assert cost.tools == ["cost_projection"] and NO_ACCESS in cost.answer, cost.answer
        # The slash command's site word is held to the same rule.
        for command in ("status barn", "forecast barn tomorrow", "alerts barn"):
            answer = await app.chat.handle_command(say("hank", command))
            assert NO_ACCESS in answer.answer and "Barn" not in answer.answer, (command, answer)
        # "more" and "why" after a refusal give nothing of the barn either.
        await app.chat.handle_message(say("hank", "barn report for yesterday"))
        for follow_up in ("more", "why?"):
            answer = await app.chat.handle_message(say("hank", follow_up))
            assert "Barn" not in answer.answer and "barn:" not in answer.answer, answer.answer


async def test_lists_and_overviews_leave_out_the_other_site(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, _drivers, clock):
        barn = await _ask(app, "bea", "stop the miners", "#barn")
        refused = await _ask(app, "bea", "turn on grid charging", "#barn")
        await app.chat.handle_message(say("bea", f"reject {refused[:8]}", "#barn"))
        await app.chat.handle_message(
            say("bea", "alert me if the battery drops below 20 %", "#barn")
        )
        home = await _ask(app, "hank", "turn off miner-2", "#home")
        clock.advance(timedelta(minutes=5))
        for user in ("hank", "vera", "hal"):
            for channel in ("#home", "#barn"):
                pending = await app.chat.handle_message(say(user, "what's pending?", channel))
                assert pending.tools == ["pending_approvals"]
                assert home[:8] in pending.answer, pending.answer
                assert barn[:8] not in pending.answer and " at barn" not in pending.answer
                assert len(pending.cards) == 1
                listed = await app.chat.handle_command(say(user, "approvals", channel))
                assert listed.answer == "1 request(s) waiting for approval.", listed.answer
                barn_only = await app.chat.handle_command(say(user, "approvals barn", channel))
                assert barn_only.answer == "Nothing is waiting for approval.", barn_only.answer
                overview = await app.chat.handle_message(say(user, "compare the sites", channel))
                assert overview.tools == ["compare_sites"] and "Barn" not in overview.answer
                events = await app.chat.handle_message(say(user, "what happened today?", channel))
                assert events.tools == ["timeline"] and " at Home" in events.answer
                assert barn[:8] not in events.answer and "Bea" not in events.answer
                assert "bea" not in events.answer.lower(), events.answer
                rules = await app.chat.handle_message(say(user, "list alert rules", channel))
                assert "No alert rules set in chat at Home" in rules.answer, rules.answer
        # Someone who sees both sites gets both.
        both = await app.chat.handle_message(say("otto", "what's pending?"))
        assert home[:8] in both.answer and barn[:8] in both.answer


# -- 4. replays and races in words ---------------------------------------------------------


async def test_decisions_in_words_race_and_replay_to_one_outcome(
    db_url: str, tmp_path: Path
) -> None:
    async with two_sites(db_url, tmp_path, site_file=SITE_FILE) as (app, drivers, clock):
        barn = await _ask(app, "bea", "stop the miners", "#barn")
        short = barn[:8]
        # Approve, approve again, reject and a refused stranger, all at the same moment.
        answers = await asyncio.gather(
            app.chat.handle_message(say("bea", f"green light for {short}", "#barn")),
            app.chat.handle_message(say("otto", f"appr {short}", "#barn")),
            app.chat.handle_message(say("otto", f"turn down {short}, not today", "#home")),
            app.chat.handle_message(say("hank", f"green light for {short}", "#barn")),
        )
        texts = [a.answer for a in answers]
        assert NO_ACCESS in texts[3]
        decided = [t for t in texts[:3] if "Done and verified" in t or "Rejected by" in t]
        assert len(decided) == 1, texts
        assert all("Already" in t for t in texts[:3] if t not in decided), texts
        final = (await app.actions.get(barn)).status
        assert final in ("succeeded", "rejected")
        assert len(drivers["barn"].commands) == (3 if final == "succeeded" else 0)
        events = await _audit_events(app, barn)
        assert events.count("action_approved") + events.count("action_rejected") == 1
        # Said again later, in any words, by anyone: nothing more happens.
        for user, text in (
            ("bea", f"appr {short}"),
            ("otto", f"rej {short}"),
            ("bea", f"request {short}, approve it"),
        ):
            again = await app.chat.handle_message(say(user, text, "#barn"))
            assert again.answer.startswith(f"Already {final}"), (text, again.answer)
        # A request left to expire cannot be approved afterwards, in words or by button.
        late = await _ask(app, "bea", "turn on grid charging", "#barn")
        clock.advance(timedelta(minutes=16))
        words = await app.chat.handle_message(say("bea", f"green light for {late[:8]}", "#barn"))
        assert "expired" in words.answer, words.answer
        button = await app.chat.handle_click(press("bea", "approve", late, "#barn"))
        assert "expired" in button, button
        assert (await app.actions.get(late)).status == "expired"
        assert len(drivers["barn"].commands) == (3 if final == "succeeded" else 0)
        assert drivers["home"].commands == []


async def test_the_model_path_gets_the_same_answers(
    sqlite_url: str, tmp_path: Path, chosen_ids: list[str]
) -> None:
    """A language model calling the tools (scripted here) meets the same rules: a role
    for one site is refused, a shared short id is Hank's request, a barn channel's
    settings are not his."""
    chosen_ids += ["0badc0de" + "1" * 24, "0badc0de" + "2" * 24]
    calls = [
        {"name": "set_role", "args": {"user_id": "sam", "role": "operator", "site": "barn"}},
        {"name": "decide_action", "args": {"action_id": "0badc0de", "approve": False}},
        {"name": "set_alert_preferences", "args": {"critical_only": True}},
    ]
    model = ScriptedChatModel(
        script=[
            AIMessage(content="", tool_calls=[{**c, "id": f"c{n}"} for n, c in enumerate(calls)]),
            AIMessage(content="Done."),
            AIMessage(content="", tool_calls=[{**calls[0], "id": "c9"}]),
            AIMessage(content="Done."),
        ]
    )
    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE, model=model) as (
        app,
        _drivers,
        _clock,
    ):
        home = await app.actions.request(
            site="home", kind="grid_charge_on", requested_by="console:otto"
        )
        barn = await app.actions.request(
            site="barn", kind="grid_charge_on", requested_by="console:bea"
        )
        await app.chat.handle_message(say("hank", "do the things", "#barn"))
        results = {m.name: str(m.content) for m in model.seen[-1] if m.type == "tool"}
        assert "only admin may change roles" in results["set_role"]
        assert results["decide_action"].startswith("Rejected by Hank"), results
        assert NO_ACCESS in results["set_alert_preferences"]
        assert (await app.actions.get(home.id)).status == "rejected"
        assert (await app.actions.get(barn.id)).status == "pending"
        assert not (await app.preferences.channel_prefs("#barn")).critical_only
        await app.chat.handle_message(say("ada", "make sam an operator at the barn"))
        results = {m.name: str(m.content) for m in model.seen[-1] if m.type == "tool"}
        assert "holds at every site" in results["set_role"], results
        assert (await app.chat.actor("console", "sam")).role == "viewer"


async def test_a_shared_thread_gives_no_one_the_others_reads(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Slack and Discord threads are one conversation for everyone in them: Otto's barn
    answers there are not Hank's, neither expanded nor carried over to a follow-up."""

    def said(user: str, text: str) -> InboundMessage:
        return InboundMessage(
            platform="console", user_id=user, channel="#home", text=text, thread="T1"
        )

    async with two_sites(sqlite_url, tmp_path, site_file=SITE_FILE) as (app, _drivers, _clock):
        otto = await app.chat.handle_message(said("otto", "how is the barn?"))
        assert otto.answer.startswith("Barn: Battery at"), otto.answer
        for text in ("more", "why?"):
            answer = await app.chat.handle_message(said("hank", text))
            assert answer.answer.startswith("That answer was for otto"), answer.answer
        carried = await app.chat.handle_message(said("hank", "and the battery?"))
        assert NO_ACCESS in carried.answer and "Barn" not in carried.answer, carried.answer
        await app.chat.handle_message(said("otto", "what happened overnight at the barn"))
        later = await app.chat.handle_message(said("hank", "and since 6am?"))
        assert later.tools == ["timeline"] and NO_ACCESS in later.answer, later.answer
