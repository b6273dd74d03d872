"""/v1/agent/metrics: a few gauges and counters in Consul's JSON shape, or Prometheus text."""

from __future__ import annotations

import resource
import time
from typing import Any

from proconsul.api.common import Reply, context
from proconsul.http import Request


def _gauges(request: Request) -> list[tuple[str, float]]:
    ctx = context(request)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return [
        ("consul.runtime.alloc_bytes", float(rss_kb * 1024)),
        ("consul.state.nodes", float(len(ctx.view.nodes))),
        ("consul.state.services", float(len(ctx.view.by_name))),
        ("consul.state.service_instances", float(sum(len(s) for s in ctx.view.services.values()))),
        ("consul.state.kv_entries", float(len(ctx.view.kv))),
        ("consul.raft.applied_index", float(ctx.view.revision)),
        ("consul.rpc.queries_blocking", float(ctx.view.notifier.parked)),
        ("proconsul.uptime_seconds", time.time() - ctx.started),
        *_check_gauges(request),
    ]


def _check_gauges(request: Request) -> list[tuple[str, float]]:
    """How many checks run, and how late their runs start against their schedule (recent runs)."""
    checks = context(request).checks
    if checks is None:
        return []
    return [
        ("proconsul.checks.running", float(checks.running)),
        ("proconsul.checks.runs", float(checks.lateness.runs)),
        ("proconsul.checks.lateness_p50_ms", checks.lateness.percentile_ms(50)),
        ("proconsul.checks.lateness_p99_ms", checks.lateness.percentile_ms(99)),
        ("proconsul.checks.lateness_max_ms", checks.lateness.percentile_ms(100)),
    ]


def metrics_reply(request: Request) -> Reply:
    gauges = _gauges(request)
    if request.query.get("format") == "prometheus":
        lines = []
        for name, value in gauges:
            metric = name.replace(".", "_")
            lines += [f"# TYPE {metric} gauge", f"{metric} {value}"]
        return Reply(raw=("\n".join(lines) + "\n").encode(), content_type="text/plain")
    body: dict[str, Any] = {
        "Timestamp": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime()),
        "Gauges": [{"Name": n, "Value": v, "Labels": {}} for n, v in gauges],
        "Points": [],
        "Counters": [],
        "Samples": [],
    }
    return Reply(body)
