"""Bad arguments and missing pieces: each is a typed error carrying Iron Cage's code and saying what to do."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, Dict, Optional

from iron_runtime import AgentNotFound, AgentStartFailed, ConfigError, IronError, IronNotFound, Runtime
from iron_runtime import runtime as runtime_module
from iron_runtime.locate import iron_command

from .support import CageTestCase, agent, gone


def restore_env(name: str, value: Optional[str]) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


class BadArgumentsTest(CageTestCase):
    runtime: Runtime

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.runtime = Runtime(budget=5.0)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.runtime.close()

    def test_a_missing_agent_script_is_agent_start_failed(self) -> None:
        missing = self.tmp / "no-such-agent.py"
        with self.assertRaises(AgentStartFailed) as raised:
            self.runtime.start_agent(missing)
        self.assertEqual(raised.exception.code, "IRON_AGENT_START_FAILED")
        self.assertEqual(raised.exception.message, f"agent script not found: {missing}")
        self.assertIsInstance(raised.exception, IronError)

    def test_an_unknown_agent_id_is_agent_not_found(self) -> None:
        unknown = "00000000-0000-4000-8000-000000000000"
        for call in (self.runtime.get_metrics, self.runtime.stop_agent, self.runtime.wait, lambda agent_id: self.runtime.set_budget(agent_id, 1.0)):
            with self.assertRaises(AgentNotFound) as raised:
                call(unknown)
            self.assertEqual(raised.exception.code, "IRON_AGENT_NOT_FOUND")
            self.assertEqual(raised.exception.message, f"no agent with id {unknown} in this runtime")
            self.assertEqual(raised.exception.details, {"agentId": unknown})
            self.assertIsInstance(raised.exception, LookupError)

    def test_a_negative_budget_is_a_config_error(self) -> None:
        with self.assertRaises(ConfigError) as raised:
            self.runtime.start_agent(agent("crash_agent.py"), budget=-1)
        self.assertEqual((raised.exception.code, raised.exception.message), ("IRON_CONFIG_INVALID", "budget: expected a number of USD from 0.000001 to 1e9, got -1"))
        with self.assertRaises(ConfigError):
            self.runtime.start_agent(agent("crash_agent.py"), budget=0)
        with self.assertRaises(ConfigError) as raised:
            Runtime(budget=-2.5)
        self.assertEqual(raised.exception.message, "budget: expected a number of USD from 0.000001 to 1e9, got -2.5")

    def test_set_budget_refuses_a_negative_amount(self) -> None:
        agent_id = self.runtime.start_agent(agent("sleep_agent.py"), [str(self.tmp / "pid")])
        self.addCleanup(self.runtime.stop_agent, agent_id)
        with self.assertRaises(ConfigError) as raised:
            self.runtime.set_budget(agent_id, -5)
        self.assertEqual(raised.exception.message, "budget: expected a number of USD from 0.000001 to 1e9 (one micro-dollar is the smallest amount counted), or null, got -5")

    def test_a_budget_per_agent_needs_the_cost_plugin(self) -> None:
        with Runtime() as runtime:  # no budget and no config file: cost is off, as in `iron run`
            self.assertNotIn("cost", runtime.plugins)
            with self.assertRaises(ConfigError) as raised:
                runtime.start_agent(agent("crash_agent.py"), budget=1.0)
        self.assertIn("needs the cost plugin", raised.exception.message)

    def test_a_budget_that_is_not_a_finite_number_is_refused_before_it_is_sent(self) -> None:
        for value in (float("nan"), float("inf")):
            with self.assertRaises(ConfigError) as raised:
                self.runtime.start_agent(agent("crash_agent.py"), budget=value)
            self.assertEqual(raised.exception.code, "IRON_CONFIG_INVALID")
            self.assertIn("NaN and infinity are not values iron accepts", raised.exception.message)
        with self.assertRaises(ConfigError) as raised:
            self.runtime.start_agent(agent("crash_agent.py"), budget="5")  # type: ignore[arg-type]
        self.assertEqual(raised.exception.message, 'budget: expected a number of USD from 0.000001 to 1e9, got "5"')
        # Below one micro-dollar (a zero limit once counted) and past $1e9 (no limit at all) are refused alike.
        for value in (1e-12, 1e308):
            with self.assertRaises(ConfigError):
                self.runtime.start_agent(agent("crash_agent.py"), budget=value)

    def test_odd_arguments_get_the_python_error_that_says_what_to_fix(self) -> None:
        with self.assertRaises(ValueError):
            self.runtime.start_agent(agent("crash_agent.py"), ["nul\0inside"])
        with self.assertRaises(ValueError):
            self.runtime.wait("00000000-0000-0000-0000-000000000000", timeout=float("nan"))
        with self.assertRaises(TypeError):
            Runtime(server_url=5)  # type: ignore[arg-type]

    def test_args_must_be_a_list_of_strings(self) -> None:
        with self.assertRaises(TypeError):
            self.runtime.start_agent(agent("crash_agent.py"), "--task x")  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            self.runtime.start_agent(agent("crash_agent.py"), [1])  # type: ignore[list-item]


class ConfigTest(CageTestCase):
    def test_a_missing_config_file_is_a_config_error(self) -> None:
        missing = self.tmp / "iron.config.yaml"
        with self.assertRaises(ConfigError) as raised:
            Runtime(config=missing)
        self.assertEqual(raised.exception.message, f"config file {missing}: no such file (run `iron init` to write one)")

    def test_a_config_file_is_read_like_iron_run_reads_it(self) -> None:
        config = self.tmp / "cage.yaml"
        config.write_text("budget:\n  limit: 2\nsafety: false\nreliability: {}\n")
        with Runtime(config=config) as runtime:
            self.assertEqual(runtime.plugins, ["cost", "reliability"])
            self.assertEqual(runtime.info["configFile"], str(config))
        config.write_text("budget:\n  limit: ten\n")
        with self.assertRaises(ConfigError) as raised:
            Runtime(config=config)
        self.assertEqual(raised.exception.message, f"{config}: budget.limit: expected a number from 0.000001 to 1000000000, got \"ten\" (line 2)")

    def test_an_inline_config_is_validated_like_a_file(self) -> None:
        with Runtime(config={"budget": {"limit": 3}, "reliability": {}}) as runtime:
            self.assertEqual(runtime.plugins, ["cost", "reliability"])
        bad: Dict[str, Any] = {"budget": {"limit": "ten"}}
        with self.assertRaises(ConfigError) as raised:
            Runtime(config=bad)
        self.assertEqual(raised.exception.message, 'the inline config: budget.limit: expected a number from 0.000001 to 1000000000, got "ten"')

    def test_a_token_without_a_server_url_is_a_config_error(self) -> None:
        with self.assertRaises(ConfigError) as raised:
            Runtime(token="iron_pat_x")
        self.assertIn("without a server URL", raised.exception.message)

    def test_the_server_token_reaches_the_sync_plugin_and_no_environment_block(self) -> None:
        before = os.getcwd()
        os.chdir(self.tmp)  # the sync outbox is written here
        self.addCleanup(os.chdir, before)
        token = "iron_pat_secret_never_in_environ"
        with Runtime(server_url="http://127.0.0.1:9", token=token) as runtime:
            self.assertIn("sync", runtime.plugins)
            self.assertIn("sync → http://127.0.0.1:9", runtime.info["startLine"])
            self.assertNotIn(token.encode(), Path(f"/proc/{runtime.pid}/environ").read_bytes())
            self.assertNotIn(token.encode(), Path(f"/proc/{runtime.pid}/cmdline").read_bytes())


    def test_a_variable_an_inline_config_names_is_used_and_kept_out_of_the_environment_block(self) -> None:
        secret = "sk-named-by-an-inline-config-0123456789"
        os.environ["MY_INLINE_KEY"] = secret
        self.addCleanup(os.environ.pop, "MY_INLINE_KEY", None)
        fake = os.environ["IRON_TEST_FAKE_URL"]
        config = {"providers": {"local": {"type": "openai-compatible", "baseUrl": f"{fake}/v1", "apiKey": "${MY_INLINE_KEY}", "models": ["gpt-4o-mini"]}}}
        with Runtime(config=config) as runtime:
            self.assertNotIn(secret.encode(), Path(f"/proc/{runtime.pid}/environ").read_bytes())
            self.assertNotIn(b"MY_INLINE_KEY", Path(f"/proc/{runtime.pid}/environ").read_bytes())
            # And the key was read: the provider got it.
            report = self.tmp / "report.json"
            agent_id = runtime.start_agent(agent("chat_agent.py"), [str(report), "hello"])
            self.assertEqual(runtime.wait(agent_id, timeout=30)["status"], "completed")
            self.assertIn('"status": 200', report.read_text())


class IronNotFoundTest(CageTestCase):
    def fake_executable(self, name: str, body: str) -> Path:
        path = self.tmp / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path

    def test_an_iron_that_does_not_exist(self) -> None:
        with self.assertRaises(IronNotFound) as raised:
            Runtime(iron=self.tmp / "nowhere" / "iron")
        self.assertEqual(raised.exception.code, "IRON_CLI_NOT_FOUND")
        self.assertIn("npm install /path/to/iron-cage", raised.exception.message)

    def test_a_node_that_is_too_old_says_what_to_install(self) -> None:
        old_node = self.fake_executable("node", "echo 20.11.1")
        self.addCleanup(restore_env, "IRON_NODE", os.environ.get("IRON_NODE"))
        os.environ["IRON_NODE"] = str(old_node)
        with self.assertRaises(IronNotFound) as raised:
            Runtime()
        self.assertEqual(
            raised.exception.message,
            f"iron needs Node.js 22.17 or newer; {old_node} is Node.js 20.11. Install Node.js 24 LTS (https://nodejs.org, "
            "or `nvm install 24`), or set IRON_NODE to a newer node",
        )

    def test_an_iron_without_the_control_mode(self) -> None:
        old_iron = self.fake_executable("iron", "echo \"error: unknown command '$1'\" >&2; exit 78")
        with self.assertRaises(IronNotFound) as raised:
            Runtime(iron=old_iron)
        self.assertIn("exited with code 78 before it answered", raised.exception.message)

    def test_the_command_found_from_the_environment_runs_the_built_cli_on_a_recent_node(self) -> None:
        node, script = iron_command()
        self.assertEqual(script, os.environ["IRON_BIN"])
        self.assertEqual(node, os.environ["IRON_NODE"])

    def test_the_control_process_is_gone_after_a_failed_start(self) -> None:
        started = []

        class Recorded(runtime_module.Channel):
            def __init__(self, *args: Any) -> None:
                super().__init__(*args)
                started.append(self)

        self.addCleanup(setattr, runtime_module, "Channel", runtime_module.Channel)
        runtime_module.Channel = Recorded  # type: ignore[misc]
        with self.assertRaises(ConfigError):
            Runtime(config={"nonsense": True})
        self.assertEqual(len(started), 1)
        self.assertTrue(gone(started[0].pid))
