"""What a tool is: its spec (name, description, arguments, what it does to the world,
who may call it, the function that runs it), what it returns, and who is calling."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from tools.actions.service import ActionView, Actor
from tools.cards import Card
from tools.permissions import Permission, Principal, as_role
from tools.site import Site

if TYPE_CHECKING:
    from tools.agent.toolbox import Toolbox

ToolKind = Literal["read", "change", "action"]

# ``(toolbox, site, args, ctx) -> ToolOutput``: ``args`` is an instance of the spec's
# ``args`` model, already validated; ``site`` is the site the call is about, already
# authorised for the spec's ``permission``.
Handler = Callable[["Toolbox", Site, Any, "CallContext"], Awaitable["ToolOutput"]]
# ``(toolbox, args) -> site name``: the site of the object an id in ``args`` names (an
# alert, a rule), or None (not found, no id): then the call is about the usual site.
SiteOfIds = Callable[["Toolbox", Any], Awaitable[str | None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolSpec:
    """A tool: ``kind`` says what it does to the world ("read": nothing; "change": bot
    settings such as silences, floors, roles; "action": an approval-gated request to
    change hardware), ``permission`` what the asker needs on the site it is about, and
    ``run`` the function that answers it."""

    name: str
    description: str
    kind: ToolKind
    args: type[BaseModel]
    run: Handler
    permission: Permission = Permission.SEE_STATUS
    # About several sites (``compare_sites``): the toolbox authorises no single site and
    # the handler checks each site it shows against the permission table.
    multi_site: bool = False
    # Arguments that name an object by id (an alert, a rule): the call is about that
    # object's site, not the channel's, when no site is named ("ack 7" from another
    # site's channel is checked against alert 7's site).
    site_of_ids: SiteOfIds | None = None

    @property
    def mutates(self) -> bool:
        """True when calling it changes something (a setting, or a request for hardware)."""
        return self.kind != "read"

    @property
    def needs_approval(self) -> bool:
        """True when it only creates an action request that a person must approve."""
        return self.kind == "action"

    def openai_schema(self) -> dict[str, Any]:
        """The tool as OpenAI's function-calling schema, without what costs tokens and
        tells the model nothing (titles, ``anyOf`` with null for optional fields)."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": compact_schema(self.args.model_json_schema()),
            },
        }


def compact_schema(schema: Any) -> Any:
    """A JSON schema with titles dropped and ``X | None = None`` fields written as plain
    optional ``X`` (they are not in ``required``, which is what makes them optional)."""
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        out[key] = compact_schema(value)
    variants = out.get("anyOf")
    if isinstance(variants, list) and {"type": "null"} in variants:
        rest = [v for v in variants if v != {"type": "null"}]
        if len(rest) == 1 and out.get("default") is None:
            out.pop("anyOf")
            out.pop("default", None)
            out = {**rest[0], **out}
    return out


@dataclass(slots=True)
class ToolOutput:
    """What a tool answers. ``text`` is the answer itself: its first line answers the
    question, a few lines at most follow. ``more`` holds the breakdown that was left
    out (given when the person says "more"; ``text`` then ends by offering it) and
    ``why`` the reasons behind the answer: the readings, rules and forecasts it rests
    on (given when the person asks "why?")."""

    text: str
    cards: list[Card] = field(default_factory=list)
    action: ActionView | None = None
    error: bool = False
    more: str = ""
    why: str = ""


MORE_HINT = "Say 'more' for the breakdown."


def brief(
    first: str, lines: list[str] | None = None, *, more: str = "", why: str = ""
) -> ToolOutput:
    """An answer in the house shape: ``first`` answers the question, ``lines`` (a few at
    most) follow, and the offer of the breakdown closes it when there is one."""
    body = [first, *(lines or [])]
    if more:
        body.append(MORE_HINT)
    return ToolOutput(text="\n".join(body), more=more, why=why)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallContext:
    """Who is asking, where, and the ids that make a repeated call idempotent."""

    default_site: str
    requested_by: str
    thread_id: str
    call_id: str
    role: str = "viewer"
    sites: frozenset[str] | None = None  # the sites the person may use (None: every site)
    channel: str = ""
    actor_label: str = ""

    @property
    def principal(self) -> Principal:
        return Principal(as_role(self.role), self.sites)

    @property
    def actor(self) -> Actor:
        """The person asking, as the action service and the people directory take them."""
        platform, _, user_id = self.requested_by.partition(":")
        return Actor(
            platform=platform,
            user_id=user_id,
            role=self.principal.role,
            name=self.actor_label,
            sites=self.sites,
        )


class SiteArgs(BaseModel):
    site: str | None = Field(
        default=None, description="Site name; omit to use the conversation's site"
    )


class NoArgs(BaseModel):
    """A tool that takes no arguments."""
