"""An OpenAI-compatible chat client: pooled httpx, streamed SSE, a deadline, a breaker.

Any failure (connection refused, timeout, 4xx/5xx, malformed JSON or SSE, an empty
reply) is an ``LLMError`` whose ``reason`` is safe to show: it never contains the API key,
the request or the reply. After ``failures_to_open`` failures in a row the breaker opens
and calls fail at once for ``cooldown_s``; then one trial call decides.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

log = logging.getLogger("policybot")
DONE = "[DONE]"


class LLMError(Exception):
    """The LLM could not give a usable reply; ``reason`` says why in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CircuitBreaker:
    """Closed → open after ``failures_to_open`` failures in a row → half-open after
    ``cooldown_s`` (one trial call) → closed on success, open again on failure."""

    def __init__(self, failures_to_open: int = 3, cooldown_s: float = 30.0) -> None:
        if failures_to_open < 1:
            raise ValueError(f"failures_to_open must be >= 1, got {failures_to_open}")
        self.failures_to_open = failures_to_open
        self.cooldown_s = cooldown_s
        self.failures = 0
        self._opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return "closed"
        if time.monotonic() - self._opened_at >= self.cooldown_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial call at a time."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half-open" and not self._trial:
                self._trial = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self.failures, self._opened_at, self._trial = 0, None, False

    def release(self) -> None:
        """A call ended without a verdict (its reader went away): allow another trial."""
        with self._lock:
            self._trial = False

    def record_failure(self) -> None:
        with self._lock:
            self.failures += 1
            self._trial = False
            if self.failures >= self.failures_to_open:
                self._opened_at = time.monotonic()


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: SecretStr
    timeout_s: float = 20.0
    max_tokens: int = 512


class ChatClient:
    """``POST {base_url}/chat/completions`` with ``stream: true``; yields content deltas."""

    def __init__(self, config: LLMConfig, breaker: CircuitBreaker | None = None) -> None:
        if not config.base_url:
            raise ValueError("base_url must be set, e.g. http://127.0.0.1:11434/v1")
        self.config = config
        self.breaker = breaker or CircuitBreaker()
        headers = {"Accept": "text/event-stream"}
        key = config.api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx.Timeout(config.timeout_s, connect=min(config.timeout_s, 5.0))
        self._http = httpx.Client(base_url=config.base_url, headers=headers, timeout=timeout,
                                  limits=httpx.Limits(max_connections=32,
                                                      max_keepalive_connections=8))

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        return f"ChatClient(base_url={self.config.base_url!r}, model={self.config.model!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stream(self, messages: list[dict[str, str]], max_tokens: int | None = None,
               timeout_s: float | None = None) -> Iterator[str]:
        """The reply's text in pieces as they arrive. Raises ``LLMError``; the breaker
        learns the outcome when the reply ends (or fails)."""
        if not self.breaker.allow():
            raise LLMError("the LLM is skipped for a while after repeated failures")
        budget = self.config.timeout_s if timeout_s is None else min(timeout_s,
                                                                     self.config.timeout_s)
        if budget <= 0:
            raise LLMError("no time was left for the LLM")
        deadline = time.monotonic() + budget
        body = {"model": self.config.model, "messages": messages, "stream": True,
                "temperature": 0.1, "max_tokens": max_tokens or self.config.max_tokens}
        produced = False
        try:
            for piece in self._pieces(body, deadline):
                if piece:
                    produced = True
                    yield piece
            if not produced:
                raise LLMError("the LLM sent an empty reply")
        except LLMError as exc:
            self.breaker.record_failure()
            log.warning("LLM call failed: %s", exc.reason)
            raise
        except GeneratorExit:  # the caller stopped reading: not the LLM's fault
            self.breaker.release()
            raise
        self.breaker.record_success()

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None,
                 timeout_s: float | None = None) -> str:
        """The whole reply as one string (still streamed underneath)."""
        return "".join(self.stream(messages, max_tokens, timeout_s))

    def _pieces(self, body: dict[str, Any], deadline: float) -> Iterator[str]:
        left = max(deadline - time.monotonic(), 0.001)
        timeout = httpx.Timeout(left, connect=min(left, 5.0))
        try:
            with self._http.stream("POST", "/chat/completions", json=body,
                                   timeout=timeout) as response:
                if response.status_code >= 400:
                    raise LLMError(f"the LLM answered HTTP {response.status_code}")
                kind = response.headers.get("content-type", "")
                if "text/event-stream" not in kind:  # a server that ignores stream: true
                    response.read()
                    yield _message_content(response.text)
                    return
                for line in response.iter_lines():
                    if time.monotonic() > deadline:
                        raise LLMError("the LLM took longer than the timeout")
                    piece = _sse_content(line)
                    if piece is None:
                        return
                    yield piece
        except httpx.TimeoutException:
            raise LLMError("the LLM took longer than the timeout") from None
        except httpx.HTTPError as exc:
            raise LLMError(f"the LLM could not be reached ({type(exc).__name__})") from None


def _sse_content(line: str) -> str | None:
    """The content delta of one SSE line; '' for lines without any; None at [DONE]."""
    line = line.strip()
    if not line or line.startswith(":") or line.startswith(("event:", "id:", "retry:")):
        return ""
    if not line.startswith("data:"):
        raise LLMError("the LLM sent a malformed event stream")
    data = line[5:].strip()
    if data == DONE:
        return None
    try:
        event = json.loads(data)
        choices = event.get("choices") or []
        if not choices:
            return ""
        delta = choices[0].get("delta") or {}
        return str(delta.get("content") or "")
    except (json.JSONDecodeError, AttributeError, TypeError):
        raise LLMError("the LLM sent a malformed event stream") from None


def _message_content(text: str) -> str:
    try:
        return str(json.loads(text)["choices"][0]["message"]["content"] or "")
    except (json.JSONDecodeError, KeyError, IndexError, TypeError):
        raise LLMError("the LLM sent a malformed reply") from None
