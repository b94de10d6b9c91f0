"""Admission control: per-client token buckets (429 + Retry-After), the client behind a
trusted proxy, and the feedback row cap (507)."""

from __future__ import annotations

import ipaddress

import pytest
from fastapi.testclient import TestClient

from service.api.admission import TokenBuckets, client_key, parse_networks
from service.api.app import create_app
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from tests.api.test_errors import assert_error

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.5")


def test_a_bucket_allows_a_burst_of_a_quarter_of_the_minute_then_refills() -> None:
    buckets = TokenBuckets(per_minute=60)  # burst 15, one a second
    assert [buckets.take("a", now=0.0) for _ in range(15)] == [0.0] * 15
    assert buckets.take("a", now=0.0) == pytest.approx(1.0)
    assert buckets.take("b", now=0.0) == 0.0  # another client has its own
    assert buckets.take("a", now=1.0) == 0.0
    assert buckets.take("a", now=1.5) == pytest.approx(0.5)


def test_buckets_are_bounded_in_number() -> None:
    buckets = TokenBuckets(per_minute=60, max_keys=3)
    for key in "abcd":
        buckets.take(key, now=0.0)
    assert len(buckets._buckets) == 3


def test_the_client_is_the_socket_address_unless_the_peer_is_a_trusted_proxy() -> None:
    assert client_key("203.0.113.7", "1.2.3.4", PROXIES) == "203.0.113.7"  # not trusted
    assert client_key("10.1.2.3", "1.2.3.4", PROXIES) == "1.2.3.4"
    # the client may send its own X-Forwarded-For: only the hop the proxy added counts
    assert client_key("10.1.2.3", "6.6.6.6, 1.2.3.4", PROXIES) == "1.2.3.4"
    assert client_key("10.1.2.3", "1.2.3.4, 192.168.1.5", PROXIES) == "1.2.3.4"
    assert client_key("10.1.2.3", None, PROXIES) == "10.1.2.3"


def test_ipv6_clients_are_keyed_by_their_64_bit_prefix() -> None:
    first = client_key("2001:db8:1:2::1", None, ())
    assert first == client_key("2001:db8:1:2:ffff::9", None, ()) == "2001:db8:1:2::/64"
    assert client_key("::ffff:198.51.100.1", None, ()) == "198.51.100.1"


def test_trusted_proxies_setting_must_parse() -> None:
    with pytest.raises(ValueError, match="not an IP address or CIDR"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.local")
    assert ipaddress.ip_address("10.0.0.1") in parse_networks(
        Settings(trusted_proxies="10.0.0.0/8").trusted_proxies)[0]


@pytest.fixture()
def limited(settings: Settings, embedder: Embedder):  # type: ignore[no-untyped-def]
    limited = settings.model_copy(update={"rate_limit_per_minute": 4,  # burst of 1
                                          "trusted_proxies": "10.0.0.0/8"})
    with TestClient(create_app(limited, embedder=embedder),
                    client=("10.0.0.2", 5000)) as client:
        yield client


def test_the_second_question_within_the_minute_gets_429_with_retry_after(
        limited: TestClient) -> None:
    headers = {"x-forwarded-for": "198.51.100.1"}
    assert limited.post("/api/v1/ask", json={"question": "泉惠企是什么"},
                        headers=headers).status_code == 200
    response = limited.post("/api/v1/ask", json={"question": "泉惠企是什么"}, headers=headers)
    assert_error(response, 429, "too many requests", "198.51.100.1", "retry in")
    assert 1 <= int(response.headers["retry-after"]) <= 15
    # another client behind the same proxy, and another endpoint, are not held back
    assert limited.post("/api/v1/ask", json={"question": "泉惠企是什么"},
                        headers={"x-forwarded-for": "198.51.100.2"}).status_code == 200
    assert limited.post("/api/v1/search", json={"query": "泉惠企"},
                        headers=headers).status_code == 200


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/search", {"query": "泉惠企"}),
    ("/api/v1/match", {"profile": {"needs": ["融资"]}}),
    ("/api/v1/feedback", {"question": "泉惠企", "answer": "", "helpful": True}),
])
def test_search_match_and_feedback_are_limited_too(limited: TestClient, path: str,
                                                   body: dict) -> None:  # type: ignore[type-arg]
    assert limited.post(path, json=body).status_code in (200, 201)
    assert_error(limited.post(path, json=body), 429, "too many requests")


def test_a_rate_limited_body_is_not_read(limited: TestClient) -> None:
    limited.post("/api/v1/search", json={"query": "泉惠企"})
    response = limited.post("/api/v1/search", content=b"not json at all",
                            headers={"content-type": "application/json"})
    assert response.status_code == 429


def test_zero_turns_the_limit_off(client: TestClient) -> None:
    for _ in range(20):
        assert client.post("/api/v1/search", json={"query": "泉惠企"}).status_code == 200


def test_feedback_past_the_row_cap_is_507_and_stores_nothing(settings: Settings,
                                                             embedder: Embedder) -> None:
    capped = settings.model_copy(update={"feedback_max_rows": 2})
    body = {"question": "泉惠企", "answer": "答", "helpful": True}
    with TestClient(create_app(capped, embedder=embedder)) as client:
        assert [client.post("/api/v1/feedback", json=body).status_code
                for _ in range(2)] == [201, 201]
        assert_error(client.post("/api/v1/feedback", json=body), 507,
                     "full", "POLICYBOT_FEEDBACK_MAX_ROWS")
        assert client.app.state.feedback.count() == 2  # type: ignore[attr-defined]
