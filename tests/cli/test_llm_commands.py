"""`policybot eval --verifier`, `eval --followups` and `ask --stream`."""

from __future__ import annotations

import pytest

from service.cli.main import main
from service.core.settings import Settings
from service.embedding.embedders import Embedder
from tests.conftest import REPO
from tests.llm_double import grounded, running_double

DATA = REPO / "tests" / "data"


def use(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    for name in ("corpus_dir", "index_dir", "data_dir"):
        monkeypatch.setenv(f"POLICYBOT_{name.upper()}", str(getattr(settings, name)))


def test_eval_verifier_prints_precision_and_recall_per_threshold(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--verifier", str(DATA / "verifier_labelled.jsonl")]) == 0
    out = capsys.readouterr().out
    configured = next(line for line in out.splitlines() if "<- configured" in line)
    coverage, kept, precision, recall, unsupported = configured.split()[:5]
    assert float(precision) == 1.0 and int(unsupported) == 0 and float(recall) >= 0.95
    assert "changed_number 0/20" in out


def test_eval_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval"]) == 1
    assert "--questions FILE, --followups FILE or --verifier FILE" in capsys.readouterr().err


def test_ask_stream_prints_the_verified_sentences_and_the_label(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        seed_index: Settings, embedder: Embedder) -> None:
    use(monkeypatch, seed_index)
    monkeypatch.setattr("service.cli.commands.embedder_for", lambda settings: embedder)
    with running_double() as double:
        double.reply = grounded
        monkeypatch.setenv("POLICYBOT_LLM_BASE_URL", double.url)
        assert main(["ask", "--stream", "外籍员工的工作许可和居留能一起办吗？"]) == 0
    out = capsys.readouterr().out
    assert "[1]" in out and "根据引用文本撰写" in out and "来源：" in out


def test_eval_followups_compares_three_ways(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str],
                                            seed_index: Settings, embedder: Embedder) -> None:
    use(monkeypatch, seed_index)
    monkeypatch.setattr("service.cli.commands.embedder_for", lambda settings: embedder)
    assert main(["eval", "--followups", str(DATA / "followups.jsonl"), "--json"]) == 0
    out = capsys.readouterr().out
    assert "rewritten with history" in out and "previous + question" in out
