"""Two worker processes (SHARD=1/2 and 2/2) on one broker and one PostgreSQL: every site is
handled by exactly one worker, and no reading is doubled or lost."""

from __future__ import annotations

import asyncpg
import pytest

from bot.bench.fleet import fleet_step
from bot.bench.fleet_publisher import FLEET_TOPICS
from bot.bench.fleet_worker import fleet_site_name
from bot.bench.ingest import scratch_postgres
from bot.cluster import served_sites

pytestmark = [pytest.mark.mqtt, pytest.mark.postgres]

SITES = 12
ROUNDS = 2
READINGS_PER_ROUND = 19  # 20 topics; the battery service's three are fallbacks, the
# active-input source gives two metrics (see the Victron driver)


async def test_two_shards_split_the_fleet_without_doubling_or_losing(
    mqtt_broker: tuple[str, int], postgres_admin_url: str
) -> None:
    host, port = mqtt_broker
    names = [fleet_site_name(i) for i in range(SITES)]
    shares = [served_sites(names, shard=f"{i}/2") for i in (1, 2)]
    assert all(shares) and sorted(shares[0] + shares[1]) == names  # a partition, both used
    async with scratch_postgres(postgres_admin_url) as db_url:
        step = await fleet_step(
            db_url=db_url,
            admin_libpq=None,
            sites=SITES,
            duration_s=ROUNDS * 1.0,
            interval_s=1.0,
            host=host,
            port=port,
            workers=2,
        )
        conn = await asyncpg.connect(db_url)
        try:
            rows = await conn.fetch("SELECT site, count(*) AS n FROM readings GROUP BY site")
        finally:
            await conn.close()
    # Each worker received exactly its own sites' messages: nobody else's, none twice.
    per_site = ROUNDS * len(FLEET_TOPICS)
    assert [(w["shard"], w["sites"], w["received"]) for w in step["per_worker"]] == [
        ("1/2", len(shares[0]), len(shares[0]) * per_site),
        ("2/2", len(shares[1]), len(shares[1]) * per_site),
    ]
    assert step["sent"] == step["received"] == SITES * per_site
    assert step["lost"] == 0 and step["doubled"] == 0 and step["shed"] == 0
    # In the database every site has its readings exactly once.
    assert {r["site"]: r["n"] for r in rows} == {n: ROUNDS * READINGS_PER_ROUND for n in names}
    assert step["handled_msg_per_s"] > 0 and step["lag_samples"] == SITES * ROUNDS
