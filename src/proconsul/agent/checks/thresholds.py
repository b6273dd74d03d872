"""SuccessBeforePassing / FailuresBeforeWarning / FailuresBeforeCritical, as Consul's StatusHandler.

Pure: each probe result goes in, and out comes the result to report, or None while a streak has not
reached its threshold yet. The counters start at their thresholds, so the first result after a check
starts is reported as it is. Passing and warning results count as successes; a failure streak reports
warning from FailuresBeforeWarning on (it defaults to FailuresBeforeCritical) and critical from
FailuresBeforeCritical on.
"""

from __future__ import annotations

from typing import Any

from proconsul.agent.checks.base import PASSING, WARNING, ProbeResult


class StatusHandler:
    def __init__(
        self, success_before_passing: int, failures_before_warning: int, failures_before_critical: int
    ):
        self.success_before_passing = success_before_passing
        self.failures_before_warning = failures_before_warning or failures_before_critical
        self.failures_before_critical = failures_before_critical
        self._successes = success_before_passing
        self._failures = failures_before_critical

    @classmethod
    def for_definition(cls, definition: dict[str, Any]) -> StatusHandler:
        return cls(
            int(definition.get("SuccessBeforePassing") or 0),
            int(definition.get("FailuresBeforeWarning") or 0),
            int(definition.get("FailuresBeforeCritical") or 0),
        )

    def apply(self, result: ProbeResult) -> ProbeResult | None:
        """The result to report for this probe result, or None to keep the current status."""
        if result.status in (PASSING, WARNING):
            self._successes += 1
            self._failures = 0
            return result if self._successes >= self.success_before_passing else None
        self._failures += 1
        self._successes = 0
        if self._failures >= self.failures_before_critical:
            return result
        if self._failures >= self.failures_before_warning:
            return ProbeResult(WARNING, result.output)
        return None
