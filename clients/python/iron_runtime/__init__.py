"""Iron Cage from Python: the seed's API, driving the real TypeScript runtime (one ``iron control`` process).

    from iron_runtime import Runtime

    runtime = Runtime(budget=50.0)
    agent_id = runtime.start_agent("/path/to/agent.py")
    metrics = runtime.get_metrics(agent_id)
    runtime.stop_agent(agent_id)

Standard library only. Needs Iron Cage's ``iron`` command and Node.js ≥ 22.17 (see ``locate.py`` for where ``iron``
is looked for); nothing of the cage is re-implemented here.
"""
from .errors import (
    AgentFailed,
    AgentNotFound,
    AgentStartFailed,
    BudgetExceeded,
    ConfigError,
    IronError,
    IronNotFound,
    IronTimeout,
)
from .metrics import AgentMetrics
from .runtime import Runtime

__version__ = "0.1.0"

__all__ = [
    "Runtime",
    "AgentMetrics",
    "IronError",
    "BudgetExceeded",
    "ConfigError",
    "AgentNotFound",
    "AgentStartFailed",
    "AgentFailed",
    "IronTimeout",
    "IronNotFound",
]
