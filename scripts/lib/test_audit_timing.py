#!/usr/bin/env python3
"""Tests of audit_timing.py on small logs shaped like the ones `run` writes.

Run: python3 -m unittest discover -s scripts/lib -p 'test_*.py'
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import audit_timing  # noqa: E402


def ts(ms):
    """A record timestamp `ms` milliseconds after 2026-12-02T15:00:00Z."""
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"2026-12-02T15:{minutes:02}:{seconds:02}.{millis:03}Z"


def snapshot(ms, **health):
    nodes = []
    for name, state in sorted(health.items()):
        if state in audit_timing.SERVING:
            shown = {"state": "serving", "detail": state}
        elif state == "looking":
            shown = {"state": "not_serving"}
        else:
            shown = {"state": "down", "detail": {"kind": "refused"}}
        nodes.append({"name": name, "health": shown})
    return {"kind": "snapshot", "ts": ts(ms), "state": {"nodes": nodes}}


def step(ms, name, state):
    return {"kind": "step", "ts": ts(ms), "step": name, "state": state}


def intent(ms, name, host):
    return {"kind": "intent", "ts": ts(ms), "step": name, "host": host, "intent": 1}


def zk1_restart_begun():
    """zk1 follows zk2, and the restart of zk1 records its intent at 200 ms."""
    return [snapshot(100, zk1="follower", zk2="leader"), intent(200, "restart@zk1", "zk1")]


class StepTimings(unittest.TestCase):
    def test_a_restart_counts_from_the_first_snapshot_with_everyone_serving_again(self):
        records = [
            {"kind": "header", "ts": ts(0)},
            snapshot(100, zk1="follower", zk2="leader"),
            step(200, "restart@zk1", "running"),
            intent(200, "restart@zk1", "zk1"),
            snapshot(500, zk1="down", zk2="leader"),
            step(1500, "restart@zk1", "waiting"),
            snapshot(3000, zk1="looking", zk2="leader"),
            snapshot(4000, zk1="follower", zk2="leader"),
            step(9000, "restart@zk1", "done"),
        ]
        [timing] = audit_timing.step_timings(records)
        self.assertEqual(timing["host"], "zk1")
        self.assertEqual(timing["waiting"] - timing["intent"], 1300)
        self.assertEqual(timing["condition"], audit_timing.millis(ts(4000)))
        self.assertEqual(timing["latency_ms"], 5000)

    def test_a_restart_back_early_counts_from_the_end_of_its_commands_or_its_waiting_record(self):
        cases = {
            # Back before the commands ended: counted from the end of the commands.
            100: [
                snapshot(500, zk1="down", zk2="leader"),
                snapshot(1200, zk1="follower", zk2="leader"),
                step(1500, "restart@zk1", "waiting"),
                step(1600, "restart@zk1", "done"),
            ],
            # A restart no poll saw: counted from the waiting record.
            1000: [step(1500, "restart@zk1", "waiting"), step(2500, "restart@zk1", "done")],
        }
        for latency, rest in cases.items():
            with self.subTest(latency=latency):
                [timing] = audit_timing.step_timings([*zk1_restart_begun(), *rest])
                self.assertEqual(timing["latency_ms"], latency)

    def test_another_node_still_down_keeps_the_condition_false(self):
        records = [
            snapshot(100, zk1="follower", zk2="follower", zk3="leader"),
            intent(200, "restart@zk3", "zk3"),
            snapshot(300, zk1="looking", zk2="looking", zk3="down"),
            step(1000, "restart@zk3", "waiting"),
            snapshot(1100, zk1="follower", zk2="leader", zk3="down"),
            snapshot(2100, zk1="follower", zk2="leader", zk3="follower"),
            step(2100, "restart@zk3", "done"),
        ]
        [timing] = audit_timing.step_timings(records)
        self.assertEqual(timing["condition"], audit_timing.millis(ts(2100)))
        self.assertEqual(timing["latency_ms"], 0)

    def test_a_step_that_never_finished_has_no_latency(self):
        records = [
            *zk1_restart_begun(),
            snapshot(500, zk1="down", zk2="leader"),
            step(1500, "restart@zk1", "waiting"),
        ]
        [timing] = audit_timing.step_timings(records)
        self.assertIsNone(timing["condition"])
        self.assertIsNone(timing["latency_ms"])


if __name__ == "__main__":
    unittest.main()
