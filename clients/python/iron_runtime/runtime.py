"""``Runtime``: the seed's Python API over the real TypeScript runtime, which runs in one ``iron control`` process."""
from __future__ import annotations

import atexit
import collections
import os
import re
import signal
import sys
import threading
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union, cast

from .channel import Channel, Event
from .errors import AgentFailed, BudgetExceeded, IronError, IronNotFound, error_from
from .locate import PathLike, explain_start_failure, iron_command
from .metrics import AgentMetrics

#: How long ``iron control`` may take to load before it is given up on (a cold start takes well under a second).
HELLO_TIMEOUT_S = 60.0
#: How long loading the config and plugins may take (a server to reach, a PERSON model to load) before giving up.
START_TIMEOUT_S = 120.0
#: Beyond the agents' stop grace: time for the runtime's plugins to close (sync flushes for at most 2 s).
CLOSE_MARGIN_S = 15.0


class Runtime:
    """Cages agents: each one a process whose OpenAI/Anthropic calls go through Iron Cage's local gateway.

    >>> runtime = Runtime(budget=50.0)                       # USD per agent
    >>> agent_id = runtime.start_agent("agent.py")
    >>> metrics = runtime.wait(agent_id)                     # status, calls, tokens, costUsd, budget, errors…
    >>> runtime.close()

    `config` is an ``iron.config.yaml`` path, or the same keys as a dict; without it ``./iron.config.yaml`` is used if
    present, else the safe defaults of ``iron run``. `server_url` and `token` report to an Iron Cage server (as
    ``IRON_SERVER_URL`` / ``IRON_TOKEN`` do). `iron` is the ``iron`` command to use (default: see ``locate.py``).
    """

    def __init__(
        self,
        budget: Optional[float] = None,
        config: Union[PathLike, Mapping[str, Any], None] = None,
        server_url: Optional[str] = None,
        token: Optional[str] = None,
        iron: Optional[PathLike] = None,
    ) -> None:
        self._closed = False
        # The process that owns the channel: after os.fork() a child shares the pipes, and its requests or its exit
        # must not reach (or close) the parent's runtime.
        self._owner_pid = os.getpid()
        #: agent id → pid (its process group's), to stop them even if ``iron control`` itself was killed
        self._agent_pids: Dict[str, int] = {}
        command = iron_command(iron)
        argv = command + ["control"]
        start: Dict[str, Any] = {}
        child_env: Optional[Dict[str, str]] = None
        if isinstance(config, Mapping):
            start["config"] = dict(config)
            # The variables it names (${MY_KEY}) go over the channel, not in iron control's environment block, which
            # an agent of the same user could read (/proc/<pid>/environ): as `iron run` does for a config file.
            named = _referenced_variables(config)
            if named:
                start["env"] = {name: os.environ[name] for name in named if name in os.environ}
                child_env = {name: value for name, value in os.environ.items() if name not in named}
        elif config is not None:
            # On the command line, as for `iron run --config`: iron then keeps the variables it names out of its
            # environment block, where an agent could read them.
            argv += ["--config", os.path.abspath(os.fspath(config))]
        if budget is not None:
            start["budget"] = budget
        if server_url is not None:
            if not isinstance(server_url, str):
                raise TypeError(f"server_url must be a URL string such as 'http://127.0.0.1:8787', not {type(server_url).__name__}")
            start["serverUrl"] = server_url
        if token is not None:
            if not isinstance(token, str):
                raise TypeError(f"token must be a string (an iron_pat_… API token), not {type(token).__name__}")
            start["token"] = token  # over the pipe: in no process's environment
        # `.py` agents run on this interpreter (a venv's packages included), unless IRON_PYTHON says otherwise.
        if "IRON_PYTHON" not in os.environ and sys.executable:
            child_env = {**(child_env if child_env is not None else os.environ), "IRON_PYTHON": sys.executable}
        self._channel = Channel(argv, self._on_event, child_env)
        try:
            try:
                self._channel.hello(HELLO_TIMEOUT_S)
            except IronNotFound:
                explain_start_failure(command)
                raise
            #: What started: ``plugins``, ``configFile``, ``startLine`` (as ``iron run`` prints it), ``version``, ``node``.
            self.info: Dict[str, Any] = self._channel.request("start", start, timeout=START_TIMEOUT_S)
        except BaseException:
            self._closed = True
            self._channel.terminate()
            raise
        self._stop_grace_s = float(self.info.get("stopGraceMs", 5000)) / 1000
        atexit.register(self.close)

    @property
    def pid(self) -> int:
        """The process id of ``iron control`` (the agents are its children)."""
        return self._channel.pid

    @property
    def plugins(self) -> List[str]:
        return list(self.info.get("plugins", []))

    def start_agent(
        self,
        path: PathLike,
        args: Iterable[PathLike] = (),
        name: Optional[str] = None,
        budget: Optional[float] = None,
    ) -> str:
        """Starts a script (``.py`` with python3, ``.js``/``.ts`` with Node.js) or executable; returns its id (a UUID).

        It runs in the current working folder, its ``OPENAI_BASE_URL`` / ``ANTHROPIC_BASE_URL`` pointing at the
        gateway, with a per-agent credential instead of any key. `budget` (USD) is this agent's own limit, in force
        before its first call. Its stdout and stderr go to ``sys.stdout`` / ``sys.stderr``.
        """
        if isinstance(args, (str, bytes)):
            raise TypeError("args must be a list of strings, not one string: args=['--task', 'x']")
        args = list(args)
        if not all(isinstance(arg, (str, bytes, os.PathLike)) for arg in args):
            raise TypeError("args must be a list of strings: args=['--task', 'x']")
        arguments = [os.fspath(arg) for arg in args]
        if not all(isinstance(arg, str) for arg in arguments):
            raise TypeError("args must be a list of strings")
        if any("\0" in arg for arg in [os.fspath(path), *arguments]):
            raise ValueError("a path or argument holds a NUL character, which no program can receive")
        given = os.fspath(path)
        # Absolute, since this process may change folder; named as given by default, as `iron run` names it.
        fields: Dict[str, Any] = {"path": os.path.abspath(given), "args": arguments, "cwd": os.getcwd(), "name": given if name is None else name}
        if budget is not None:
            fields["budget"] = budget
        started = self._request("startAgent", fields)
        if isinstance(started.get("pid"), int):
            self._agent_pids[started["agentId"]] = started["pid"]
        return cast(str, started["agentId"])

    def get_metrics(self, agent_id: str) -> AgentMetrics:
        """Status, calls, tokens, cost, budget, PII detections, errors, start and stop times (``getMetrics``)."""
        return cast(AgentMetrics, self._request("getMetrics", {"agentId": agent_id}))

    def stop_agent(self, agent_id: str) -> AgentMetrics:
        """SIGTERM, then SIGKILL after ``agents.stopGraceMs`` (5 s); returns the final metrics (status ``stopped``)."""
        metrics = cast(AgentMetrics, self._request("stopAgent", {"agentId": agent_id}))
        _OUTPUT.flush()
        return metrics

    def wait(self, agent_id: str, timeout: Optional[float] = None, check: bool = False) -> AgentMetrics:
        """Waits for the agent to end and returns its final metrics, whatever the status (as ``waitForAgent``).

        `timeout` (seconds) raises IronTimeout (a TimeoutError) if it is still running then. With `check`, an agent
        that did not complete raises, like ``subprocess.run(check=True)``: BudgetExceeded when the cage stopped it for
        its budget, else the error it ended with (AgentFailed for a crash); the metrics are on ``error.metrics``.
        """
        fields: Dict[str, Any] = {"agentId": agent_id}
        if timeout is not None and timeout * 1000 != float("inf"):  # a timeout too long to count is no timeout
            if not timeout >= 0:  # (NaN too)
                raise ValueError("timeout must be a number of seconds ≥ 0")
            fields["timeoutMs"] = timeout * 1000
        metrics = cast(AgentMetrics, self._request("wait", fields))
        _OUTPUT.flush()  # what the agent printed shows before wait() returns
        if check and metrics["status"] != "completed":
            raise _ended_badly(metrics)
        return metrics

    def set_budget(self, agent_id: str, usd: Optional[float]) -> None:
        """Raises or lowers the agent's budget while it runs (None: no limit of its own)."""
        self._request("setBudget", {"agentId": agent_id, "usd": usd})

    def close(self) -> None:
        """Stops every agent (each within its stop grace) and the ``iron control`` process. Called at exit too."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        if os.getpid() != self._owner_pid:
            return  # a forked child: the runtime is its parent's, which closes it
        try:
            self._channel.request("close", timeout=self._stop_grace_s + CLOSE_MARGIN_S)
        except IronError:
            pass  # already gone, or stuck: ended below either way
        self._channel.end_input()
        if self._channel.wait_exit(CLOSE_MARGIN_S) is None:
            self._channel.terminate()
        # iron control stops its agents; if it was killed (SIGKILL, the OOM killer) they are still there: stop them.
        _stop_leftover_agents(self._agent_pids)
        _OUTPUT.flush()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, cmd: str, fields: Mapping[str, Any]) -> Any:
        if self._closed:
            raise IronError("IRON_RUNTIME_CLOSED", "the runtime is closed; create a new Runtime to start agents")
        if os.getpid() != self._owner_pid:
            raise IronError(
                "IRON_RUNTIME_FORKED",
                f"this Runtime belongs to process {self._owner_pid}, and this is a child forked from it (os.fork, multiprocessing with fork): create a Runtime in the child, or use the 'spawn' start method",
            )
        return self._channel.request(cmd, fields)

    @staticmethod
    def _on_event(event: Event) -> None:
        if event.get("event") == "output":
            _OUTPUT.put(event.get("stream") == "stdout", str(event.get("text", "")))


class _OutputWriter:
    """Agents' output, written to ``sys.stdout`` / ``sys.stderr`` by a thread of its own: if nothing reads this
    process's stdout, the channel's reader still reads answers (stop_agent and get_metrics keep working). What waits
    is bounded; past the bound the output is dropped and that is said on stderr, once per episode."""

    LIMIT = 64 * 1024 * 1024

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._items: "collections.deque[Tuple[bool, str]]" = collections.deque()
        self._size = 0
        self._dropped = 0
        self._thread: Optional[threading.Thread] = None

    #: Pieces waiting: many small ones cost memory beyond their characters (an object each).
    MAX_ITEMS = 100_000

    def put(self, to_stdout: bool, text: str) -> None:
        with self._lock:
            if self._size + len(text) > self.LIMIT or len(self._items) >= self.MAX_ITEMS:
                self._dropped += len(text)
                return
            self._items.append((to_stdout, text))
            self._size += len(text)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="iron-agent-output", daemon=True)
                self._thread.start()
            self._lock.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._items:
                    self._lock.wait()
                to_stdout, text = self._items.popleft()
                self._size -= len(text)
                dropped, self._dropped = self._dropped, 0
            stream = sys.stdout if to_stdout else sys.stderr
            try:
                if dropped and sys.stderr is not None:
                    sys.stderr.write(f"iron_runtime: {dropped} characters of agent output were dropped: this process's output was not read\n")
                if stream is not None:
                    stream.write(text)
                    stream.flush()
            except (OSError, ValueError):
                pass  # a closed stream (interpreter shutdown): nothing to write to

    def flush(self, timeout: float = 2.0) -> None:
        """Waits (a little) for what is queued to be written: agent output printed before close() shows before it returns."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._items:
                    return
            time.sleep(0.005)


