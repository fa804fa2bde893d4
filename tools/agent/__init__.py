"""The agent's tools: what the assistant (the offline planner or a language model) can
call, one module per family.

Layout:

- ``spec.py``: :class:`ToolSpec` (name, description, argument model, ``kind``,
  ``permission`` and the ``run`` handler), :class:`ToolOutput`, :class:`CallContext`.
  ``kind`` says what a tool does to the world: "read" nothing, "change" a bot setting
  (silences, floors, roles), "action" an approval-gated request to change hardware;
  ``ToolSpec.mutates`` and ``ToolSpec.needs_approval`` derive from it.
- ``toolbox.py``: :class:`Toolbox`, the services, and :meth:`Toolbox.call`, which
  validates the arguments, resolves the site, checks the asker's permission on it and
  runs the spec's handler ``(toolbox, site, args, ctx) -> ToolOutput``.
- one module per family, each with its argument models, its handlers and a ``SPECS``
  tuple: ``status``, ``forecasts``, ``week``, ``plans``, ``fuel``, ``reports``, ``compare``,
  ``timeline`` (what happened, what was unusual, INA228 readings), ``alerts``, ``alert_rules``,
  ``people``, ``approvals``, ``knowledge``, ``actions``; ``common`` holds small wording helpers.

Action tools never touch hardware: they only create approval-gated action requests.

To add a family: write ``tools/agent/<family>.py`` with its argument models, handlers
and ``SPECS``, then add the module to ``_FAMILIES`` below. :data:`TOOL_SPECS` (the
order the model sees the tools in) and :data:`SPECS_BY_NAME` follow, and so do the
planner's follow-ups, ``commandcenter tools`` and the tests that walk every tool.
"""

from __future__ import annotations

from tools.agent import (
    actions,
    alert_rules,
    alerts,
    approvals,
    compare,
    forecasts,
    fuel,
    knowledge,
    people,
    plans,
    reports,
    status,
    timeline,
    week,
)
from tools.agent.actions import GridChargeArgs, LoadsArgs
from tools.agent.alerts import (
    AlertPrefsArgs,
    AlertRefArgs,
    SilenceArgs,
    SilenceRefArgs,
    SnoozeArgs,
)
from tools.agent.approvals import DecideArgs
from tools.agent.forecasts import ForecastArgs
from tools.agent.fuel import FuelArgs
from tools.agent.knowledge import KnowledgeArgs
from tools.agent.people import PreferencesArgs, RoleArgs, WhoArgs
from tools.agent.reports import ReportArgs
from tools.agent.spec import (
    CallContext,
    Handler,
    NoArgs,
    SiteArgs,
    ToolKind,
    ToolOutput,
    ToolSpec,
    compact_schema,
)
from tools.agent.toolbox import Toolbox

# One line per family, in the order the tools are listed to the model.
_FAMILIES = (
    status,
    forecasts,
    week,
    plans,
    fuel,
    reports,
    compare,
    timeline,
    alerts,
    alert_rules,
    people,
    approvals,
    knowledge,
    actions,
)

TOOL_SPECS: tuple[ToolSpec, ...] = tuple(spec for family in _FAMILIES for spec in family.SPECS)
SPECS_BY_NAME: dict[str, ToolSpec] = {s.name: s for s in TOOL_SPECS}

__all__ = [
    "SPECS_BY_NAME",
    "TOOL_SPECS",
    "AlertPrefsArgs",
    "AlertRefArgs",
    "CallContext",
    "DecideArgs",
    "ForecastArgs",
    "FuelArgs",
    "GridChargeArgs",
    "Handler",
    "KnowledgeArgs",
    "LoadsArgs",
    "NoArgs",
    "PreferencesArgs",
    "ReportArgs",
    "RoleArgs",
    "SilenceArgs",
    "SilenceRefArgs",
    "SiteArgs",
    "SnoozeArgs",
    "ToolKind",
    "ToolOutput",
    "ToolSpec",
    "Toolbox",
    "WhoArgs",
    "compact_schema",
]
