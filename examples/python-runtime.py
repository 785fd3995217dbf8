#!/usr/bin/env python3
"""The seed's Python API, as written in the design, caging a real agent (examples/python-agent.py).

Run it from this checkout:  PYTHONPATH=clients/python python3 examples/python-runtime.py
(or `pip install ./clients/python` first). `Runtime` finds the `iron` command this way: Runtime(iron=…), $IRON_BIN,
node_modules/.bin/iron in the working folder or above, the same above the package, the checkout holding the package
(its dist/core/cli/bin.js, built by `npm ci`), then PATH; it runs on $IRON_NODE, a node pinned in node_modules/.bin,
or the node on PATH (Node.js 22.17 or newer). Without OPENAI_API_KEY the offline simulated provider answers.
"""
import os

from iron_runtime import Runtime

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python-agent.py")

runtime = Runtime(budget=50.0)
agent_id = runtime.start_agent(AGENT)
metrics = runtime.get_metrics(agent_id)
print(f"started {agent_id}: {metrics['status']}")

metrics = runtime.wait(agent_id)  # the agent's own output comes first, as it prints it
print(
    f"{metrics['name']}: {metrics['status']}, {metrics['calls']} calls, "
    f"{metrics['tokens']['input']} tokens in / {metrics['tokens']['output']} out, "
    f"${metrics['costUsd']:.6f} of ${metrics['budget']['limitUsd']:.2f}, "
    f"{metrics['piiDetections']} PII findings, {metrics['errorCount']} errors"
)

runtime.stop_agent(agent_id)  # it has ended already: this returns its final metrics
runtime.close()
