"""The ``/energy`` command, the same on every platform (pure parsing).

/energy status [site]
/energy forecast [site] [today|tomorrow]
/energy alerts [site]
/energy ask <question>
/energy approvals [site]
/energy prefs [critical-only on|off | quiet HH:MM-HH:MM | quiet off]
/energy silence <what> [for <duration>]
/energy help
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SUBCOMMANDS = ("status", "forecast", "alerts", "ask", "approvals", "prefs", "silence", "help")

USAGE = (
    "Usage: /energy status [site] · forecast [site] [today|tomorrow] · alerts [site] · "
    "ask <question> · approvals [site] · prefs [critical-only on|off | quiet 22:00-07:00 | "
    "quiet off] · silence <what> for <time> · help"
)


@dataclass(frozen=True, slots=True)
class EnergyCommand:
    name: str  # one of SUBCOMMANDS, or "unknown"
    site: str | None = None
    question: str = ""  # what the assistant is asked ("" for approvals)
    error: str = ""


def parse_energy(text: str, *, site_names: Sequence[str]) -> EnergyCommand:
    """Turn the text after ``/energy`` into a command and the question it stands for."""
    words = text.strip().split()
    if not words:
        return EnergyCommand("help", question="help")
    name, rest = words[0].lower(), words[1:]
    known = {s.lower(): s for s in site_names}
    site = None
    if name in ("status", "forecast", "alerts", "approvals") and rest and rest[0].lower() in known:
        site = known[rest[0].lower()]
        rest = rest[1:]
    tail = " ".join(rest)
    if name == "status":
        return EnergyCommand("status", site, "site status")
    if name == "forecast":
        day = "tomorrow" if rest and rest[0].lower() == "tomorrow" else "today"
        return EnergyCommand("forecast", site, f"solar forecast for {day}")
    if name == "alerts":
        return EnergyCommand("alerts", site, "any alerts?")
    if name == "approvals":
        return EnergyCommand("approvals", site)
    if name == "ask":
        if not tail:
            return EnergyCommand("ask", error="Ask what? e.g. /energy ask how is the battery?")
        return EnergyCommand("ask", None, tail)
    if name == "prefs":
        return EnergyCommand("prefs", None, _prefs_question(rest))
    if name == "silence":
        if not tail:
            return EnergyCommand(
                "silence", error="Silence what? e.g. /energy silence solar alerts for 2 days"
            )
        return EnergyCommand("silence", None, f"silence {tail}")
    if name == "help":
        return EnergyCommand("help", question="help")
    return EnergyCommand("unknown", error=f"Unknown subcommand {name!r}. {USAGE}")


def _prefs_question(rest: list[str]) -> str:
    words = [w.lower() for w in rest]
    if not words:
        return ""
    if words[0] in ("critical-only", "critical", "critical_only"):
        on = len(words) < 2 or words[1] in ("on", "yes", "true")
        return "critical alerts only" if on else "all alerts again"
    if words[0] == "quiet":
        if len(words) > 1 and words[1] in ("off", "none", "clear"):
            return "no quiet hours"
        return "quiet hours " + " ".join(words[1:])
    return " ".join(rest)
