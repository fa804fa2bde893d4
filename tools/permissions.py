"""Who may do what, on which site: the one permission table.

Every read and every change asks :func:`authorize` (or :func:`allows` for a
yes/no) with the person's role and the sites they are limited to, for the
site the request is *about* (never the channel it came from). Chat, the
agent tools, the CLI and the action executor all use this module; nothing
else compares role names.

Roles (seeded by the site file, or granted in chat by an unrestricted admin):

- ``admin``: everything, including roles and the knowledge base.
- ``manager``: runs the sites: sees costs, requests and approves actions,
  handles alerts, sets alert rules and site preferences; cannot change roles.
- ``operator``: hands-on: requests and approves actions, handles alerts,
  sets alert rules and site preferences; sees no money figures.
- ``finance``: sees status and costs; changes nothing on a site.
- ``viewer``: sees status; changes nothing but their own display units.

Approving a particular action kind also needs the role to be in that kind's
approval tier (``actions.tiers`` in the site file), which may narrow this
table but never widen it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Role = Literal["admin", "manager", "operator", "finance", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "manager", "operator", "finance", "viewer")


class Permission(StrEnum):
    SEE_STATUS = "see_status"  # readings, alerts, forecasts, plans, reports (no money)
    SEE_COSTS = "see_costs"  # money figures: tariffs, bills, savings, cost projections
    REQUEST_ACTION = "request_action"  # create an action request (nothing runs yet)
    APPROVE_ACTION = "approve_action"  # approve or reject one (subject to the kind's tier)
    HANDLE_ALERTS = "handle_alerts"  # acknowledge, snooze, silence, remove silences
    MANAGE_ALERT_RULES = "manage_alert_rules"  # set and remove a site's alert thresholds
    SET_SITE_PREFERENCES = "set_site_preferences"  # battery floor, channel alert settings
    SET_OWN_PREFERENCES = "set_own_preferences"  # display units for oneself
    MANAGE_ROLES = "manage_roles"  # grant roles in chat (unrestricted admins only)


P = Permission
PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "manager": frozenset(
        {
            P.SEE_STATUS,
            P.SEE_COSTS,
            P.REQUEST_ACTION,
            P.APPROVE_ACTION,
            P.HANDLE_ALERTS,
            P.MANAGE_ALERT_RULES,
            P.SET_SITE_PREFERENCES,
            P.SET_OWN_PREFERENCES,
        }
    ),
    "operator": frozenset(
        {
            P.SEE_STATUS,
            P.REQUEST_ACTION,
            P.APPROVE_ACTION,
            P.HANDLE_ALERTS,
            P.MANAGE_ALERT_RULES,
            P.SET_SITE_PREFERENCES,
            P.SET_OWN_PREFERENCES,
        }
    ),
    "finance": frozenset({P.SEE_STATUS, P.SEE_COSTS, P.SET_OWN_PREFERENCES}),
    "viewer": frozenset({P.SEE_STATUS, P.SET_OWN_PREFERENCES}),
}
# Permissions that act on no site in particular and need access to every site.
UNSCOPED: frozenset[Permission] = frozenset({P.MANAGE_ROLES})

# What each permission is called in a refusal ("... may not <verb>").
VERBS: dict[Permission, str] = {
    P.SEE_STATUS: "see",
    P.SEE_COSTS: "see the costs of",
    P.REQUEST_ACTION: "request actions at",
    P.APPROVE_ACTION: "approve or reject actions at",
    P.HANDLE_ALERTS: "acknowledge, snooze or silence alerts at",
    P.MANAGE_ALERT_RULES: "set or remove alert rules at",
    P.SET_SITE_PREFERENCES: "change the settings of",
    P.SET_OWN_PREFERENCES: "set display preferences",
    P.MANAGE_ROLES: "change roles",
}

# Highest first: a person in several groups gets the strongest role among them.
_RANK: dict[Role, int] = {"viewer": 0, "finance": 1, "operator": 2, "manager": 3, "admin": 4}


def strongest(roles: Iterable[Role]) -> Role:
    """The role with the most permissions among ``roles`` (viewer when empty)."""
    return max(roles, key=_RANK.__getitem__, default="viewer")


def roles_with(permission: Permission) -> tuple[Role, ...]:
    return tuple(r for r in ROLES if permission in PERMISSIONS[r])


def as_role(value: str) -> Role:
    """``value`` as a role; an unknown name (an old database row) counts as viewer."""
    return value if value in PERMISSIONS else "viewer"  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a role, and the sites they are limited to (None: every site)."""

    role: Role
    sites: frozenset[str] | None = None

    def may_see(self, site: str) -> bool:
        return self.sites is None or site in self.sites

    def visible(self, sites: Iterable[str]) -> list[str]:
        return [s for s in sites if self.may_see(s)]


class Forbidden(Exception):
    """A refused permission; the message says why and what the person may do instead."""


def allows(principal: Principal, permission: Permission, site: str | None = None) -> bool:
    """Whether ``principal`` has ``permission`` (on ``site`` when it is about one)."""
    return refusal(principal, permission, site) is None


def refusal(principal: Principal, permission: Permission, site: str | None = None) -> str | None:
    """Why ``principal`` may not do this, or None when they may."""
    role = principal.role
    if permission not in PERMISSIONS.get(role, frozenset()):
        who = ", ".join(roles_with(permission))
        return f"your role is {role}: only {who} may {VERBS[permission]}" + (
            f" {site}" if site and permission not in UNSCOPED else ""
        )
    if permission in UNSCOPED and principal.sites is not None:
        return f"you are limited to {_names(principal.sites)}, so you may not {VERBS[permission]}"
    if site is not None and not principal.may_see(site):
        return (
            f"you do not have access to the site {site!r} "
            f"(you may use {_names(principal.sites or ())})"
        )
    return None


def authorize(principal: Principal, permission: Permission, site: str | None = None) -> None:
    """Raise :class:`Forbidden` unless ``principal`` has ``permission`` (on ``site``)."""
    reason = refusal(principal, permission, site)
    if reason is not None:
        raise Forbidden(reason[0].upper() + reason[1:] + ".")


def check_tier_roles(roles: Collection[str]) -> list[str]:
    """The roles in an approval tier that may not approve anything at all."""
    return [r for r in roles if P.APPROVE_ACTION not in PERMISSIONS.get(r, frozenset())]


def _names(sites: Iterable[str]) -> str:
    names = sorted(sites)
    return ", ".join(names) if names else "no site"
