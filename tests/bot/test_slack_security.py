"""A hostile user on two sites, through Slack's signed block_actions into the Bolt app.

Slack's side is test_slack.py's: its recorded block_actions payload, re-signed with
the test secret, posted to /slack/events, and a local fake of the Web API that
records the ephemeral replies. ``home`` and ``barn`` each have their Slack channel;
Hank is an operator limited to home, Bea one limited to barn.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert, select

from bot.app import App, open_app
from bot.chat.slack import InFlight, SlackAdapter, build_slack_app, slack_client, slack_routes
from bot.settings import Settings
from bot.web import build_web_app
from storage import repositories as repo
from storage.models import AlertRow
from tests.bot.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.helpers import EVENING, CountingDriver
from tests.bot.test_slack import BOT_TOKEN, SECRET, event_body, sign
from tests.conftest import shared_data
from tools.clock import ManualClock
from tools.devices.simulator import SimulatedSite
from tools.site import Channels, Person, SiteFile, demo_site_file

C_HOME, C_BARN = "CHOME01", "CBARN01"
HANK, BEA = "UHANK01", "UBEA001"
NO_BARN = "do not have access to the site 'barn'"


def site_file() -> SiteFile:
    demo = demo_site_file().sites[0]
    home = demo.model_copy(
        update={"name": "home", "title": "Home", "channels": Channels(slack=C_HOME)}
    )
    barn = demo.model_copy(
        update={"name": "barn", "title": "Barn", "channels": Channels(slack=C_BARN)}
    )
    return SiteFile(
        sites=[home, barn],
        people=[
            Person(platform="slack", user_id=HANK, name="Hank", role="operator", sites=["home"]),
            Person(platform="slack", user_id=BEA, name="Bea", role="operator", sites=["barn"]),
        ],
    )


def click_body(*, user: str, channel: str, action_id: str, value: str) -> str:
    """Slack's recorded block_actions payload: ``user`` pressed our button in ``channel``."""
    payload = json.loads(shared_data("slack/block_actions_payload.json").read_text())
    payload["user"].update(id=user, username=user.lower(), name=user.lower())
    payload["container"].update(message_ts="1.000001", channel_id=channel, is_ephemeral=False)
    payload["channel"]["id"] = channel
    payload["actions"][0].update(action_id=action_id, value=value, block_id="cc")
    return "payload=" + quote(json.dumps(payload))


@dataclass
class Rig:
    app: App
    fake: FakeSlack
    http: TestClient[Any, Any]

    async def press(self, user: str, channel: str, action_id: str, value: str) -> str:
        """A signed click; the ephemeral reply the person got."""
        before = len(self.replies(user))
        body = click_body(user=user, channel=channel, action_id=action_id, value=value)
        response = await self.http.post(
            "/slack/events",
            data=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
        assert response.status == 200
        await self.fake.wait_for(lambda: len(self.replies(user)) > before, what="the reply")
        reply = self.replies(user)[before]
        assert reply.args["channel"] == channel
        return str(reply.args["text"])

    def replies(self, user: str) -> list[Any]:
        return [c for c in self.fake.calls_to("chat.postEphemeral") if c.args["user"] == user]


@asynccontextmanager
async def slack_two_sites(tmp_path: Path) -> AsyncIterator[tuple[Rig, dict[str, CountingDriver]]]:
    clock = ManualClock(EVENING)
    sites = site_file()
    drivers = {
        s.name: CountingDriver(SimulatedSite(s, seed=7, start=clock.now())) for s in sites.sites
    }
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/cc.sqlite", channel_min_interval_s=0
    )
    async with FakeSlack() as fake:
        client = slack_client(BOT_TOKEN, base_url=fake.api_url)
        async with open_app(
            settings, adapter=[SlackAdapter(client)], clock=clock, site_file=sites, drivers=drivers
        ) as app:
            await app.monitor.poll_once()
            inflight = InFlight()
            bolt = build_slack_app(
                chat=app.chat,
                signing_secret=SECRET,
                token=BOT_TOKEN,
                client=client,
                socket_mode=False,
                inflight=inflight,
            )
            async with TestClient(
                TestServer(build_web_app(app.engine, routes=slack_routes(bolt)))
            ) as http:
                try:
                    yield Rig(app, fake, http), drivers
                finally:
                    await inflight.cancel()


async def _seed_alerts(app: App, site: str, count: int) -> list[int]:
    rows = [
        {
            "site": site,
            "fingerprint": f"{site}:seeded-{i}",
            "rule": f"seeded-{i}",
            "severity": "warning",
            "status": "firing",
            "title": f"Seeded alert {i}",
            "summary": "seeded",
            "started_at": EVENING,
            "updated_at": EVENING,
            "fired_at": EVENING,
        }
        for i in range(count)
    ]
    async with app.sessionmaker() as session, session.begin():
        await session.execute(insert(AlertRow), rows)
        found = await session.scalars(
            select(AlertRow.id).where(AlertRow.site == site, AlertRow.rule.like("seeded-%"))
        )
        return sorted(found.all())


