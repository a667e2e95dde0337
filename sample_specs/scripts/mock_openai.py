"""A small OpenAI-compatible chat-completions server for trying llm branches offline.

    python3 sample_specs/scripts/mock_openai.py --port 8765

POST /v1/chat/completions answers with a JSON record about the last user message:
``{"doc": <the word after "Document:">, "summary": <its first line of text>, "words": N}``
(streamed as server-sent events when the request asks, usage included). Markers in the
user message steer it: ``[[429]]`` (once per message: 429 with Retry-After: 1),
``[[500]]`` (once: a server error), ``[[400]]`` (a bad request, always),
``[[quota]]`` (429 insufficient_quota), ``[[slow]]`` (a reply that trickles for 30 s),
``[[badjson]]`` (prose first, valid JSON once asked to repair), ``[[never]]`` (prose,
always), ``[[echo-key]]`` (a 401 whose body echoes the Authorization header).
GET /stats: requests, disconnects (clients that closed mid-answer) and busy seconds
(the time spent answering, summed over answers) since the start. --latency adds seconds
to every answer.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_LOCK = threading.Lock()
_SEEN: dict[str, int] = {}
STATS: dict[str, float] = {"requests": 0, "disconnects": 0, "busy_s": 0.0}


class Handler(BaseHTTPRequestHandler):
    """One request to the mock API."""

    protocol_version = "HTTP/1.1"
    latency_s = 0.0

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: no line per request."""

    def do_GET(self) -> None:
        """GET /stats."""
        with _LOCK:
            self._json(200, dict(STATS))

    def do_POST(self) -> None:
        """POST /v1/chat/completions."""
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        started = time.monotonic()
        with _LOCK:
            STATS["requests"] += 1
        try:
            self._answer(body)
        except (BrokenPipeError, ConnectionResetError):
            with _LOCK:
                STATS["disconnects"] += 1
        finally:
            with _LOCK:
                STATS["busy_s"] += time.monotonic() - started

    def _answer(self, body: dict[str, Any]) -> None:
        messages = body.get("messages", [])
        user = [m["content"] for m in messages if m["role"] == "user"]
        prompt = user[0] if user else ""
        repairing = any(m["role"] == "assistant" for m in messages)
        with _LOCK:
            seen = _SEEN.get(prompt, 0)
            _SEEN[prompt] = seen + 1
        if self.latency_s:
            time.sleep(self.latency_s)
        if "[[echo-key]]" in prompt:
            said = self.headers.get("Authorization", "")
            return self._error(401, "invalid_api_key", f"Incorrect API key provided: {said}")
        if "[[400]]" in prompt:
            return self._error(400, "invalid_request_error", "model 'nope' does not exist")
        if "[[quota]]" in prompt:
            return self._error(429, "insufficient_quota", "You exceeded your current quota")
        if "[[429]]" in prompt and seen == 0:
            return self._error(429, "rate_limit_exceeded", "Rate limit reached", retry_after=1)
        if "[[500]]" in prompt and seen == 0:
            return self._error(500, "server_error", "The server had an error")
        if "[[never]]" in prompt or ("[[badjson]]" in prompt and not repairing):
            content = "Here is the summary you asked for, in plain words."
        else:
            content = json.dumps(_record(prompt))
        usage = {"prompt_tokens": sum(len(m["content"]) for m in messages) // 4}
        usage["completion_tokens"] = max(1, len(content) // 4)
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            self._stream(content, usage, body, slow="[[slow]]" in prompt)
        else:
            message = {"role": "assistant", "content": content}
            reply = {"object": "chat.completion", "model": body.get("model"), "usage": usage}
            reply["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
            self._json(200, reply)

    def _stream(self, content: str, usage: dict[str, int], body: dict[str, Any], *, slow: bool):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        pieces = [content[i : i + 8] for i in range(0, len(content), 8)]
        if slow:
            pieces = [*pieces[:2], *(" " for _ in range(300))]
        for piece in pieces:
            chunk = {"object": "chat.completion.chunk", "choices": [{"delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            if slow:
                time.sleep(0.1)
        if (body.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _error(self, status: int, code: str, message: str, retry_after: int | None = None):
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self._json(status, {"error": {"message": message, "type": code, "code": code}}, headers)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, text in (headers or {}).items():
            self.send_header(name, text)
        self.end_headers()
        self.wfile.write(data)


def _record(prompt: str) -> dict[str, Any]:
    doc = re.search(r"Document:\s*(\S+)", prompt)
    text = re.sub(r"\[\[[a-z0-9-]+\]\]|Document:\s*\S+", "", prompt)
    lines = [line.strip("# ").strip() for line in text.splitlines() if line.strip("# ").strip()]
    summary = lines[-1] if lines else ""
    return {
        "doc": doc.group(1) if doc else "",
        "summary": summary[:120],
        "words": len(text.split()),
    }


def serve(port: int, latency_s: float = 0.0) -> ThreadingHTTPServer:
    """A started server on 127.0.0.1 (``port`` 0: any free port); stop it with shutdown()."""
    handler = type("MockHandler", (Handler,), {"latency_s": latency_s})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler, bind_and_activate=False)
    server.request_queue_size = 128  # many branches connect at once
    server.server_bind()
    server.server_activate()
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    """Serve until interrupted, printing the address once it listens."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    args = parser.parse_args()
    server = serve(args.port, args.latency)
    print(f"mock OpenAI-compatible API on http://127.0.0.1:{server.server_port}/v1", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
