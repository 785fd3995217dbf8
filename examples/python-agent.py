#!/usr/bin/env python3
"""A Python agent that knows nothing about Iron Cage: it calls the OpenAI API with the standard library only.

Run it caged:  npm run iron -- run examples/python-agent.py
The runtime sets OPENAI_BASE_URL and OPENAI_API_KEY to its local gateway and a per-agent credential,
so this script never sees the real key and every call goes through the cage.
"""
import json
import os
import sys
import urllib.error
import urllib.request

BASE_URL = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
API_KEY = os.environ.get("OPENAI_API_KEY", "")
MODEL = os.environ.get("AGENT_MODEL", "gpt-4o-mini")


def post(path, body):
    request = urllib.request.Request(
        BASE_URL + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + API_KEY, "Content-Type": "application/json"},
    )
    return urllib.request.urlopen(request, timeout=60)


def chat(prompt):
    with post("/chat/completions", {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "max_tokens": 200}) as response:
        answer = json.load(response)
    return answer["choices"][0]["message"]["content"], answer["usage"]


def chat_stream(prompt):
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True, "max_tokens": 200}
    text = ""
    with post("/chat/completions", body) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: "):
                continue
            data = line[len("data: "):]
            if data == "[DONE]":
                break
            event = json.loads(data)
            if "error" in event:
                raise RuntimeError(event["error"]["message"])
            for choice in event.get("choices", []):
                text += choice.get("delta", {}).get("content") or ""
    return text


def main():
    topics = sys.argv[1:] or ["the water cycle", "binary search"]
    try:
        for topic in topics:
            text, usage = chat("Explain " + topic + " in one sentence.")
            print(f"[{topic}] {text} ({usage['prompt_tokens']} in / {usage['completion_tokens']} out)")
        print("[stream] " + chat_stream("Name three prime numbers."))
    except urllib.error.HTTPError as error:
        detail = json.loads(error.read() or b"{}").get("error", {})
        print(f"LLM call refused ({error.code}): {detail.get('message')}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