_OUTPUT = _OutputWriter()


_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")


def _referenced_variables(value: Any) -> Set[str]:
    """The variables ``${NAME}`` (or ``${NAME:-default}``) names anywhere in a config's strings."""
    found: Set[str] = set()
    if isinstance(value, str):
        found.update(_REFERENCE.findall(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= _referenced_variables(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= _referenced_variables(item)
    return found


def _stop_leftover_agents(pids: Mapping[str, int]) -> None:
    """SIGKILLs what is left of this runtime's agents: each agent's process group, and any process whose environment
    names one of them (IRON_AGENT_ID) — a tool whose agent already died, one that left the group — so a reused pid is
    never touched. Linux (/proc) only; elsewhere iron control's own stop is all."""
    if not pids or not os.path.isdir("/proc"):
        return
    marks = {f"IRON_AGENT_ID={agent_id}".encode() for agent_id in pids}
    for agent_id, pid in pids.items():
        try:
            with open(f"/proc/{pid}/environ", "rb") as file:
                if f"IRON_AGENT_ID={agent_id}".encode() in file.read().split(b"\0"):
                    os.killpg(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass  # gone, not ours
    for _ in range(5):  # again while it finds some: a process may fork between the listing and its kill
        found = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as file:
                    if marks.isdisjoint(file.read().split(b"\0")):
                        continue
                os.kill(int(entry), signal.SIGKILL)
                found += 1
            except (OSError, ValueError):
                continue  # gone, or another user's
        if found == 0:
            return


def _ended_badly(metrics: AgentMetrics) -> IronError:
    last = metrics["errors"][-1] if metrics["errors"] else {"code": "IRON_AGENT_STOPPED", "message": f"agent {metrics['agentId']} was {metrics['status']}"}
    if metrics["status"] == "budget_exceeded":
        error: IronError = BudgetExceeded("IRON_BUDGET_EXCEEDED", last["message"])
    elif metrics["status"] == "failed" and last["code"] == "IRON_AGENT_FAILED":
        error = AgentFailed(last["code"], f"{last['message']}; its stderr ended with: {metrics.get('stderrTail', '')[-300:].strip()}")
    else:
        error = error_from(last)
    error.metrics = dict(metrics)
    return error
