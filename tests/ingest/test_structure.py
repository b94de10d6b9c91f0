from __future__ import annotations

from service.core.models import Document
from service.index.lexical import char_tokens, normalize
from service.ingest.chunking import ChunkingParams, chunk_document
from service.ingest.sentences import clause_sentences
from service.ingest.structure import clauses, heading_path

NOTICE = (
    "关于支持企业复工复产的若干措施为帮助企业渡过难关，特制定如下措施："
    "一、减轻企业负担1.减免房租。对承租国有资产类经营用房的中小企业，免收1个月房租。"
    "2.降低用电成本。执行阶段性降低电价政策，一、二级市场照常供应，1.5万户受益。"
    "二、加大金融支持（一）增加信贷投放。银行不得抽贷断贷。（二）降低融资成本。贷款利率下降0.5个百分点。"
    "三、附则本措施自印发之日起施行。"
)


def test_inline_clauses_nest_and_ignore_lookalikes() -> None:
    found = [(c.depth, c.label) for c in clauses(NOTICE)]
    assert found == [
        (0, "一、减轻企业负担"),
        (1, "1.减免房租"),
        (1, "2.降低用电成本"),
        (0, "二、加大金融支持"),
        (1, "（一）增加信贷投放"),
        (1, "（二）降低融资成本"),
        (0, "三、附则本措施自印发之日起施行"),
    ]


def test_heading_path_names_the_enclosing_clauses() -> None:
    marks = clauses(NOTICE)
    inside = NOTICE.index("银行不得")
    assert heading_path(marks, inside, inside + 10) == ["二、加大金融支持", "（一）增加信贷投放"]
    assert heading_path(marks, 0, 10) == []


def test_passages_carry_the_clause_path_as_heading_not_in_their_text() -> None:
    document = Document(id="d", title="若干措施", text=NOTICE * 3)
    passages = chunk_document(document, ChunkingParams(size=120, overlap=0, structure=True))
    later = [p for p in passages if p.start > 0]
    assert any(" > " in p.heading or p.heading.startswith(("一、", "二、", "三、")) for p in later)
    for passage in passages:
        assert document.text[passage.start : passage.end] == passage.text
    flat = chunk_document(document, ChunkingParams(size=120, overlap=0, structure=False))
    assert [p.text for p in flat] == [p.text for p in passages]
    assert all(p.heading == "" for p in flat)


def test_char_tokens_match_across_width_and_script() -> None:
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert char_tokens("稳岗返还") == ["稳岗", "岗返", "返还"]
    assert "稳" in char_tokens("稳岗返还", unigrams=True)
    assert "1.5" in char_tokens("下降1.5个百分点")


def test_an_answer_sentence_starts_at_a_clause_after_a_closing_bracket() -> None:
    """Flattened notices run "（责任单位：…）四、…" into one sentence; answers quote from the
    clause, while a clause cited in the text (第（四）项) or opening a bracket stays put."""
    text = ("（联系人：崔巅博；联系电话：88499343）二、减轻企业经营负担（四）减免房租，按第（四）项执行。"
            "（责任单位：省财政厅）（二）实施援企稳岗政策。")
    pieces = [text[s:e] for s, e in clause_sentences(text)]
    assert pieces == ["（联系人：崔巅博；联系电话：88499343）",
                      "二、减轻企业经营负担（四）减免房租，按第（四）项执行。",
                      "（责任单位：省财政厅）", "（二）实施援企稳岗政策。"]


def test_an_answer_sentence_does_not_open_with_the_previous_clauses_aside() -> None:
    text = "（对接部门：区国资委；联系电话：88498532）对为中小微企业减免租金的孵化器予以扶持。（一）减免房租。"
    pieces = [text[s:e] for s, e in clause_sentences(text)]
    assert pieces == ["（对接部门：区国资委；联系电话：88498532）", "对为中小微企业减免租金的孵化器予以扶持。",
                      "（一）减免房租。"]
