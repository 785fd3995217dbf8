"""When the Python process exits or dies, iron control and its agents stop: no orphans."""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Tuple

from iron_runtime import IronError, Runtime

from .support import CageTestCase, agent, gone, wait_for

# A Python program using the API: starts a long-running agent, writes iron control's pid, waits for a line, then
# sleeps, exits or crashes, as told.
PARENT = """
import os, sys, time
from iron_runtime import Runtime
runtime = Runtime()
runtime.start_agent(sys.argv[1], [sys.argv[2]])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
with open(sys.argv[2] + ".tmp", "w") as file:
    file.write(str(runtime.pid))
os.replace(sys.argv[2] + ".tmp", sys.argv[2] + ".control")
sys.stdin.readline()  # the test checked that everything runs
if sys.argv[3] == "sleep":
    time.sleep(120)
elif sys.argv[3] == "raise":
    raise RuntimeError("the parent crashed")
"""
#: agents.stopGraceMs by default: the agents must be gone within it.
STOP_GRACE_S = 5.0


class ParentExitTest(CageTestCase):
    def start_parent(self, then: str) -> Tuple["subprocess.Popen[str]", int, int]:
        pid_file = self.tmp / "agent.pid"
        control_file = Path(f"{pid_file}.control")
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, agent("sleep_agent.py"), str(pid_file), then],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # where the agent's output goes, through the parent
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        self.addCleanup(self.end, parent)
        wait_for(lambda: control_file.exists() or parent.poll() is not None, 30, "the parent started its agent")
        if not control_file.exists():
            assert parent.stderr is not None
            self.fail(f"the parent exited with {parent.wait()} before it started the agent: {parent.stderr.read()}")
        control = int(control_file.read_text())
        agent_pid = int(pid_file.read_text())
        self.assertFalse(gone(control))
        self.assertFalse(gone(agent_pid))
        assert parent.stdin is not None
        parent.stdin.write("go\n")
        parent.stdin.close()
        return parent, control, agent_pid

    @staticmethod
    def end(parent: "subprocess.Popen[str]") -> None:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        assert parent.stderr is not None
        parent.stderr.close()

    def assert_all_gone(self, control: int, agent_pid: int) -> float:
        took = wait_for(lambda: gone(agent_pid) and gone(control), STOP_GRACE_S + 3, "iron control and the agent exited")
        self.assertLess(took, STOP_GRACE_S)
        return took

    def test_a_parent_killed_with_sigkill_leaves_no_orphans(self) -> None:
        parent, control, agent_pid = self.start_parent("sleep")
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        self.assert_all_gone(control, agent_pid)

    def test_a_parent_that_exits_without_close_stops_its_agents_at_exit(self) -> None:
        parent, control, agent_pid = self.start_parent("exit")
        started = time.monotonic()
        self.assertEqual(parent.wait(STOP_GRACE_S + 10), 0)
        self.assertLess(time.monotonic() - started, STOP_GRACE_S)
        # atexit closed the runtime before the interpreter ended: nothing is left.
        self.assertTrue(gone(agent_pid))
        self.assert_all_gone(control, agent_pid)

    def test_a_parent_that_crashes_stops_its_agents(self) -> None:
        parent, control, agent_pid = self.start_parent("raise")
        self.assertEqual(parent.wait(STOP_GRACE_S + 10), 1)
        assert parent.stderr is not None
        self.assertIn("RuntimeError: the parent crashed", parent.stderr.read())
        self.assert_all_gone(control, agent_pid)


