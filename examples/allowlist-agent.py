#!/usr/bin/env python3
"""An agent for the custom-plugin example: one call to an allowed model, one to a model the plugin refuses.

Run it caged with the model-allowlist plugin:  npm run example:plugin
(= npm run iron -- run examples/allowlist-agent.py --config examples/allowlist.config.yaml)
The plugin lets gpt-4o-mini through with max_tokens capped at 64, and refuses gpt-4o with a 403 in OpenAI's error
format, which the agent reads like any provider error and carries on.
"""
import json
import os
import sys
import urllib.error
import urllib.request

BASE_URL = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
API_KEY = os.environ.get("OPENAI_API_KEY", "")


def chat(model, prompt):
    request = urllib.request.Request(
        BASE_URL + "/chat/completions",
        data=json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 500}).encode(),
        headers={"Authorization": "Bearer " + API_KEY, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def main():
    for model in ["gpt-4o-mini", "gpt-4o"]:
        try:
            answer = chat(model, "Write a long essay about budgets.")
            print(f"[{model}] answered with {answer['usage']['completion_tokens']} tokens (asked for up to 500)")
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("error", {})
            print(f"[{model}] refused ({error.code}): {detail.get('message')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
