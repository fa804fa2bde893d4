"""Roles granted by name reach the one person of that name, or nobody: never a made-up id
(a Slack or Discord user never logs in under a name, so a grant to "Mark Ellis" was a
role nobody held while the admin believed it given)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.actions.service import Actor
from tools.clock import ManualClock
from tools.people import Directory, UnknownPerson
from tools.site import Person

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
ADMIN = Actor(platform="slack", user_id="UADMIN001", role="admin", name="Ada")
PEOPLE = [
    Person(platform="slack", user_id="UADMIN001", name="Ada", role="admin"),
    Person(platform="slack", user_id="UKELLER01", name="Maria Keller", role="viewer"),
    Person(platform="slack", user_id="UMARK0001", name="Mark Ellis", role="viewer"),
    Person(platform="slack", user_id="UMARK0002", name="Mark Owen", role="viewer"),
    Person(platform="console", user_id="hank", name="Hank", role="operator"),
]


@pytest.fixture
def directory(sessionmaker: async_sessionmaker[AsyncSession]) -> Directory:
    return Directory(sessionmaker=sessionmaker, clock=ManualClock(NOW), people=PEOPLE)


async def test_a_name_resolves_to_the_one_person_so_named(directory: Directory) -> None:
    assert await directory.resolve("slack", "Maria Keller") == "UKELLER01"
    assert await directory.resolve("slack", "maria") == "UKELLER01"  # a first name
    assert await directory.resolve("slack", "UZZZZZZ99") == "UZZZZZZ99"  # an id stays
    assert await directory.resolve("slack", "<@UKELLER01>") == "UKELLER01"
    assert await directory.resolve("console", "Hank") == "hank"


async def test_an_unknown_or_ambiguous_name_grants_nothing(
    directory: Directory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(UnknownPerson, match="don't know anyone called 'Bob'"):
        await directory.grant(ADMIN, platform="slack", user_id="Bob", role="operator")
    with pytest.raises(UnknownPerson, match="Several people on slack are called 'Mark'"):
        await directory.grant(ADMIN, platform="slack", user_id="Mark", role="operator")
    async with sessionmaker() as session:
        assert await repo.get_identity(session, platform="slack", user_id="Bob") is None
        assert await repo.list_identities(session, source="chat") == []


async def test_a_name_recorded_by_a_grant_is_found_again(
    directory: Directory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session, session.begin():
        await repo.upsert_identity(
            session,
            platform="slack",
            user_id="UPRIYA001",
            role="viewer",
            display_name="Priya Kumar",
            now=NOW,
            source="chat",
        )
    text = await directory.grant(ADMIN, platform="slack", user_id="priya", role="manager")
    assert text.startswith("UPRIYA001 on slack is now manager (was viewer)"), text
    who = await directory.identity("slack", await directory.resolve("slack", "Priya Kumar"))
    assert who.role == "manager"
