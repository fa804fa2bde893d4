"""Per-person chat rate limits: the token bucket on a fake clock, and through the chat
service (messages and commands limited per person; clicks are not)."""

from __future__ import annotations

from pathlib import Path

from bot.chat.base import InboundMessage
from bot.ratelimit import RateLimiter, wait_text
from tests.bot.helpers import EVENING, click, running_bot, say
from tools.clock import ManualClock

LIMIT_TEXT = "You are sending requests faster than I can answer"


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(30, clock=clock)  # one token every 2 s, bursts of 30
    assert all(limiter.check("a") == 0.0 for _ in range(30))
    assert limiter.check("a") == 2.0  # empty: the next token in 2 s
    clock.t += 1.0
    assert limiter.check("a") == 1.0  # half a token refilled
    clock.t += 1.0
    assert limiter.check("a") == 0.0  # one token refilled and taken
    assert limiter.check("a") == 2.0
    clock.t += 600  # refills to the burst size, not beyond
    assert all(limiter.check("a") == 0.0 for _ in range(30))
    assert limiter.check("a") > 0


def test_keys_have_their_own_buckets_and_zero_disables() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)
    assert limiter.check(("slack", "U1")) == 0.0
    assert limiter.check(("slack", "U1")) == 0.0
    assert limiter.check(("slack", "U1")) == 30.0
    assert limiter.check(("slack", "U2")) == 0.0
    assert limiter.check(("discord", "U1")) == 0.0
    off = RateLimiter(0, clock=clock)
    assert not off.enabled
    assert all(off.check("a") == 0.0 for _ in range(1000))


def test_wait_text_rounds_up_to_whole_seconds() -> None:
    assert wait_text(1.2) == (
        "You are sending requests faster than I can answer; try again in 2 s."
    )
    assert wait_text(0.01).endswith("try again in 1 s.")


async def test_31st_message_in_a_minute_is_refused_and_others_are_not(
    db_url: str, tmp_path: Path
) -> None:
    clock = ManualClock(EVENING)
    async with running_bot(db_url=db_url, data_dir=tmp_path, clock=clock) as (app, adapter, _):
        limiter = app.chat._limiter
        assert limiter.capacity == 30  # the default setting, wired by the app
        fake = FakeClock()
        limiter._clock = fake  # the bucket runs on a fake clock; the bot on its own

        await app.monitor.poll_once()
        for _ in range(30):
            result = await app.chat.handle_message(say("olga", "help"))
            assert LIMIT_TEXT not in result.answer
        posted = len(adapter.texts())

        refused = await app.chat.handle_message(say("olga", "how is the battery?"))
        assert refused.answer == (
            "You are sending requests faster than I can answer; try again in 2 s."
        )
        assert refused.tools == [] and refused.cards == [] and refused.actions == []
        assert adapter.texts()[posted:] == [refused.answer]  # posted, and nothing else

        # a command from the same person is refused as well, without running anything
        command = InboundMessage(platform="console", user_id="olga", channel="#demo", text="status")
        assert (await app.chat.handle_command(command)).answer.startswith(LIMIT_TEXT)

        # another person is unaffected
        other = await app.chat.handle_message(say("ada", "how is the battery?"))
        assert LIMIT_TEXT not in other.answer
        assert other.tools

        # button clicks are never limited
        reply = await app.chat.handle_click(click("olga", "ack", "999999"))
        assert LIMIT_TEXT not in reply

        fake.t += 2.0  # one token back
        again = await app.chat.handle_message(say("olga", "how is the battery?"))
        assert LIMIT_TEXT not in again.answer
        assert again.tools
