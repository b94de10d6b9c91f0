"""/metrics under `policybot serve --workers 2`: parsed with prometheus-client's own parser,
its counts match the requests this test made, whichever worker served them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.core.settings import Settings
from tests.servers import running_server

pytestmark = pytest.mark.slow
TOKEN = "metrics-workers-token-4711"
ANSWERED = ["外籍员工的工作许可和居留能一起办吗？", "企业在哪里可以查到惠企政策？"]
REFUSED = ["上海浦东新区的人才公寓怎么申请？", "深圳前海的跨境电商补贴有多少？"]
ROUNDS = 3
MAX_ROUNDS = 20


def worker_pids(settings: Settings) -> set[str]:
    """The workers that have counted something: each writes its own counter file."""
    return {path.stem.rsplit("_", 1)[-1]
            for path in (settings.data_dir / "metrics").glob("counter_*.db")}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_add_up_across_two_workers(settings: Settings, tmp_path: Path) -> None:
    with running_server(settings, tmp_path / "server.log", token=TOKEN, workers=2) as server:
        client = server.client
        client.headers["Connection"] = "close"  # a new connection each time: both workers serve
        rounds = 0  # ROUNDS, and more while the kernel has handed every connection to one worker
        while rounds < ROUNDS or (len(worker_pids(settings)) < 2 and rounds < MAX_ROUNDS):
            for question in ANSWERED + REFUSED:
                response = client.post("/api/v1/ask", json={"question": question})
                assert response.status_code == 200
                assert response.json()["found"] is (question in ANSWERED)
            rounds += 1
        for helpful in (True, True, False):
            client.post("/api/v1/feedback", json={"question": ANSWERED[0], "answer": "答",
                                                  "helpful": helpful})
        assert client.post("/api/v1/ask", json={"question": ""}).status_code == 422
        scrapes = [samples(client.get("/metrics").text) for _ in range(6)]
        pids = worker_pids(settings)
        log_lines = server.log_text().splitlines()
    asked = rounds * (len(ANSWERED) + len(REFUSED))
    for found in scrapes:  # every scrape, whichever worker answers it, sees all counts
        assert found[("policybot_questions_total", (("outcome", "answered"),))] == \
            rounds * len(ANSWERED)
        assert found[("policybot_questions_total", (("outcome", "refused"),))] == \
            rounds * len(REFUSED)
        assert found[("policybot_feedback_total", (("rating", "helpful"),))] == 2
        assert found[("policybot_feedback_total", (("rating", "not_helpful"),))] == 1
        ask_labels = (("method", "POST"), ("route", "/api/v1/ask"))
        assert found[("policybot_requests_total", (*ask_labels, ("status", "200")))] == asked
        assert found[("policybot_requests_total", (*ask_labels, ("status", "422")))] == 1
        assert found[("policybot_request_duration_seconds_count", ask_labels)] == asked + 1
        assert found[("policybot_query_embedding_seconds_count", ())] >= 1
        assert found[("policybot_index_passages", ())] > 0
    assert len(pids) == 2, f"expected counter files of two workers, got {pids}"
    access = [json.loads(line) for line in log_lines if '"policybot.access"' in line]
    assert sum(line["route"] == "/api/v1/ask" for line in access) == asked + 1
    assert all(len(line["request_id"]) == 32 for line in access)
    assert TOKEN not in "\n".join(log_lines)
    assert ANSWERED[0] not in "\n".join(log_lines)
