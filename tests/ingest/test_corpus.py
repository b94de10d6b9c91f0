from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.core.errors import CorpusError
from service.ingest.corpus import load_corpus
from tests.conftest import SEED_CORPUS


def test_seed_corpus_has_both_reports_with_front_matter() -> None:
    documents = {d.id: d for d in load_corpus(SEED_CORPUS)}
    assert set(documents) == {"jinan-hitech-2023-q3", "jinan-hitech-2024-annual"}
    annual = documents["jinan-hitech-2024-annual"]
    assert annual.title.startswith("济南高新区：奋进“三次创业”")
    assert annual.date == "2025-01"
    assert documents["jinan-hitech-2023-q3"].date == "2023-11"
    assert "泉惠企" in documents["jinan-hitech-2023-q3"].tags
    assert len(annual.sha256) == 64


def test_id_defaults_to_the_relative_path_without_extension(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "talent.md").write_text("人才政策正文。", "utf-8")
    [document] = load_corpus(tmp_path)
    assert document.id == "policies/talent"
    assert document.title == "人才政策正文。"


def test_jsonl_lines_are_documents_with_metadata(tmp_path: Path) -> None:
    lines = [{"id": "a", "title": "甲", "text": "第一条。", "date": "2024-01", "org": "科技局"},
             {"id": "b", "title": "乙", "text": "第二条。"}]
    (tmp_path / "bulk.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines))
    documents = load_corpus(tmp_path)
    assert [d.id for d in documents] == ["a", "b"]
    assert documents[0].date == "2024-01"
    assert documents[0].meta == {"org": "科技局"}


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("---\nid: same\n---\n正文一。", "utf-8")
    (tmp_path / "two.txt").write_text("---\nid: same\n---\n正文二。", "utf-8")
    with pytest.raises(CorpusError, match=r"'same' in one\.txt and two\.txt"):
        load_corpus(tmp_path)


def test_bad_front_matter_and_bad_jsonl_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "broken.txt").write_text("---\ntitle: [unclosed\n---\n正文。", "utf-8")
    with pytest.raises(CorpusError, match="broken.txt"):
        load_corpus(tmp_path)
    (tmp_path / "broken.txt").unlink()
    (tmp_path / "bulk.jsonl").write_text('{"id": "a", "text": "x"}\nnot json\n', "utf-8")
    with pytest.raises(CorpusError, match="bulk.jsonl line 2"):
        load_corpus(tmp_path)


def test_missing_corpus_folder_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="POLICYBOT_CORPUS_DIR"):
        load_corpus(tmp_path / "nope")


def test_gbk_text_loads_like_its_utf8_twin(tmp_path: Path) -> None:
    text = "---\ntitle: 测试\n---\n济南高新区将惠企政策全部纳入线上“泉惠企”平台。"
    (tmp_path / "u.txt").write_bytes(text.encode("utf-8"))
    (tmp_path / "g.txt").write_bytes(text.encode("gbk"))
    gbk, utf8 = load_corpus(tmp_path)
    assert gbk.text == utf8.text and gbk.title == utf8.title


def test_a_dashed_rule_on_the_first_line_is_body_text(tmp_path: Path) -> None:
    (tmp_path / "rule.txt").write_text("--------\n关于支持企业发展的通知\n--------\n正文。", "utf-8")
    [document] = load_corpus(tmp_path)
    assert document.id == "rule"
    assert "关于支持企业发展的通知" in document.text


def test_front_matter_closes_only_at_an_exact_fence(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("---\r\ntitle: 甲\r\n---\r\n------\r\n正文。", "utf-8")
    [document] = load_corpus(tmp_path)
    assert document.title == "甲"
    assert document.text.startswith("------")


def test_read_corpus_skips_unreadable_files_and_names_them(tmp_path: Path) -> None:
    from service.ingest.corpus import read_corpus

    (tmp_path / "good.txt").write_text("好的正文。", "utf-8")
    (tmp_path / "broken.txt").write_text("---\ntitle: [unclosed\n---\n正文。", "utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02")
    (tmp_path / "twin.txt").write_text("---\nid: good\n---\n正文二。", "utf-8")
    contents = read_corpus(tmp_path)
    assert [d.id for d in contents.documents] == ["good"]
    skipped = {file.path: str(file) for file in contents.skipped}
    assert sorted(skipped) == ["binary.txt", "broken.txt", "twin.txt"]
    assert skipped["binary.txt"].startswith("binary.txt: ") and "binary" in skipped["binary.txt"]
    assert "not valid YAML" in skipped["broken.txt"]
    assert "'good' in good.txt and twin.txt" in skipped["twin.txt"]