class ForkTest(CageTestCase):
    def test_a_forked_child_neither_uses_nor_closes_its_parents_runtime(self) -> None:
        if not hasattr(os, "fork"):
            self.skipTest("no os.fork here")
        pid_file = self.tmp / "agent.pid"
        with Runtime() as runtime:
            agent_id = runtime.start_agent(agent("sleep_agent.py"), [str(pid_file)])
            wait_for(pid_file.exists, 30, "the agent started")
            read, write = os.pipe()
            child = os.fork()
            if child == 0:  # the child: its request is refused, and its exit (atexit) must not close the parent's runtime
                os.close(read)
                try:
                    runtime.get_metrics(agent_id)
                    outcome = b"answered"
                except IronError as error:
                    outcome = error.code.encode()
                os.write(write, outcome)
                os.close(write)
                atexit._run_exitfuncs()  # what the child's exit runs (the Runtime's close among them)
                os._exit(0)
            os.close(write)
            with os.fdopen(read, "rb") as reader:
                outcome = reader.read().decode()
            _, status = os.waitpid(child, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            self.assertEqual(outcome, "IRON_RUNTIME_FORKED")
            # The parent's runtime and agent are untouched.
            self.assertEqual(runtime.get_metrics(agent_id)["status"], "running")
            self.assertFalse(gone(int(pid_file.read_text())))


class ControlKilledTest(CageTestCase):
    def test_close_stops_the_agents_even_when_iron_control_was_killed(self) -> None:
        pid_file = self.tmp / "agent.pid"
        runtime = Runtime()
        try:
            agent_id = runtime.start_agent(agent("sleep_agent.py"), [str(pid_file)])
            wait_for(pid_file.exists, 30, "the agent started")
            agent_pid = int(pid_file.read_text())
            self.assertEqual(runtime.get_metrics(agent_id).get("pid"), agent_pid)
            os.kill(runtime.pid, signal.SIGKILL)  # the OOM killer, say: iron control cannot stop anything
            wait_for(lambda: gone(runtime.pid), 10, "iron control died")
            self.assertFalse(gone(agent_pid))
        finally:
            runtime.close()
        wait_for(lambda: gone(agent_pid), 5, "close() stopped the agent iron control left")

    def test_close_stops_the_tools_of_an_agent_that_died_after_iron_control(self) -> None:
        script = self.tmp / "tool_agent.sh"
        tool_file = self.tmp / "tool.pid"
        script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {tool_file}.tmp && mv {tool_file}.tmp {tool_file}\nwhile :; do sleep 1; done\n")
        script.chmod(0o755)
        runtime = Runtime()
        try:
            agent_id = runtime.start_agent(script)
            wait_for(tool_file.exists, 30, "the agent started its tool")
            tool = int(tool_file.read_text())
            agent_pid = runtime.get_metrics(agent_id).get("pid")
            assert isinstance(agent_pid, int)
            os.kill(runtime.pid, signal.SIGKILL)
            wait_for(lambda: gone(runtime.pid), 10, "iron control died")
            os.kill(agent_pid, signal.SIGKILL)  # the agent dies too; its tool, in no group left, lives on
            wait_for(lambda: gone(agent_pid), 10, "the agent died")
            self.assertFalse(gone(tool))
        finally:
            runtime.close()
        wait_for(lambda: gone(tool), 5, "close() found the tool by its IRON_AGENT_ID and stopped it")


# An agent that tries to open iron control's stdin and stdout through /proc, as any process of the same user could
# open a pipe, and writes what happened to the file given.
PROBE = """
import os, sys
out = []
for fd, mode in ((0, "wb"), (1, "rb")):
    try:
        with open(f"/proc/{os.getppid()}/fd/{fd}", mode):
            out.append(f"fd{fd} opened")
    except OSError as error:
        out.append(f"fd{fd} refused")
with open(sys.argv[1], "w") as file:
    file.write(",".join(out))
"""


class ChannelTest(CageTestCase):
    def test_an_agent_cannot_open_the_control_channel_through_proc(self) -> None:
        if not os.path.exists("/proc/self/fd"):
            self.skipTest("no /proc here")
        probe = self.tmp / "probe.py"
        probe.write_text(PROBE)
        result = self.tmp / "result.txt"
        with Runtime() as runtime:
            runtime.wait(runtime.start_agent(probe, [str(result)]), timeout=30)
        self.assertEqual(result.read_text(), "fd0 refused,fd1 refused")


# A program whose stdout nobody reads, caging an agent that floods its output: the calls still answer.
BLOCKED = """
import sys, time
from iron_runtime import Runtime
runtime = Runtime()
agent_id = runtime.start_agent(sys.argv[1])
time.sleep(1.5)  # the flood fills this process's stdout pipe, which nobody reads
started = time.monotonic()
runtime.get_metrics(agent_id)
runtime.stop_agent(agent_id)
sys.stderr.write(f"answered in {time.monotonic() - started:.1f} s\\n")
sys.stderr.flush()
runtime.close()
"""


class BlockedStdoutTest(CageTestCase):
    def test_calls_answer_while_nothing_reads_this_processs_stdout(self) -> None:
        flood = self.tmp / "flood.py"
        flood.write_text("import sys\nwhile True:\n    sys.stdout.write('x' * 65535 + '\\n')\n")
        parent = subprocess.Popen(
            [sys.executable, "-c", BLOCKED, str(flood)],
            stdout=subprocess.PIPE,  # never read
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        try:
            assert parent.stderr is not None
            line = ""
            deadline = time.monotonic() + 30
            while "answered in" not in line and time.monotonic() < deadline:
                line = parent.stderr.readline()
                if not line and parent.poll() is not None:
                    break
            self.assertIn("answered in", line)
            self.assertLess(float(line.split("answered in ")[1].split(" s")[0]), 5.0)
        finally:
            parent.kill()
            parent.wait()
            assert parent.stdout is not None and parent.stderr is not None
            parent.stdout.close()
            parent.stderr.close()
