#!/usr/bin/env python3
"""Tests of leftovers.sh: only this run's test processes count as left behind.

Run: python3 -m unittest discover -s scripts/lib -p 'test_*.py'
"""

import os
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def named_sleeper(name):
    """A process whose arguments carry `name`, as a sandbox's servers carry its directory."""
    return subprocess.Popen(["bash", "-c", f"exec -a /tmp/{name}/zk1 sleep 60"])


def leftovers(run):
    script = f'. "{HERE}/leftovers.sh"; leftover_test_processes "$1"'
    out = subprocess.run(
        ["bash", "-c", script, "leftovers", run],
        capture_output=True, text=True, check=True,
    )
    return [int(line.split()[0]) for line in out.stdout.splitlines() if line.strip()]


class Leftovers(unittest.TestCase):
    def test_only_processes_of_this_run_are_reported(self):
        ours = named_sleeper("zkpilot-test-111-4242-7")
        theirs = named_sleeper("zkpilot-test-222-4242-7")
        unnamed = named_sleeper("zkpilot-other-111-4242-7")
        try:
            found = leftovers("111")
            self.assertIn(ours.pid, found)
            self.assertNotIn(theirs.pid, found)
            self.assertNotIn(unnamed.pid, found)
            self.assertEqual(leftovers("333"), [])
        finally:
            for process in (ours, theirs, unnamed):
                process.kill()
                process.wait()


if __name__ == "__main__":
    unittest.main()
