"""A test double of the OpenAI chat-completions protocol, on 127.0.0.1 over real HTTP/SSE.

It is not a model: it replays what a test scripts (``double.reply = Reply([...])`` or a
function of the request, e.g. ``grounded`` which copies a sentence of passage [1] from the
prompt). It records every request so tests can check what policybot sent.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    chunks: list[str] = field(default_factory=list)  # content deltas, one SSE event each
    status: int = 200
    hang_s: float = 0.0  # wait this long before answering at all
    raw: bytes | None = None  # sent instead of a proper body (garbage)
    token_delay_s: float = 0.0  # wait between chunks
    stream: bool = True  # False: one JSON body, as a server that ignores stream: true


Script = Reply | Callable[[dict[str, Any]], Reply]


class LLMDouble:
    def __init__(self) -> None:
        self.reply: Script = Reply(["资料中没有答案"])
        self.requests: list[dict[str, Any]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> LLMDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script_for(self, request: dict[str, Any]) -> Reply:
        return self.reply(request) if callable(self.reply) else self.reply


@contextmanager
def running_double() -> Iterator[LLMDouble]:
    double = LLMDouble().start()
    try:
        yield double
    finally:
        double.stop()


def _handler(double: LLMDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionResetError, BrokenPipeError):
                pass  # a client closed its kept-alive connection

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("content-length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            request = {"path": self.path, "headers": dict(self.headers), "body": body}
            double.requests.append(request)
            reply = double.script_for(request)
            try:
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to do

        def _send(self, reply: Reply) -> None:
            if reply.hang_s:
                time.sleep(reply.hang_s)
            if reply.status >= 400 or reply.raw is not None or not reply.stream:
                payload = reply.raw if reply.raw is not None else json.dumps(
                    {"choices": [{"message": {"role": "assistant",
                                              "content": "".join(reply.chunks)}}]}
                    if reply.status < 400 else {"error": {"message": "scripted failure"}},
                    ensure_ascii=False).encode()
                kind = "text/event-stream" if reply.raw is not None else "application/json"
                self.send_response(reply.status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for piece in reply.chunks:
                event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                self._chunk(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                if reply.token_delay_s:
                    time.sleep(reply.token_delay_s)
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


PASSAGE_HEAD = re.compile(r"^\[(\d+)\] 《", re.M)


def prompt_passages(request: dict[str, Any]) -> dict[int, str]:
    """The numbered passage texts policybot put in the last user message."""
    content = request["body"]["messages"][-1]["content"]
    passages: dict[int, str] = {}
    heads = list(PASSAGE_HEAD.finditer(content))
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else content.find("【资料结束】")
        block = content[head.start():end]
        passages[int(head.group(1))] = block.split("\n", 1)[1].strip() if "\n" in block else ""
    return passages


def first_sentence(text: str) -> str:
    match = re.search(r"[^。！？]{6,}?[。！？]", text)
    return match.group(0) if match else text


def grounded(request: dict[str, Any]) -> Reply:
    """Two sentences copied from passages [1] and [2], split into small chunks that cut
    the markers in two ("…。[", "1", "]")."""
    passages = prompt_passages(request)
    text = first_sentence(passages[1])
    second = first_sentence(passages.get(2, passages[1]))
    reply = f"{text[:-1]}[1]{text[-1]}{second[:-1]}[2]{second[-1]}"
    return Reply([reply[i:i + 3] for i in range(0, len(reply), 3)])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
