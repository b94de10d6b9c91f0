"""Metadata from front matter, sidecars and .jsonl lines: typed, valid Unicode, no YAML
aliases; every refusal names the field and the file (and line)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from service.core.errors import CorpusError
from service.ingest.corpus import load_corpus, parse_front_matter
from service.ingest.metadata import check_metadata
from tests.filemakers import make_pdf
from tests.hostile_files import yaml_laughs


def load_one(folder: Path, name: str, content: str) -> list:  # type: ignore[type-arg]
    (folder / name).write_text(content, "utf-8")
    return load_corpus(folder)


def test_yaml_aliases_are_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(CorpusError, match=r"bomb.md: front matter .*aliases \(\*a0\)"):
        parse_front_matter(yaml_laughs(levels=9), "bomb.md")  # 9**9 "lol"s if expanded
    assert time.monotonic() - started < 1  # 107 s and 0.8 MB of title before


def test_front_matter_over_the_size_limit_is_refused() -> None:
    with pytest.raises(CorpusError, match="front matter is 70,0"):
        parse_front_matter("---\ntitle: " + "长" * 70_000 + "\n---\n正文", "big.md")


@pytest.mark.parametrize(("front", "message"), [
    ("tags: 5", "tags: must be a list of words"),
    ("title: {a: 1}", "title: must be text"),
    ("title: 2024", "title: must be text (quoted"),
    ("source: [a, b]", "source: must be text"),
    ("date: {y: 2024}", "date: must be text"),
    ("tags: [[a]]", "tags: must be a list of words"),
    ("region: {city: 济南}", "region: must be text, a number, a date or a list of those"),
    ('title: "\\ud800"', "title: contains '\\ud800'"),
    ("title: " + "长" * 1001, "title: is 1,001 characters long"),
])
def test_wrong_front_matter_is_a_422_naming_field_and_file(
    tmp_path: Path, front: str, message: str
) -> None:
    with pytest.raises(CorpusError) as raised:
        load_one(tmp_path, "政策.md", f"---\n{front}\n---\n第一条　正文。\n")
    assert raised.value.status == 422
    assert raised.value.message.startswith("政策.md: ") and message in raised.value.message


def test_usual_yaml_values_are_accepted_as_text(tmp_path: Path) -> None:
    [document] = load_one(tmp_path, "p.md", "---\nid: 2024\ntitle: 政策\ndate: 2024-03-01\n"
                          "tags: 科技\nperiod: 2024年\n---\n第一条　正文。\n")
    assert (document.id, document.date, document.tags) == ("2024", "2024-03-01", ("科技",))


@pytest.mark.parametrize(("line", "message"), [
    ('{"id": "a", "text": "正文", "tags": 5}', "tags: must be a list of words"),
    ('{"id": "a", "text": "正文\\ud800"}', "text: contains '\\ud800'"),
    ('{"id": "a", "text": 5}', "text: must be text"),
    ('{"id": {"x": 1}, "text": "正文"}', "id: must be text or a number"),
    ('{"id": "a", "title": "\\udfff", "text": "正文"}', "title: contains"),
])
def test_wrong_jsonl_line_is_a_422_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    good = '{"id": "ok", "title": "好", "text": "第一条　正文。"}'
    with pytest.raises(CorpusError) as raised:
        load_one(tmp_path, "docs.jsonl", f"{good}\n{line}\n")
    assert raised.value.message.startswith("docs.jsonl line 2: ") and message in raised.value.message


def test_wrong_sidecar_names_the_sidecar(tmp_path: Path) -> None:
    (tmp_path / "p.pdf").write_bytes(make_pdf(["第一条　正文。"]))
    (tmp_path / "p.pdf.meta.yaml").write_text("tags: 5\n", "utf-8")
    with pytest.raises(CorpusError, match=r"^p.pdf.meta.yaml: tags: must be a list"):
        load_corpus(tmp_path)


def test_check_metadata_normalises_known_fields() -> None:
    checked = check_metadata({"id": 7, "title": " 政策\n标题 ", "date": dt.date(2024, 1, 2),
                              "tags": ["a", 3], "source": None, "note": ""}, "x")
    assert checked == {"id": "7", "title": "政策 标题", "date": "2024-01-02", "tags": ["a", "3"]}


def test_policy_fields_are_typed(tmp_path: Path) -> None:
    front = ("---\nagency: 济南高新区管委会\ndoc_number: 济高管发〔2020〕8号\nissued: 2020-03-02\n"
             "expires: '2020-12-31'\nreplaces: 济高管发〔2019〕2号\n---\n对企业给予补贴。")
    (document,) = load_one(tmp_path, "notice.txt", front)
    assert document.meta == {"agency": "济南高新区管委会", "doc_number": "济高管发〔2020〕8号",
                             "issued": "2020-03-02", "expires": "2020-12-31",
                             "replaces": ["济高管发〔2019〕2号"]}


@pytest.mark.parametrize(("field", "value"), [
    ("expires", "2020年12月31日"), ("issued", "2020-13-01"), ("effective", 20200301),
    ("expires", "[2020-01-01]"),
])
def test_a_policy_date_not_in_iso_form_is_a_422_naming_field_value_and_format(
        field: str, value: object) -> None:
    with pytest.raises(CorpusError) as caught:
        check_metadata({field: value}, "notice.txt")
    assert caught.value.status == 422
    assert "notice.txt" in caught.value.message and field in caught.value.message
    assert str(value) in caught.value.message and "YYYY-MM-DD" in caught.value.message


def test_replaces_must_be_ids_or_numbers() -> None:
    with pytest.raises(CorpusError, match="replaces"):
        check_metadata({"replaces": {"id": "x"}}, "notice.txt")
    assert check_metadata({"replaces": ["a", 7]}, "w")["replaces"] == ["a", "7"]
