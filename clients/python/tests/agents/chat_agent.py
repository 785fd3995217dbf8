"""A standard-library agent for the tests: chat calls through OPENAI_BASE_URL, reported to a JSON file.

usage: chat_agent.py REPORT [--max-tokens N] PROMPT...   each prompt is one call (a stream when it starts with "stream:")
A refused call is reported with its status and message, and the agent goes on.
"""
import argparse
import json
import os
import urllib.error
import urllib.request


def call(prompt, stream, max_tokens):
    body = {"model": "gpt-4o-mini", "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    request = urllib.request.Request(
        os.environ["OPENAI_BASE_URL"] + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"], "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            if not stream:
                answer = json.load(response)
                return {"status": 200, "text": answer["choices"][0]["message"]["content"], "usage": answer["usage"]}
            text, usage = "", None
            for raw in response:
                line = raw.decode().strip()
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                event = json.loads(line[len("data: "):])
                usage = event.get("usage") or usage
                for choice in event.get("choices", []):
                    text += choice.get("delta", {}).get("content") or ""
            return {"status": 200, "text": text, "usage": usage}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "error": json.loads(error.read() or b"{}").get("error", {}).get("message")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("--max-tokens", type=int, default=20)
    parser.add_argument("prompts", nargs="+")
    options = parser.parse_args()
    calls = []
    for prompt in options.prompts:
        stream = prompt.startswith("stream:")
        calls.append(call(prompt[len("stream:"):] if stream else prompt, stream, options.max_tokens))
        print("call", len(calls), calls[-1]["status"], flush=True)
    facts = {"keyPrefix": os.environ["OPENAI_API_KEY"][:5], "baseUrl": os.environ["OPENAI_BASE_URL"], "cwd": os.getcwd(), "calls": calls}
    with open(options.report, "w") as file:
        json.dump(facts, file)


if __name__ == "__main__":
    main()
