"""The `policybot` command: bad settings, an unreachable database, and `serve --workers N`
sharing the cores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from service.cli.commands import share_cores
from service.cli.main import main
from tests.servers import free_port


@pytest.mark.parametrize(("cores", "workers", "threads"), [(2, 2, "1"), (8, 2, "4"), (2, 3, "1")])
def test_each_worker_gets_its_share_of_the_cores(monkeypatch: pytest.MonkeyPatch, cores: int,
                                                 workers: int, threads: str) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    share_cores(workers)
    assert os.environ["OMP_NUM_THREADS"] == threads


def test_an_explicit_thread_count_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    share_cores(2)
    assert os.environ["OMP_NUM_THREADS"] == "2"


def test_a_bad_setting_names_the_variable_and_the_rule_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POLICYBOT_TOP_K", "99")
    assert main(["search", "专精特新"]) == 2
    error = capsys.readouterr().err
    assert "POLICYBOT_TOP_K='99'" in error and "less than or equal to 20" in error
    assert "Traceback" not in error


def test_serve_with_an_unreachable_database_says_so_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"postgresql://bot:s3cret@127.0.0.1:{free_port()}/policybot"
    monkeypatch.setenv("POLICYBOT_DATABASE_URL", url)
    monkeypatch.setenv("POLICYBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POLICYBOT_INDEX_DIR", str(tmp_path / "index"))
    assert main(["serve"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("policybot: cannot reach the database postgresql://bot:***@127.0.0.1:")
    assert "(POLICYBOT_DATABASE_URL)" in error and "s3cret" not in error
    assert "Traceback" not in error and not (tmp_path / "index").exists()


@pytest.mark.parametrize(("lines", "expected"), [
    ('{"question": "泉惠企是什么"}\n', "missing 'answerable'"),
    ('{"question": "泉惠企是什么", "answerable": true}\nnot json\n', ":2: not JSON"),
])
def test_a_bad_question_file_is_named_with_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: str, expected: str) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(lines, "utf-8")
    code = main(["eval", "--questions", str(questions), "--refusal",
                 "--index", str(tmp_path / "no-index")])
    error = capsys.readouterr().err
    assert code == 1 and expected in error and "Traceback" not in error


def test_eval_facts_prints_precision_per_field(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    notice = ("济南高新区管委会关于支持企业共享用工的通知\n\n济高管发〔2020〕8号\n\n各街道办事处：\n\n"
              "对派出企业给予补贴。\n\n济南高新区管委会\n\n2020年3月2日")
    passages = tmp_path / "passages.jsonl"
    passages.write_text(json.dumps({"id": "n1", "title": "", "text": notice},
                                   ensure_ascii=False) + "\n", "utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"id": "n1", "agency": "济南高新区管委会", "doc_number": "",
                                  "issued": "2020-03-01", "effective": "", "expires": ""},
                                 ensure_ascii=False) + "\n", "utf-8")
    assert main(["eval", "--facts", str(labels), "--passages", str(passages)]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows["agency"][1:3] == ["1.000", "1.000"]
    assert rows["doc_number"][1] == "0.000"  # read where the label says there is none
    assert rows["issued"][1] == "0.000"  # 3月2日 read, 3月1日 labelled
