"""What the tests share: the fake provider's URL (the vitest wrapper starts it), the agents, process checks."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import unittest
from pathlib import Path
from typing import Callable

AGENTS = Path(__file__).parent / "agents"
FAKE_URL = os.environ.get("IRON_TEST_FAKE_URL")


def agent(name: str) -> str:
    return str(AGENTS / name)


class CageTestCase(unittest.TestCase):
    """A test against the fake provider: skipped unless run by test/python-runtime.test.ts (`npm test`)."""

    @classmethod
    def setUpClass(cls) -> None:
        if not FAKE_URL:
            raise unittest.SkipTest("IRON_TEST_FAKE_URL is not set: run these through `npx vitest run test/python-runtime.test.ts`, which starts the fake provider")

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="iron-py-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)


def gone(pid: int) -> bool:
    """True once the process has exited (a zombie nobody reaped yet counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Polls until `condition` holds; returns the seconds it took, fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started