async def test_slack_clicks_on_another_sites_ids_are_refused(tmp_path: Path) -> None:
    async with slack_two_sites(tmp_path) as (rig, drivers):
        app = rig.app
        barn = await app.actions.request(
            site="barn", kind="stop_miners", requested_by=f"slack:{BEA}"
        )
        # The barn's request id in a payload from Hank, in either channel, as approve
        # or reject, in full, as a prefix, in capitals.
        for channel in (C_HOME, C_BARN):
            for action_id in ("cc_approve", "cc_reject"):
                for value in (barn.id, barn.id[:8], barn.id.upper()):
                    reply = await rig.press(HANK, channel, action_id, value)
                    assert NO_BARN in reply and "Nothing was changed" in reply, reply
        # Another person's id carried in the value is no request id (the payload's
        # user, signed by Slack, is who pressed).
        reply = await rig.press(HANK, C_HOME, "cc_approve", f"{barn.id}:{BEA}")
        assert "is not a request id" in reply, reply
        # Odd unicode in place of the hex id, and a huge value.
        for value in ("０ｂａｄｃ０ｄｅ", "0bad\u200bc0de", "ⅷ" * 40, "a" * 100_000):
            reply = await rig.press(HANK, C_HOME, "cc_approve", value)
            assert "is not a request id" in reply, reply[:200]
        assert (await app.actions.get(barn.id)).status == "pending"
        assert drivers["barn"].commands == []
        async with app.sessionmaker() as session:
            audit = [a.event for a in await repo.list_audit(session, action_id=barn.id)]
        assert audit.count("decision_denied") == 12


async def test_slack_ten_thousand_alert_ids_only_touch_the_pressers_site(tmp_path: Path) -> None:
    async with slack_two_sites(tmp_path) as (rig, _drivers):
        app = rig.app
        home = await _seed_alerts(app, "home", 5_000)
        barn = await _seed_alerts(app, "barn", 5_000)
        mixed = [i for pair in zip(home, barn, strict=True) for i in pair]
        reply = await rig.press(HANK, C_BARN, "cc_ack", ",".join(map(str, mixed)))
        assert reply.startswith(f"Acknowledged 5000 alerts ({home[0]}, "), reply[:200]
        assert f"5000 alerts ({barn[0]}, " in reply and NO_BARN in reply, reply[-300:]
        snoozed = await rig.press(HANK, C_HOME, "cc_snooze", f"{barn[0]}:600")
        assert NO_BARN in snoozed, snoozed
        for value in ("1e3", "0x10", "ⅷ", "1;DROP TABLE alerts", "12:" + "9" * 5000):
            reply = await rig.press(HANK, C_HOME, "cc_snooze", value)
            assert reply.startswith("Unknown alert"), (value[:20], reply[:200])
        # A snooze length no card carries is said back, not a failure "on our side".
        for minutes in ("0", "-5", "9" * 20, str(60 * 24 * 15)):
            reply = await rig.press(HANK, C_HOME, "cc_snooze", f"{home[1]}:{minutes}")
            assert reply.startswith("A snooze lasts from 1 minute to 14 days"), reply
        async with app.sessionmaker() as session:
            statuses = dict(
                (
                    await session.execute(
                        select(AlertRow.site, AlertRow.status).where(
                            AlertRow.id.in_([home[0], barn[0], barn[-1]])
                        )
                    )
                ).all()
            )
        assert statuses == {"home": "acknowledged", "barn": "firing"}


async def test_slack_huge_mentions_are_refused_unread(tmp_path: Path) -> None:
    async with slack_two_sites(tmp_path) as (rig, drivers):
        ids = " ".join(f"{n:08x}" for n in range(10_000))
        for n, text in enumerate(("stop the miners at the barn " * 3_700, f"approve {ids}")):
            body = event_body(
                f"Ev{n}",
                {
                    "type": "app_mention",
                    "user": BEA,
                    "channel": C_BARN,
                    "text": f"<@{BOT_USER_ID}> {text}",
                    "ts": f"1700000000.00000{n}",
                },
            )
            response = await rig.http.post(
                "/slack/events",
                data=body.encode(),
                headers={"Content-Type": "application/json", **sign(body)},
            )
            assert response.status == 200

            def refusals() -> list[Any]:
                return [p for p in rig.fake.posts(C_BARN) if "characters long" in p.args["text"]]

            answer = (await rig.fake.wait_for(lambda i=n: refusals()[i:], what="the refusal"))[0]
            assert "fewer words" in answer.args["text"]
        assert await rig.app.actions.list_requests() == []
        assert drivers["barn"].commands == []
