"""The shape of ``get_metrics``: the TypeScript runtime's ``AgentMetrics`` (core/metrics.ts), field for field."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict


class TokenCounts(TypedDict):
    input: int
    output: int
    cacheRead: int
    cacheWrite: int
    reasoning: int


class Budget(TypedDict):
    """USD; ``limitUsd`` and ``remainingUsd`` are None while no budget applies."""

    limitUsd: Optional[float]
    spentUsd: float
    remainingUsd: Optional[float]


class AgentErrorRecord(TypedDict):
    code: str
    message: str
    time: str


class _AgentMetricsBase(TypedDict):
    agentId: str
    name: str
    kind: str
    #: starting, running, completed, failed, stopped, budget_exceeded
    status: str
    #: every LLM call, failed and refused ones too (streams count when they end)
    #: (of which ``failedCalls`` failed or were refused)
    calls: int
    failedCalls: int
    tokens: TokenCounts
    costUsd: float
    budget: Budget
    piiDetections: int
    errorCount: int
    #: the last errors (at most 20), newest last; never a secret or a raw PII value
    errors: List[AgentErrorRecord]
    #: ISO 8601 times
    startedAt: str
    stoppedAt: Optional[str]
    lastActivityAt: Optional[str]
    #: figures plugins add under their own name (``plugins["cost"]["refusedCalls"]``…)
    plugins: Dict[str, Any]


class AgentMetrics(_AgentMetricsBase, total=False):
    """Process agents (every agent started from Python) also have these."""

    #: the agent's process id, which is also its process group's (its tools are in the group)
    pid: Optional[int]
    exitCode: Optional[int]
    exitSignal: Optional[str]
    #: the last 4 KiB of the agent's stderr
    stderrTail: str
