"""A fleet of simulated Victron GX devices publishing on one broker (for `bench fleet`).

Run as ``python -m bot.bench.fleet_publisher``: it publishes ``--metrics``
dbus-flashmq style notifications per site every ``--interval`` seconds, the
sites spread evenly over the interval, from ``--t0`` (unix time) for
``--duration`` seconds, then prints one JSON line: how many messages it sent
and how far behind its schedule it fell. It runs in its own process so that
the worker being measured does not share its CPU; ``--part i/n`` publishes
every n-th site only, so several processes can share a fleet.

The battery SOC of round ``c`` is ``50 + c % 50``: the worker reads the round back
from the value, so the lag it measures is from this round's scheduled publish
time, however late the reading arrives (see :func:`round_of`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

SOC_TOPIC = "system/0/Dc/Battery/Soc"
ROUNDS_IN_SOC = 50  # the SOC value is 50 % + the round number modulo this
SOC_BASE_PCT = 50  # high enough that no battery alert fires
# Twenty topics a GX publishes, each mapped to a metric by the Victron driver.
FLEET_TOPICS: tuple[tuple[str, float, float], ...] = (
    # (path after N/<portal>/, base value, swing); the SOC is the round number
    (SOC_TOPIC, 0.0, 0.0),
    ("system/0/Dc/Battery/Power", -800.0, 1500.0),
    ("system/0/Dc/Battery/Voltage", 52.0, 2.0),
    ("system/0/Dc/Battery/Current", -15.0, 25.0),
    ("system/0/Dc/Pv/Power", 1500.0, 1500.0),
    ("system/0/Ac/Consumption/L1/Power", 900.0, 500.0),
    ("system/0/Ac/Consumption/L2/Power", 400.0, 200.0),
    ("system/0/Ac/Consumption/L3/Power", 300.0, 200.0),
    ("system/0/Ac/Grid/L1/Power", 100.0, 300.0),
    ("system/0/Ac/Grid/L2/Power", 50.0, 100.0),
    ("system/0/Ac/Grid/L3/Power", 50.0, 100.0),
    ("system/0/Ac/ActiveIn/Source", 1.0, 0.0),
    ("system/0/Ac/PvOnGrid/L1/Power", 500.0, 400.0),
    ("system/0/Ac/PvOnOutput/L1/Power", 200.0, 150.0),
    ("battery/512/Soc", 60.0, 30.0),
    ("battery/512/Dc/0/Voltage", 52.0, 2.0),
    ("battery/512/Dc/0/Current", -15.0, 25.0),
    ("generator/0/State", 0.0, 0.0),
    ("system/0/Relay/0/State", 1.0, 0.0),
    ("settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit", 20.0, 0.0),
)


def portal_id(run: str, index: int) -> str:
    """The portal id of site ``index`` in benchmark run ``run`` (5 hex digits)."""
    return f"{run}{index:07x}"


def send_time(t0: float, index: int, sites: int, interval_s: float, cycle: int) -> float:
    """When site ``index`` publishes its ``cycle``-th round [unix s]."""
    return t0 + index * interval_s / sites + cycle * interval_s


def round_of(
    soc_pct: float, *, t0: float, index: int, sites: int, interval_s: float, now: float
) -> int:
    """The round a SOC reading came from: the latest round published by ``now`` whose
    number modulo :data:`ROUNDS_IN_SOC` is the SOC (a late reading maps to its own
    round, never to a later one)."""
    latest = int((now - send_time(t0, index, sites, interval_s, 0)) // interval_s)
    back = (latest - round(soc_pct) + SOC_BASE_PCT) % ROUNDS_IN_SOC
    return latest - back


def payload(index: int, cycle: int, n: int, base: float, swing: float) -> bytes:
    if n == 0:
        return b'{"value": %d}' % (SOC_BASE_PCT + cycle % ROUNDS_IN_SOC)
    value = base + swing * (((index * 31 + cycle * 7 + n) % 21) - 10) / 10
    return json.dumps({"value": round(value, 2)}).encode()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--run", required=True, help="5 hex digits naming the run's portals")
    parser.add_argument("--sites", type=int, required=True)
    parser.add_argument("--part", default="1/1", help="i/n: publish sites with index % n == i-1")
    parser.add_argument("--metrics", type=int, default=len(FLEET_TOPICS))
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--t0", type=float, required=True)
    args = parser.parse_args(argv)
    part, parts = (int(x) for x in args.part.split("/"))
    topics = FLEET_TOPICS[: args.metrics]
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    client.max_queued_messages_set(0)
    client.connect(args.host, args.port, keepalive=30)
    client.loop_start()
    sent = 0
    slip_s = 0.0
    rounds = max(1, int(args.duration // args.interval))
    mine = [i for i in range(args.sites) if i % parts == part - 1]
    schedule = sorted(
        (send_time(args.t0, i, args.sites, args.interval, c), i, c)
        for c in range(rounds)
        for i in mine
    )
    for at, index, cycle in schedule:
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        else:
            slip_s = max(slip_s, -delay)
        prefix = f"N/{portal_id(args.run, index)}/"
        for n, (path, base, swing) in enumerate(topics):
            client.publish(prefix + path, payload(index, cycle, n, base, swing), qos=0)
            sent += 1
    time.sleep(0.5)
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"sent": sent, "rounds": rounds, "slip_ms": round(slip_s * 1000, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
