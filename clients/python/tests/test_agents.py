"""Real agents through the Python API: metrics, budgets, stop, crash, output, against the fake provider."""
from __future__ import annotations

import io
import json
import math
import os
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Dict, List

from iron_runtime import AgentFailed, BudgetExceeded, IronError, IronTimeout, Runtime

from .support import CageTestCase, agent, gone, wait_for

# gpt-4o-mini in @pydantic/genai-prices: USD per million tokens. The cost plugin rounds each call up to the micro-dollar.
INPUT_USD_PER_M, OUTPUT_USD_PER_M = 0.15, 0.60


def fake_tokens(text: str) -> int:
    """How the fake provider counts tokens: a quarter of the characters, rounded up."""
    return max(1, math.ceil(len(text) / 4))


def prompt_tokens(content: str) -> int:
    # The fake provider counts the JSON of the messages it received.
    return fake_tokens(json.dumps([{"role": "user", "content": content}], separators=(",", ":"), ensure_ascii=False))


def call_micros(input_tokens: int, output_tokens: int) -> int:
    return math.ceil(round(input_tokens * INPUT_USD_PER_M + output_tokens * OUTPUT_USD_PER_M, 9))


class AgentMetricsTest(CageTestCase):
    def test_metrics_fields_and_values_after_real_calls(self) -> None:
        report = self.tmp / "report.json"
        with Runtime(budget=50.0) as runtime:
            self.assertEqual(runtime.plugins, ["cost", "safety", "reliability"])
            self.assertIn("budget $50.00 per agent", runtime.info["startLine"])
            with redirect_stdout(io.StringIO()):
                agent_id = runtime.start_agent(agent("chat_agent.py"), [str(report), "Say hi to jane@example.com.", "stream:Count to three."], name="chatty")
                metrics = runtime.wait(agent_id)
            self.assertRegex(agent_id, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            self.assertEqual(runtime.get_metrics(agent_id), metrics)
        facts = json.loads(report.read_text())
        # The agent held a per-agent credential and the gateway's URL, never the real key.
        self.assertEqual(facts["keyPrefix"], "iron_")
        self.assertRegex(facts["baseUrl"], r"^http://127\.0\.0\.1:\d+/v1$")
        first, second = facts["calls"]
        # The provider saw a placeholder for the email; the agent got its own value back.
        self.assertEqual(first["text"], "Echo: Say hi to jane@example.com.")
        self.assertEqual(second["text"], "Echo: Count to three.")
        expected = [
            (prompt_tokens("Say hi to <EMAIL_ADDRESS_1>."), fake_tokens("Echo: Say hi to <EMAIL_ADDRESS_1>.")),
            (prompt_tokens("Count to three."), fake_tokens("Echo: Count to three.")),
        ]
        self.assertEqual([(c["usage"]["prompt_tokens"], c["usage"]["completion_tokens"]) for c in (first, second)], expected)
        micros = sum(call_micros(i, o) for i, o in expected)

        self.assertEqual(
            set(metrics),
            {"agentId", "name", "kind", "status", "calls", "failedCalls", "tokens", "costUsd", "budget", "piiDetections", "errorCount", "errors",
             "startedAt", "stoppedAt", "lastActivityAt", "plugins", "pid", "exitCode", "exitSignal", "stderrTail"},
        )
        self.assertEqual(metrics["agentId"], agent_id)
        self.assertEqual(metrics["name"], "chatty")
        self.assertEqual(metrics["kind"], "process")
        self.assertEqual(metrics["status"], "completed")
        self.assertEqual(metrics["calls"], 2)
        self.assertEqual(metrics["failedCalls"], 0)
        self.assertEqual(metrics["tokens"], {"input": 15 + 12, "output": 9 + 6, "cacheRead": 0, "cacheWrite": 0, "reasoning": 0})
        self.assertEqual(metrics["tokens"]["input"], sum(i for i, _ in expected))
        self.assertEqual(metrics["tokens"]["output"], sum(o for _, o in expected))
        self.assertEqual(micros, 14)
        self.assertEqual(round(metrics["costUsd"] * 1e6), micros)
        self.assertEqual(metrics["budget"], {"limitUsd": 50, "spentUsd": metrics["costUsd"], "remainingUsd": round(50 - micros / 1e6, 6)})
        self.assertEqual(metrics["piiDetections"], 1)
        self.assertEqual(metrics["plugins"]["safety"]["findings"]["input"], {"EMAIL_ADDRESS": 1})
        self.assertEqual(metrics["plugins"]["cost"]["byModel"]["gpt-4o-mini"], {"calls": 2, "costUsd": metrics["costUsd"], "inputTokens": 27, "outputTokens": 15})
        self.assertEqual((metrics["errorCount"], metrics["errors"]), (0, []))
        self.assertEqual((metrics["exitCode"], metrics["exitSignal"], metrics["stderrTail"]), (0, None, ""))
        self.assertRegex(metrics["startedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertLessEqual(metrics["startedAt"], metrics["lastActivityAt"] or "")
        self.assertLessEqual(metrics["lastActivityAt"] or "", metrics["stoppedAt"] or "")

    def test_agent_output_reaches_sys_stdout_and_runs_in_the_working_folder(self) -> None:
        report = self.tmp / "report.json"
        before = os.getcwd()
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, before)
        (self.tmp / "agents").mkdir()
        (self.tmp / "agents" / "chat_agent.py").write_text(Path(agent("chat_agent.py")).read_text())
        output = io.StringIO()
        with Runtime() as runtime, redirect_stdout(output):
            # A relative path is the working folder's, as in `iron run`.
            metrics = runtime.wait(runtime.start_agent("agents/chat_agent.py", ["report.json", "hi"]))
        self.assertEqual(output.getvalue(), "call 1 200\n")
        self.assertEqual(metrics["name"], "agents/chat_agent.py")  # named as given, as by `iron run`
        self.assertEqual(os.path.realpath(json.loads(report.read_text())["cwd"]), os.path.realpath(self.tmp))


class BudgetTest(CageTestCase):
    def refused_run(self, runtime: Runtime, **options: Any) -> Dict[str, Any]:
        report = self.tmp / "refused.json"
        # 4,000 output tokens of gpt-4o-mini are $0.0024 in the worst case: more than a $0.0001 budget.
        with redirect_stdout(io.StringIO()):
            metrics = runtime.wait(runtime.start_agent(agent("chat_agent.py"), [str(report), "--max-tokens", "4000", "hi"], **options))
        facts = json.loads(report.read_text())
        return {"metrics": metrics, "calls": facts["calls"]}

    def assert_refused(self, run: Dict[str, Any], limit: float) -> None:
        metrics, calls = run["metrics"], run["calls"]
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["status"], 402)
        self.assertTrue(calls[0]["error"].startswith("IRON_BUDGET_EXCEEDED: "), calls[0]["error"])
        self.assertEqual(metrics["status"], "completed")  # the agent handled the 402 and exited 0
        self.assertEqual((metrics["calls"], metrics["failedCalls"], metrics["errorCount"]), (1, 1, 1))  # every call counts, the refused one too
        self.assertEqual([error["code"] for error in metrics["errors"]], ["IRON_BUDGET_EXCEEDED"])
        self.assertEqual(metrics["plugins"]["cost"]["refusedCalls"], 1)
        self.assertEqual(metrics["costUsd"], 0)
        self.assertEqual(metrics["budget"], {"limitUsd": limit, "spentUsd": 0, "remainingUsd": limit})
        self.assertEqual(metrics["tokens"]["input"], 0)

    def test_a_tiny_runtime_budget_refuses_the_call(self) -> None:
        with Runtime(budget=0.0001) as runtime:
            self.assert_refused(self.refused_run(runtime), 0.0001)

    def test_a_budget_per_agent_applies_from_its_first_call(self) -> None:
        with Runtime(budget=50.0) as runtime:
            self.assert_refused(self.refused_run(runtime, budget=0.0001), 0.0001)
            # The same call in the same runtime, without the agent's own budget: answered.
            run = self.refused_run(runtime)
            self.assertEqual(run["calls"][0]["status"], 200)
            self.assertEqual(run["metrics"]["budget"]["limitUsd"], 50)

    def test_set_budget_changes_a_running_agents_limit(self) -> None:
        with Runtime(budget=1.0) as runtime:
            agent_id = runtime.start_agent(agent("sleep_agent.py"), [str(self.tmp / "pid")])
            runtime.set_budget(agent_id, 2.5)
            self.assertEqual(runtime.get_metrics(agent_id)["budget"]["limitUsd"], 2.5)
            runtime.set_budget(agent_id, None)
            self.assertEqual(runtime.get_metrics(agent_id)["budget"]["limitUsd"], None)
            runtime.stop_agent(agent_id)

    def test_concurrent_starts_each_keep_their_own_budget(self) -> None:
        with Runtime(budget=50.0) as runtime:
            ids: Dict[float, str] = {}

            def start(usd: float) -> None:
                ids[usd] = runtime.start_agent(agent("sleep_agent.py"), [str(self.tmp / f"pid-{usd}")], budget=usd)

            threads = [threading.Thread(target=start, args=(usd,)) for usd in (1.0, 2.0, 3.0, 4.0)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.assertEqual({usd: runtime.get_metrics(agent_id)["budget"]["limitUsd"] for usd, agent_id in ids.items()}, {1.0: 1, 2.0: 2, 3.0: 3, 4.0: 4})

    def test_wait_check_raises_budget_exceeded_when_the_cage_stopped_the_agent(self) -> None:
        config = {"budget": {"limit": 0.0001}, "cost": {"onExceeded": "stop"}}
        with Runtime(config=config) as runtime:
            agent_id = runtime.start_agent(agent("chat_agent.py"), [str(self.tmp / "r.json"), "--max-tokens", "4000", "hi", "hi again"])
            with redirect_stdout(io.StringIO()), self.assertRaises(BudgetExceeded) as raised:
                runtime.wait(agent_id, check=True)
        self.assertEqual(raised.exception.code, "IRON_BUDGET_EXCEEDED")
        self.assertIsNotNone(raised.exception.metrics)
        self.assertEqual(raised.exception.metrics["status"], "budget_exceeded")


class LifecycleTest(CageTestCase):
    def test_stop_agent_ends_a_long_running_agent(self) -> None:
        pid_file = self.tmp / "pid"
        with Runtime() as runtime:
            with redirect_stdout(io.StringIO()):
                agent_id = runtime.start_agent(agent("sleep_agent.py"), [str(pid_file)])
                wait_for(pid_file.exists, 10, "the agent wrote its pid")
                self.assertEqual(runtime.get_metrics(agent_id)["status"], "running")
                started = time.monotonic()
                metrics = runtime.stop_agent(agent_id)
            took = time.monotonic() - started
            self.assertEqual(metrics["status"], "stopped")
            self.assertEqual((metrics["exitCode"], metrics["exitSignal"]), (None, "SIGTERM"))
            self.assertIsNotNone(metrics["stoppedAt"])
            self.assertLess(took, 3.0)  # SIGTERM ends it: no wait for the 5 s grace
            self.assertTrue(gone(int(pid_file.read_text())))
            self.assertEqual(runtime.wait(agent_id), runtime.get_metrics(agent_id))
            # Stopping an agent that has ended changes nothing.
            self.assertEqual(runtime.stop_agent(agent_id)["status"], "stopped")

    def test_an_agent_that_crashes_is_failed_with_its_exit_code_and_stderr(self) -> None:
        with Runtime() as runtime, redirect_stderr(io.StringIO()) as stderr:
            agent_id = runtime.start_agent(agent("crash_agent.py"))
            metrics = runtime.wait(agent_id)
            # Its stderr went to ours as it came.
            self.assertEqual(stderr.getvalue(), "something went wrong: the tool returned garbage\n")
            self.assertEqual(metrics["status"], "failed")
            self.assertEqual(metrics["exitCode"], 1)
            self.assertEqual(metrics["errorCount"], 1)
            self.assertEqual([(e["code"], e["message"]) for e in metrics["errors"]], [("IRON_AGENT_FAILED", "agent exited with code 1")])
            self.assertEqual(metrics["stderrTail"], "something went wrong: the tool returned garbage\n")
            with self.assertRaises(AgentFailed) as raised:
                runtime.wait(agent_id, check=True)
            self.assertIn("the tool returned garbage", raised.exception.message)
            self.assertEqual(raised.exception.metrics, dict(metrics))

    def test_wait_with_a_timeout_raises_a_timeout_error_while_the_agent_runs(self) -> None:
        with Runtime() as runtime:
            agent_id = runtime.start_agent(agent("sleep_agent.py"), [str(self.tmp / "pid")])
            started = time.monotonic()
            with self.assertRaises(IronTimeout) as raised:
                runtime.wait(agent_id, timeout=0.3)
            self.assertGreaterEqual(time.monotonic() - started, 0.3)
            self.assertIsInstance(raised.exception, TimeoutError)
            self.assertEqual(raised.exception.code, "IRON_TIMEOUT")
            self.assertEqual(runtime.get_metrics(agent_id)["status"], "running")

    def test_close_stops_every_agent_and_the_control_process(self) -> None:
        pids: List[str] = []
        runtime = Runtime()
        with redirect_stdout(io.StringIO()):
            for index in range(2):
                runtime.start_agent(agent("sleep_agent.py"), [str(self.tmp / f"pid{index}")])
            wait_for(lambda: all((self.tmp / f"pid{index}").exists() for index in range(2)), 10, "the agents wrote their pids")
        pids = [(self.tmp / f"pid{index}").read_text() for index in range(2)]
        started = time.monotonic()
        runtime.close()
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertTrue(all(gone(int(pid)) for pid in pids))
        self.assertTrue(gone(runtime.pid))
        with self.assertRaises(IronError) as raised:
            runtime.start_agent(agent("crash_agent.py"))
        self.assertEqual(raised.exception.code, "IRON_RUNTIME_CLOSED")
        runtime.close()  # twice is fine
