"""Who a chat user is: their role, where it came from, and the sites they may use.

Two sources of roles, and a fixed rule between them:

- **The site file wins** for the people it lists: their role and site limits
  are re-read at every start, and a grant in chat for such a person is refused
  with a pointer to the file (so nothing silently reverts at the next start).
- **Grants in chat** (by an admin with access to every site) are for people
  the file does not list; they are stored with who granted them, survive
  restarts, and are audited. A person removed from the file loses the role the
  file gave them at the next start (also audited).

One human's accounts (Slack, Discord, console) are linked only by the site
file (entries sharing ``person:``, which must agree on role and sites), so a
linked account's role can never be changed in chat apart from the others. An
account given a role in chat is a person of its own.

Slack user groups and Discord roles mapped in the site file raise a person's
role to the group's when it is stronger. Everyone else is a viewer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import repositories as repo
from tools.actions.service import Actor
from tools.clock import Clock
from tools.errors import ToolsError
from tools.permissions import (
    ROLES,
    Forbidden,
    Permission,
    Role,
    as_role,
    authorize,
    strongest,
)
from tools.site import PLATFORM_NAMES, Group, Humans, Person

Source = Literal["site_file", "chat", "group", "default"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    platform: str
    user_id: str
    name: str
    role: Role
    source: Source
    sites: frozenset[str] | None
    granted_by: str = ""
    updated_at: datetime | None = None
    person: str | None = None  # the site file's person id, when it links accounts
    accounts: tuple[str, ...] = ()  # every account of that person (this one included)

    def describe(self) -> str:
        """One line for "who is U123?"."""
        who = f"{self.name} ({self.platform}:{self.user_id})" if self.name else self.user_id
        where = "every site" if self.sites is None else ", ".join(sorted(self.sites)) or "no site"
        origin = {
            "site_file": "set in the site file",
            "chat": f"granted in chat by {self.granted_by or 'an admin'}"
            + (f" on {self.updated_at:%Y-%m-%d %H:%M} UTC" if self.updated_at else ""),
            "group": "from a mapped user group or Discord role",
            "default": "the default for people the bot does not know",
        }[self.source]
        linked = (
            f" In the site file they are person {self.person!r} with "
            f"{len(self.accounts)} accounts ({_platforms(self.accounts)}): one approver."
            if self.person and len(self.accounts) > 1
            else ""
        )
        return f"{who} is {self.role} ({origin}); may use {where}.{linked}"


def _platforms(accounts: Sequence[str]) -> str:
    """E.g. '2 on Slack, 1 on Discord'."""
    counts: dict[str, int] = {}
    for account in accounts:
        platform = account.partition(":")[0]
        counts[platform] = counts.get(platform, 0) + 1
    return ", ".join(f"{n} on {PLATFORM_NAMES.get(p, p)}" for p, n in counts.items())


class UnknownPerson(ToolsError):
    """A name that fits no one, or several people, on the platform."""


# What a platform's own user ids look like (names never do).
_PLATFORM_ID = {
    "slack": re.compile(r"^[UW][A-Z0-9]{6,}$"),
    "discord": re.compile(r"^\d{15,21}$"),
}
_NEVER = re.compile(r"(?!)")


class Directory:
    """Resolves chat users to actors, answers "who is", and grants roles."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        people: Sequence[Person] = (),
        groups: Sequence[Group] = (),
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._people: dict[tuple[str, str], Person] = {(p.platform, p.user_id): p for p in people}
        self._humans = Humans(people)
        self._groups = tuple(groups)

    def listed(self, platform: str, user_id: str) -> Person | None:
        return self._people.get((platform, user_id))

    async def resolve(self, platform: str, said: str) -> str:
        """The user id of the person ``said`` names: an id as given (a Slack ``U…``, a
        Discord snowflake, anyone known by that id), else a person known by that name
        (the site file's people, names the bot has recorded). Raises
        :class:`UnknownPerson` when no one or several people fit, so a role is never
        granted to a name nobody logs in with."""
        said = said.strip().lstrip("@").strip("<>@!")
        if (platform, said) in self._people or _PLATFORM_ID.get(platform, _NEVER).match(said):
            return said
        async with self._sessionmaker() as session:
            if await repo.get_identity(session, platform=platform, user_id=said) is not None:
                return said
            rows = await repo.identities_named(session, platform=platform, name=said)
        lowered = said.lower()
        found = {
            p.user_id
            for p in self._people.values()
            if p.platform == platform
            and p.name
            and (p.name.lower() == lowered or p.name.lower().startswith(lowered + " "))
        } | {row.user_id for row in rows}
        if len(found) == 1:
            return found.pop()
        if platform == "console" and not found:
            return said  # on the console a person's id is the name they type under
        if found:
            raise UnknownPerson(
                f"Several people on {platform} are called {said!r} ({', '.join(sorted(found))}): "
                "say which by their user id or mention."
            )
        raise UnknownPerson(
            f"I don't know anyone called {said!r} on {platform}: give their user id or "
            "@mention them (nothing was changed)."
        )

    async def sync(self, session: AsyncSession, *, now: datetime) -> None:
        """At start-up: write the site file's people, and take back file roles from people
        the file no longer lists (chat grants are left alone)."""
        for person in self._people.values():
            await repo.upsert_identity(
                session,
                platform=person.platform,
                user_id=person.user_id,
                role=person.role,
                display_name=person.name,
                now=now,
                source="site_file",
            )
        for row in await repo.list_identities(session, source="site_file"):
            if (row.platform, row.user_id) in self._people or row.role == "viewer":
                continue
            old = row.role
            row.role = "viewer"
            row.updated_at = now
            await repo.append_audit(
                session,
                time=now,
                actor="system",
                event="role_revoked",
                details={
                    "platform": row.platform,
                    "user_id": row.user_id,
                    "role": old,
                    "reason": "no longer listed in the site file",
                },
            )

    async def identity(self, platform: str, user_id: str, groups: Sequence[str] = ()) -> Identity:
        person = self._people.get((platform, user_id))
        async with self._sessionmaker() as session, session.begin():
            row = await repo.get_identity(session, platform=platform, user_id=user_id)
        name = (person.name if person else "") or (row.display_name if row else "")
        if person is not None:
            role, source = person.role, "site_file"
        elif row is not None and row.role_source == "chat":
            role, source = as_role(row.role), "chat"
        else:
            role, source = "viewer", "default"
        mapped = [g.role for g in self._groups if g.platform == platform and g.group_id in groups]
        if mapped and strongest([*mapped, role]) != role:
            role, source = strongest(mapped), "group"
        sites = frozenset(person.sites) if person is not None and person.sites is not None else None
        account = f"{platform}:{user_id}"
        return Identity(
            platform=platform,
            user_id=user_id,
            name=name,
            role=role,
            source=source,  # type: ignore[arg-type]
            sites=sites,
            granted_by=row.granted_by if row is not None and source == "chat" else "",
            updated_at=row.updated_at if row is not None and source == "chat" else None,
            person=self._humans.person_id(account),
            accounts=self._humans.accounts(account),
        )

    async def actor(
        self, platform: str, user_id: str, user_name: str = "", groups: Sequence[str] = ()
    ) -> Actor:
        who = await self.identity(platform, user_id, groups)
        return Actor(
            platform=platform,
            user_id=user_id,
            role=who.role,
            name=user_name or who.name or user_id,
            sites=who.sites,
        )

    async def grant(self, by: Actor, *, platform: str, user_id: str, role: str) -> str:
        """Give ``user_id`` a role from chat; raises :class:`Forbidden` with the reason."""
        authorize(by.principal, Permission.MANAGE_ROLES)
        if role not in ROLES:
            raise Forbidden(f"Unknown role {role!r}; roles: {', '.join(ROLES)}.")
        user_id = await self.resolve(platform, user_id)
        person = self._people.get((platform, user_id))
        if person is not None:
            accounts = self._humans.accounts(person.account)
            every = (
                f" (person {person.person!r}, {len(accounts)} accounts: {_platforms(accounts)})"
                if len(accounts) > 1
                else ""
            )
            raise Forbidden(
                f"{person.name or user_id} is listed in the site file as {person.role}{every}; "
                "the site file decides their role, so change it there"
                + (" on every entry of the person" if every else "")
                + " and restart."
            )
        if (platform, user_id) == (by.platform, by.user_id):
            raise Forbidden("You cannot change your own role.")
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            before = await repo.get_identity(session, platform=platform, user_id=user_id)
            old = before.role if before is not None and before.role_source == "chat" else "viewer"
            await repo.upsert_identity(
                session,
                platform=platform,
                user_id=user_id,
                role=role,
                now=now,
                source="chat",
                granted_by=by.label,
            )
            await repo.append_audit(
                session,
                time=now,
                actor=by.key,
                event="role_changed",
                details={"platform": platform, "user_id": user_id, "role": role, "was": old},
            )
        return (
            f"{user_id} on {platform} is now {role} (was {old}), on every site; "
            "granted in chat and recorded in the audit log."
        )
