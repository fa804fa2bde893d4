"""Hours until the generator's next service, and a date for it (pure).

The run-hours counter (``generator_run_hours_h``, read from the generator or its
controller) minus the counter at the last service (``generator_last_service_h``)
against the service interval (``generator_service_interval_h``), both alert
thresholds of the site; the date comes from the recent daily running hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["ServiceOutlook", "service_outlook"]

HOW_TO_SET = (
    "After a service, set it in the site file (alerts: generator_last_service_h: <counter "
    "reading>, generator_service_interval_h: <hours>) or ask an admin to."
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceOutlook:
    text: str
    """The answer: its first line answers "how many hours until the service"."""
    hours_left: float | None
    due: date | None


def service_outlook(
    *,
    name: str,
    site_label: str,
    run_hours_h: float | None,
    last_service_h: float,
    interval_h: float | None,
    run_h_per_day: float | None,
    today: date,
) -> ServiceOutlook:
    """The service answer from the counter, the settings and the recent run hours per day."""
    if interval_h is None:
        return ServiceOutlook(
            text=f"No service interval is set for the {name} at {site_label}, so I can't say "
            f"when it is due. {HOW_TO_SET}",
            hours_left=None,
            due=None,
        )
    if run_hours_h is None:
        return ServiceOutlook(
            text=f"I don't know the {name}'s run hours at {site_label}: no run-hours counter "
            f"(generator_run_hours_h) is reported. The interval is {interval_h:g} h since the "
            f"service at {last_service_h:g} h. Connect the generator controller's hour meter "
            "(Victron GX reports it), or read the counter on the generator.",
            hours_left=None,
            due=None,
        )
    since = run_hours_h - last_service_h
    if since < 0:
        return ServiceOutlook(
            text=f"The {name}'s counter reads {run_hours_h:.0f} h, below the last service at "
            f"{last_service_h:g} h: the counter was replaced or the setting is wrong. {HOW_TO_SET}",
            hours_left=None,
            due=None,
        )
    left = interval_h - since
    facts = (
        f"Counter {run_hours_h:.0f} h; {since:.0f} h since the last service at "
        f"{last_service_h:g} h; interval {interval_h:g} h."
    )
    if last_service_h == 0:
        facts += (
            " No last service is recorded (0 h): if it was serviced since, "
            "set generator_last_service_h."
        )
    if left <= 0:
        return ServiceOutlook(
            text=f"The {name} at {site_label} is {-left:.0f} run hours overdue for service.\n"
            + facts,
            hours_left=left,
            due=today,
        )
    due: date | None = None
    when = ""
    if run_h_per_day is not None and run_h_per_day > 0.05:
        days = left / run_h_per_day
        due = today + timedelta(days=int(days))
        when = f", around {due:%a %d %b} at the recent {run_h_per_day:.1f} h a day"
    elif run_h_per_day is not None:
        when = "; it has hardly run lately, so no date"
    else:
        when = "; too little history for a date"
    return ServiceOutlook(
        text=f"{left:.0f} run hours until the {name}'s service at {site_label}{when}.\n" + facts,
        hours_left=left,
        due=due,
    )
