"""Typed errors: every one is an IronError carrying Iron Cage's stable code (the codes of core/errors.ts)."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Type

#: Not a code of the TypeScript runtime: this package could not find or start `iron` (or Node.js).
IRON_CLI_NOT_FOUND = "IRON_CLI_NOT_FOUND"


class IronError(Exception):
    """An error with Iron Cage's `code` (``IRON_BUDGET_EXCEEDED``…), a `message` that says what to do, and `details`."""

    def __init__(self, code: str, message: str, details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details: Dict[str, Any] = dict(details or {})
        #: With ``wait(check=True)``: the agent's final metrics.
        self.metrics: Optional[Dict[str, Any]] = None


class BudgetExceeded(IronError):
    """``IRON_BUDGET_EXCEEDED``: a budget refused a call, or the cage stopped the agent for its budget."""


class ConfigError(IronError):
    """``IRON_CONFIG_INVALID`` (and unknown or invalid plugins): the message names the file or argument and the key."""


class AgentNotFound(IronError, LookupError):
    """``IRON_AGENT_NOT_FOUND``: no agent with that id in this runtime."""


class AgentStartFailed(IronError):
    """``IRON_AGENT_START_FAILED``: the agent could not start (script missing, not executable…)."""


class AgentFailed(IronError):
    """``IRON_AGENT_FAILED``: the agent ended badly (``wait(check=True)``); its exit code and stderr are in `metrics`."""


class IronTimeout(IronError, TimeoutError):
    """``IRON_TIMEOUT``: ``wait(timeout=…)`` ran out while the agent was still running."""


class IronNotFound(IronError):
    """``IRON_CLI_NOT_FOUND``: no usable `iron` command or Node.js ≥ 22.17; the message says what to install."""

    def __init__(self, message: str) -> None:
        super().__init__(IRON_CLI_NOT_FOUND, message)


_BY_CODE: Dict[str, Type[IronError]] = {
    "IRON_BUDGET_EXCEEDED": BudgetExceeded,
    "IRON_CONFIG_INVALID": ConfigError,
    "IRON_PLUGIN_UNKNOWN": ConfigError,
    "IRON_PLUGIN_INVALID": ConfigError,
    "IRON_AGENT_NOT_FOUND": AgentNotFound,
    "IRON_AGENT_START_FAILED": AgentStartFailed,
    "IRON_AGENT_FAILED": AgentFailed,
    "IRON_TIMEOUT": IronTimeout,
}


def error_from(payload: Mapping[str, Any]) -> IronError:
    """The typed error for an error object of the control protocol: ``{"code", "message", "details"?}``."""
    code = str(payload.get("code", "IRON_INTERNAL_ERROR"))
    details = payload.get("details")
    return _BY_CODE.get(code, IronError)(code, str(payload.get("message", "")), details if isinstance(details, Mapping) else None)
