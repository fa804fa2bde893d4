"""Slack user groups for roles: who is in the groups the site file maps to roles.

Slack's event, command and click payloads carry no user groups, so the members of
each mapped group (``groups: [{platform: slack, group_id: S…, role: operator}]``)
are read with ``usergroups.users.list`` (scope ``usergroups:read``), cached for
``ttl_s`` and refreshed when stale. A failed refresh keeps the last known members
(and logs why); before any success a person simply has no group role.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk.errors import SlackClientError

log = logging.getLogger(__name__)


class SlackGroups:
    def __init__(
        self,
        client: Any,
        group_ids: Sequence[str],
        *,
        ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ids = tuple(dict.fromkeys(group_ids))
        self._ttl_s = ttl_s
        self._clock = clock
        self._members: dict[str, frozenset[str]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def refresh(self) -> None:
        members = dict(self._members)
        for group_id in self._ids:
            try:
                response = await self._client.usergroups_users_list(usergroup=group_id)
            except (SlackClientError, OSError, TimeoutError) as err:
                log.warning("Slack user group %s could not be read: %s", group_id, err)
                continue
            members[group_id] = frozenset(str(u) for u in response.get("users") or [])
        self._members = members
        self._fetched_at = self._clock()
        self.refreshes += 1

    async def lookup(self, platform: str, user_id: str) -> tuple[str, ...]:
        """The mapped Slack groups ``user_id`` belongs to (none for other platforms)."""
        if platform != "slack" or not self._ids:
            return ()
        async with self._lock:
            stale = self._fetched_at is None or self._clock() - self._fetched_at >= self._ttl_s
            if stale:
                await self.refresh()
        return tuple(g for g in self._ids if user_id in self._members.get(g, frozenset()))
