"""Alert rules set in chat, end to end: the message, the stored rule, a reading past the
threshold through the telemetry pipeline, the alert posted; roles and sites checked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.app import App
from tests.bot.test_security import say, two_sites
from tools.domain import Reading
from tools.telemetry import SiteState


async def _reading(app: App, site: str, metric: str, value: float) -> None:
    """A reading as a driver would deliver it: validated, stored, handed to the engine."""
    accepted = await app.pipeline.ingest(
        [Reading(site=site, metric=metric, time=app.clock.now(), value=value, device="simulator")]
    )
    assert len(accepted) == 1


def _voltage(app: App, site: str) -> float:
    state: SiteState = app.pipeline.latest(site)
    value = state.get("battery_voltage_v")
    assert value is not None
    return value


async def test_a_threshold_set_in_chat_becomes_an_alert(sqlite_url: str, tmp_path: Path) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, clock):
        now_v = _voltage(app, "home")
        threshold = round(now_v - 1.0, 1)
        set_reply = await app.chat.handle_message(
            say("hank", f"alert me if the battery voltage drops below {threshold} V for 2 minutes")
        )
        assert set_reply.tools == ["set_alert_rule"], set_reply.answer
        assert set_reply.answer.startswith("Alert rule #1 set at Home: battery voltage <")
        assert f"{threshold:g} V for 2 min (warning)" in set_reply.answer

        listed = await app.chat.handle_message(say("vic", "what alert rules do I have?"))
        assert listed.tools == ["list_alert_rules"]
        assert f"#1 battery voltage < {threshold:g} V for 2 min (warning, by @Hank" in listed.answer

        # Readings below the threshold: pending first, firing once it held 2 minutes.
        await _reading(app, "home", "battery_voltage_v", threshold - 0.5)
        assert [a for a in await app.alerts.open_alerts("home") if a.rule == "user:1"] == []
        for _ in range(3):
            clock.advance(timedelta(minutes=1))
            await _reading(app, "home", "battery_voltage_v", threshold - 0.5)
        (alert,) = [a for a in await app.alerts.open_alerts("home") if a.rule == "user:1"]
        assert alert.status == "firing"
        assert alert.summary.startswith(
            f"Battery voltage {threshold - 0.5:.4g} V is below your {threshold:g} V threshold "
            "for 2 min (rule #1 by @Hank"
        )
        # The other site is untouched.
        assert [a for a in await app.alerts.open_alerts("barn") if a.rule.startswith("user:")] == []
        answer = await app.chat.handle_message(say("vic", "any alerts?"))
        assert "below your" in answer.answer

        # Back above the threshold plus the hysteresis band: resolved.
        clock.advance(timedelta(minutes=1))
        await _reading(app, "home", "battery_voltage_v", threshold + 2.0)
        assert [a for a in await app.alerts.open_alerts("home") if a.rule == "user:1"] == []

        removed = await app.chat.handle_message(say("hank", "delete rule 1"))
        assert removed.tools == ["remove_alert_rule"]
        assert removed.answer.startswith("Removed alert rule #1 at Home")
        assert app.alert_rules.for_site("home") == ()


async def test_roles_and_sites_are_checked(sqlite_url: str, tmp_path: Path) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        ask = "warn me when the battery drops under 30%"
        for user in ("vic", "fin"):  # viewer, finance
            refused = await app.chat.handle_message(say(user, ask))
            assert refused.tools == ["set_alert_rule"]
            assert "may set or remove alert rules" in refused.answer
            assert "only admin, manager, operator" in refused.answer
        assert app.alert_rules.for_site("home") == ()

        # Hank may use home only: a barn rule is refused, in either channel.
        for channel in ("#home", "#barn"):
            barn = await app.chat.handle_message(say("hank", f"{ask} at barn", channel=channel))
            assert "do not have access to the site 'barn'" in barn.answer
        assert app.alert_rules.for_site("barn") == ()

        # Bea (barn operator) sets one at the barn; Hank may not delete it by its number.
        made = await app.chat.handle_message(say("bea", ask, channel="#barn"))
        assert made.answer.startswith("Alert rule #1 set at Barn: battery soc < 30 %"), made.answer
        gone = await app.chat.handle_message(say("hank", "delete rule 1"))
        assert "do not have access to the site 'barn'" in gone.answer
        assert [r.id for r in app.alert_rules.for_site("barn")] == [1]
        # A rule's number is about the rule's site: named with another site, it is said back.
        odd = await app.chat.handle_message(say("otto", "delete rule 1 at home"))
        assert "Alert rule #1 is at barn, not at Home" in odd.answer, odd.answer
        # Bea may not use home, yet from the home channel she may delete her barn rule.
        mine = await app.chat.handle_message(say("bea", "delete rule 1", channel="#home"))
        assert mine.answer.startswith("Removed alert rule #1 at Barn"), mine.answer
        assert app.alert_rules.for_site("barn") == ()
        # Hank's list of home shows nothing of the barn.
        listed = await app.chat.handle_message(say("hank", "show my alert rules"))
        assert "No alert rules set in chat at Home" in listed.answer


async def test_unknown_metrics_and_silly_values_get_a_clear_error(
    sqlite_url: str, tmp_path: Path
) -> None:
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        panel = await app.chat.handle_message(
            say("ada", "alert me if the panel voltage drops below 12 V")
        )
        assert panel.tools == ["set_alert_rule"]
        assert "Home does not report panel voltage. It has: battery soc (%)" in panel.answer
        silly = await app.chat.handle_message(say("ada", "alert me if the battery is below 130%"))
        assert "between 0 % and 100 %" in silly.answer
        assert app.alert_rules.for_site("home") == ()
        # Schedules are still refused, with the reason.
        schedule = await app.chat.handle_message(
            say("ada", "alert me every morning if the battery is below 30%")
        )
        assert schedule.tools == []
        assert "schedule" in schedule.answer.lower()


async def test_a_rule_can_be_removed_by_what_it_watches(sqlite_url: str, tmp_path: Path) -> None:
    """'remove my 30 % battery warning': the one rule that fits, without its number."""
    async with two_sites(sqlite_url, tmp_path) as (app, _drivers, _clock):
        for ask in (
            "alert me if the battery drops below 30%",
            "alert me if the battery drops below 15%",
        ):
            made = await app.chat.handle_message(say("ada", ask))
            assert made.tools == ["set_alert_rule"], made.answer
        both = await app.chat.handle_message(say("ada", "delete my battery warning"))
        assert both.tools == ["remove_alert_rule"], both.answer
        assert "Several alert rules at Home fit" in both.answer
        assert len(app.alert_rules.for_site("home")) == 2  # nothing removed on a guess
        one = await app.chat.handle_message(say("ada", "remove my 30% battery warning"))
        assert one.tools == ["remove_alert_rule"], one.answer
        assert one.answer.startswith("Removed alert rule #1 at Home"), one.answer
        listed = await app.chat.handle_message(say("ada", "what alert rules do I have?"))
        assert "#2" in listed.answer and "#1 " not in listed.answer
        # A viewer may not, whichever way the rule is named.
        refused = await app.chat.handle_message(say("vic", "remove my 15% battery warning"))
        assert "Removed" not in refused.answer
