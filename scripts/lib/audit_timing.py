#!/usr/bin/env python3
"""How long each step of a zkpilot session took, read from its audit log (JSON lines).

For every step that ran a command and waited: when its first command's intent was recorded,
when its commands ended (the `waiting` record), when the wait's condition first held as far as
the log can tell, and when the step was done. The latency that matters for a wait is
"condition true -> step done".

What the log can tell: `snapshot` records hold each node's health (and zxid and view), written
whenever a role, epoch or view changes. So the condition read here is the part of a restart's
wait the snapshots show: the step's host was seen not serving after its intent (it did
restart) and then every node serves again (follower, leader or observer). The engine's wait
also needs the leader's `mntr` to show every voter synced and the restarted server's view;
those are not in the snapshots and can only hold at or after this moment, so the latency
printed is an upper bound of the engine's own "condition true -> done". A restart no snapshot
saw (faster than a poll) counts from the `waiting` record.

Usage: audit_timing.py LOG...   (prints one tab-separated line per step, then a summary)
"""

import json
import sys
from datetime import datetime, timezone

SERVING = {"follower", "leader", "observer"}


def millis(ts):
    """Unix milliseconds of a record's `ts` (RFC 3339, UTC, milliseconds)."""
    when = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return round(when.timestamp() * 1000)


def serving(node):
    health = node.get("health") or {}
    return health.get("state") == "serving" and health.get("detail") in SERVING


def step_timings(records):
    """One dict per step with a command: step, host, intent/waiting/condition/done (unix ms or
    None) and latency_ms (done - condition, or None)."""
    steps = {}
    order = []
    nodes = []  # the latest snapshot's nodes
    for record in records:
        kind = record.get("kind")
        at = millis(record["ts"])
        if kind == "snapshot":
            nodes = record.get("state", {}).get("nodes", [])
            for step in steps.values():
                observe(step, nodes, at)
        elif kind == "intent":
            step = steps.get(record["step"])
            if step is None:
                step = {
                    "step": record["step"],
                    "host": record["host"],
                    "intent": at,
                    "waiting": None,
                    "condition": None,
                    "done": None,
                    "went_down": False,
                }
                steps[record["step"]] = step
                order.append(record["step"])
            observe(step, nodes, at)
        elif kind == "step" and record["step"] in steps:
            step = steps[record["step"]]
            if record["state"] == "waiting" and step["waiting"] is None:
                step["waiting"] = at
                if not step["went_down"] and all_serving(nodes):
                    # Restarted between two polls: the log shows nothing else to count from.
                    step["condition"] = at
                else:
                    observe(step, nodes, at)
            elif record["state"] == "done" and step["done"] is None:
                step["done"] = at
    result = []
    for name in order:
        step = steps[name]
        condition = step["condition"]
        if condition is not None and step["waiting"] is not None:
            condition = max(condition, step["waiting"])
        latency = None
        if condition is not None and step["done"] is not None:
            latency = step["done"] - condition
        result.append(
            {
                "step": step["step"],
                "host": step["host"],
                "intent": step["intent"],
                "waiting": step["waiting"],
                "condition": condition,
                "done": step["done"],
                "latency_ms": latency,
            }
        )
    return result


def all_serving(nodes):
    return bool(nodes) and all(serving(n) for n in nodes)


def observe(step, nodes, at):
    """Updates a step from the ensemble as a snapshot (or the last one) shows it at `at`."""
    if step["done"] is not None or step["condition"] is not None:
        return
    host = [n for n in nodes if n.get("name") == step["host"]]
    if host and not serving(host[0]):
        step["went_down"] = True
    elif step["went_down"] and all_serving(nodes):
        step["condition"] = at


def read(path):
    with open(path, encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]


def session_ms(records):
    """From `session_start` to `session_end` (or the last record), in milliseconds."""
    times = [millis(r["ts"]) for r in records if r.get("kind") != "header"]
    return times[-1] - times[0] if times else 0


def main(paths):
    latencies = []
    print("log\tstep\thost\tintent->waiting ms\twaiting->condition ms\tcondition->done ms")
    for path in paths:
        records = read(path)
        for t in step_timings(records):
            gap = lambda a, b: "-" if t[a] is None or t[b] is None else str(t[b] - t[a])
            print(
                f"{path}\t{t['step']}\t{t['host']}\t{gap('intent', 'waiting')}\t"
                f"{gap('waiting', 'condition')}\t{gap('condition', 'done')}"
            )
            if t["latency_ms"] is not None:
                latencies.append(t["latency_ms"])
    if latencies:
        latencies.sort()
        median = latencies[len(latencies) // 2]
        print(
            f"condition->done over {len(latencies)} steps: median {median} ms, "
            f"max {latencies[-1]} ms"
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
