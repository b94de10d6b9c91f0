"""The OpenAI-compatible client against the protocol double, over real HTTP and SSE."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from service.answering.llm_client import ChatClient, CircuitBreaker, LLMConfig, LLMError
from tests.llm_double import LLMDouble, Reply, free_port, running_double

KEY = "sk-test-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "问题"}]


@pytest.fixture(scope="module")
def double() -> Iterator[LLMDouble]:
    with running_double() as running:
        yield running


@pytest.fixture()
def clients() -> Iterator[list[ChatClient]]:
    made: list[ChatClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture()
def client_for(clients: list[ChatClient]):  # type: ignore[no-untyped-def]
    def make(url: str, timeout_s: float = 2.0) -> ChatClient:
        clients.append(ChatClient(LLMConfig(url, "test-model", SecretStr(KEY), timeout_s, 64),
                                  CircuitBreaker(100, cooldown_s=60)))
        return clients[-1]
    return make


def test_streams_the_pieces_and_sends_model_key_and_stream_flag(double: LLMDouble, client_for) -> None:  # type: ignore[no-untyped-def]
    double.reply = Reply(["高新区", "有8家[", "1]。"])
    client = client_for(double.url)
    assert list(client.stream(MESSAGES)) == ["高新区", "有8家[", "1]。"]
    request = double.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert request["body"]["model"] == "test-model" and request["body"]["stream"] is True
    assert request["body"]["messages"] == MESSAGES


def test_a_server_that_ignores_stream_true_still_works(double: LLMDouble, client_for) -> None:  # type: ignore[no-untyped-def]
    double.reply = Reply(["整段回答[1]。"], stream=False)
    assert client_for(double.url).complete(MESSAGES) == "整段回答[1]。"


@pytest.mark.parametrize(("reply", "reason"), [
    (Reply(status=500), "HTTP 500"),
    (Reply(status=401), "HTTP 401"),
    (Reply(raw=b"data: {not json\n\n"), "malformed event stream"),
    (Reply(raw=b"<html>gateway error</html>\n"), "malformed event stream"),
    (Reply(raw=b"{\"no\": \"choices\"}", stream=False), "malformed"),
    (Reply([]), "empty reply"),
])
def test_failures_are_llm_errors_with_a_safe_reason(double: LLMDouble, reply: Reply, reason: str,
                                                    caplog: pytest.LogCaptureFixture,
                                                    client_for) -> None:  # type: ignore[no-untyped-def]
    double.reply = reply
    with caplog.at_level(logging.DEBUG), pytest.raises(LLMError) as raised:
        client_for(double.url).complete(MESSAGES)
    assert reason in raised.value.reason
    assert KEY not in raised.value.reason and KEY not in caplog.text


def test_a_hang_past_the_timeout_fails_within_the_timeout(double: LLMDouble, client_for) -> None:  # type: ignore[no-untyped-def]
    double.reply = Reply(["迟到的回答。"], hang_s=3.0)
    started = time.monotonic()
    with pytest.raises(LLMError, match="timeout"):
        client_for(double.url, timeout_s=0.5).complete(MESSAGES)
    assert time.monotonic() - started < 1.5


def test_a_slow_trickle_is_cut_at_the_deadline(double: LLMDouble, client_for) -> None:  # type: ignore[no-untyped-def]
    double.reply = Reply(["字"] * 20, token_delay_s=0.1)
    started = time.monotonic()
    with pytest.raises(LLMError, match="timeout"):
        client_for(double.url, timeout_s=0.5).complete(MESSAGES)
    assert time.monotonic() - started < 1.2


def test_connection_refused_is_an_llm_error(client_for) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LLMError, match="could not be reached"):
        client_for(f"http://127.0.0.1:{free_port()}/v1").complete(MESSAGES)


def test_the_breaker_opens_after_repeated_failures_and_closes_after_a_good_trial(
        double: LLMDouble, clients: list[ChatClient]) -> None:
    double.reply = Reply(status=503)
    client = ChatClient(LLMConfig(double.url, "m", SecretStr(""), 2.0, 64),
                        CircuitBreaker(failures_to_open=2, cooldown_s=0.3))
    clients.append(client)
    for _ in range(2):
        with pytest.raises(LLMError, match="HTTP 503"):
            client.complete(MESSAGES)
    assert client.breaker.state == "open"
    calls = len(double.requests)
    with pytest.raises(LLMError, match="skipped"):
        client.complete(MESSAGES)
    assert len(double.requests) == calls  # not even sent
    time.sleep(0.35)
    assert client.breaker.state == "half-open"
    double.reply = Reply(["好了。"])
    assert client.complete(MESSAGES) == "好了。"
    assert client.breaker.state == "closed"


def test_the_key_is_not_in_the_clients_repr(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("http://127.0.0.1:9/v1")
    assert KEY not in repr(client) and KEY not in repr(client.config)
