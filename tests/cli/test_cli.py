"""The `policybot` command: bad settings, an unreachable database, and `serve --workers N`
sharing the cores."""

from __future__ import annotations

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
