from __future__ import annotations

import random
import re

import pytest

from service.core.errors import BadRequest, Unprocessable, UnsupportedMedia
from service.ingest.extraction import SUPPORTED_SUFFIXES, decode_text, extract, safe_filename
from service.ingest.readers.pdf import strip_page_furniture
from tests.filemakers import (
    HTML_BOILERPLATE,
    POLICY_PARAGRAPHS,
    POLICY_TITLE,
    TRADITIONAL_PARAGRAPH,
    Block,
    make_corrupt_pdf,
    make_docx,
    make_encrypted_pdf,
    make_html,
    make_image_only_pdf,
    make_pdf,
)

HEADER = "济南高新区管理委员会文件"
TABLE = [["项目", "金额"], ["研发补助", "200万元"]]
SHORT_TEXTS = ["政策", "企业", "高新区", "第一条", "研发费用加计扣除", "对首次认定的企业给予奖励。"]


def flat(text: str) -> str:
    """PDF lines break mid-sentence; compare sentences without the line breaks."""
    return text.replace("\n", "")


def lines(text: str) -> list[str]:
    return text.split("\n")


# ---- PDF ----------------------------------------------------------------------------------


def test_pdf_chinese_text_and_metadata_title() -> None:
    result = extract("政策.pdf", make_pdf(POLICY_PARAGRAPHS, title=POLICY_TITLE))

    assert (result.format, result.title) == ("pdf", POLICY_TITLE)
    for paragraph in POLICY_PARAGRAPHS:
        assert paragraph in flat(result.text)


def test_pdf_title_loses_the_word_printer_wrapper() -> None:
    data = make_pdf(POLICY_PARAGRAPHS[:1], title="Microsoft Word - 政策汇编.docx")

    assert extract("政策.pdf", data).title == "政策汇编"


def test_pdf_placeholder_title_becomes_empty() -> None:
    result = extract("政策.pdf", make_pdf(POLICY_PARAGRAPHS[:1]))  # reportlab writes "untitled"

    assert result.title == ""


@pytest.mark.parametrize(
    "page_label",
    ["- {page} -", "{page}", "第 {page} 页", "{page}/{pages}", "第{page}页 共{pages}页"],
)
def test_pdf_drops_running_header_and_page_numbers_keeps_body(page_label: str) -> None:
    data = make_pdf(
        POLICY_PARAGRAPHS[:3] * 2,
        header=HEADER,
        footer_page_numbers=True,
        pages=3,
        page_label=page_label,
    )

    text = extract("政策.pdf", data).text

    assert HEADER not in text
    assert not [line for line in lines(text) if re.fullmatch(r"[-\s\d/第页共]+", line)]
    for paragraph in POLICY_PARAGRAPHS[:3]:
        assert flat(text).count(paragraph) == 2
    assert flat(text).index(POLICY_PARAGRAPHS[0]) < flat(text).index(POLICY_PARAGRAPHS[2])


def test_page_furniture_only_removed_at_page_edges_and_when_repeated() -> None:
    pages = [
        "济南高新区文件\n关于印发政策的通知\n正文甲\n3\n正文乙\n- 1 -",
        "济南高新区文件\n正文丙\n正文丁\n2024\n正文戊\n- 2 -",
        "附件\n正文己\n正文庚\n正文辛\n第 3 页",
    ]

    kept = strip_page_furniture(pages)

    assert kept[0] == "关于印发政策的通知\n正文甲\n3\n正文乙"  # a number mid-page is data
    assert kept[1] == "正文丙\n正文丁\n2024\n正文戊"
    assert kept[2] == "附件\n正文己\n正文庚\n正文辛"  # on one page only: not a running header


def test_single_page_keeps_its_first_line() -> None:
    assert strip_page_furniture(["济南高新区文件\n正文\n- 1 -"]) == ["济南高新区文件\n正文"]


def test_encrypted_pdf_is_unprocessable_naming_file() -> None:
    with pytest.raises(Unprocessable) as caught:
        extract("上传/加密政策.pdf", make_encrypted_pdf(POLICY_PARAGRAPHS))

    assert caught.value.status == 422
    assert caught.value.message.startswith("加密政策.pdf: ")
    assert "encrypted" in caught.value.message and "unencrypted copy" in caught.value.message


def test_pdf_with_only_an_owner_password_is_read() -> None:
    result = extract("限制编辑.pdf", make_encrypted_pdf(POLICY_PARAGRAPHS, user_password=""))

    assert POLICY_PARAGRAPHS[1] in flat(result.text)


@pytest.mark.parametrize("kind", ["truncated", "random", "header"])
def test_corrupt_pdf_is_unprocessable_naming_file(kind: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        extract("损坏.pdf", make_corrupt_pdf(kind))

    assert caught.value.message.startswith("损坏.pdf: the PDF is damaged")


def test_image_only_pdf_says_ocr_is_not_supported() -> None:
    with pytest.raises(Unprocessable) as caught:
        extract("扫描件.pdf", make_image_only_pdf(pages=2))

    message = caught.value.message
    assert message.startswith("扫描件.pdf: ") and "OCR is not supported" in message
    assert "DOCX" in message


# ---- DOCX ---------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables_in_order() -> None:
    blocks: list[Block] = [
        "# 第一章 总则",
        POLICY_PARAGRAPHS[0],
        TABLE,
        "## 第二章 支持措施",
        POLICY_PARAGRAPHS[1],
    ]

    result = extract("政策.docx", make_docx(blocks))

    assert result.format == "docx"
    assert result.title == "第一章 总则"
    assert result.text == "\n\n".join(
        [
            "第一章 总则",
            POLICY_PARAGRAPHS[0],
            "项目 | 金额\n研发补助 | 200万元",
            "第二章 支持措施",
            POLICY_PARAGRAPHS[1],
        ]
    )


def test_docx_core_title_wins_over_first_heading() -> None:
    result = extract("政策.docx", make_docx(["# 总则", POLICY_PARAGRAPHS[0]], title=POLICY_TITLE))

    assert result.title == POLICY_TITLE


def test_docx_merged_table_cell_appears_once() -> None:
    import io

    import docx

    document = docx.Document(
        io.BytesIO(make_docx([[["合并标题", "", "备注"], ["甲", "乙", "丙"]]]))
    )
    table = document.tables[0]
    table.cell(0, 0).merge(table.cell(0, 1))
    buffer = io.BytesIO()
    document.save(buffer)

    text = extract("表格.docx", buffer.getvalue()).text

    assert lines(text) == ["合并标题 | 备注", "甲 | 乙 | 丙"]


@pytest.mark.parametrize(
    "data",
    [b"\x00\x01 not a zip" * 20, make_docx(["正文"])[:300], b"PK\x05\x06" + b"\x00" * 18],
    ids=["random", "truncated", "empty-zip"],
)
def test_corrupt_docx_is_unprocessable_naming_file(data: bytes) -> None:
    with pytest.raises(Unprocessable) as caught:
        extract("损坏.docx", data)

    assert caught.value.message.startswith("损坏.docx: the DOCX file is damaged")


def test_password_protected_docx_is_named_as_such() -> None:
    ole_container = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504

    with pytest.raises(Unprocessable, match=r"^加密\.docx: .*password-protected"):
        extract("加密.docx", ole_container)


# ---- HTML ---------------------------------------------------------------------------------


def test_html_text_has_no_markup_or_page_chrome() -> None:
    page = make_html(["# " + POLICY_TITLE, *POLICY_PARAGRAPHS[:2], TABLE], title="通知_济南高新区")

    result = extract("通知.html", page)

    assert (result.format, result.title) == ("html", "通知_济南高新区")
    assert result.text == "\n\n".join(
        [POLICY_TITLE, *POLICY_PARAGRAPHS[:2], "项目 | 金额\n研发补助 | 200万元"]
    )
    assert not [chrome for chrome in HTML_BOILERPLATE if chrome in result.text]
    assert "<" not in result.text and ">" not in result.text


def test_html_title_falls_back_to_first_h1() -> None:
    result = extract("通知.htm", make_html(["# 关于申报的通知", "正文"], title=None))

    assert result.title == "关于申报的通知"


@pytest.mark.parametrize("declare", ["meta", "http-equiv", None])
@pytest.mark.parametrize("charset", ["gbk", "gb2312", "utf-8", "big5"])
def test_html_charset_declared_or_detected(charset: str, declare: str | None) -> None:
    big5 = charset == "big5"  # Big5 cannot encode the simplified page chrome
    paragraph = TRADITIONAL_PARAGRAPH if big5 else POLICY_PARAGRAPHS[2]
    page = make_html([paragraph], charset=charset, declare=declare, boilerplate=not big5)

    result = extract("通知.html", page)

    assert result.text == paragraph


def test_html_declared_charset_beats_detection_for_ambiguous_bytes() -> None:
    words = "最高"
    assert decode_text(words.encode("big5")) != words  # these four bytes are also valid GBK

    page = make_html([words], charset="big5", declare="meta", boilerplate=False)

    assert extract("通知.html", page).text == words


def test_html_mislabelled_charset_falls_back_to_detection() -> None:
    page = make_html([POLICY_PARAGRAPHS[1]], declare=None).replace(
        b"<head>", b'<head><meta charset="utf-8">'
    )
    gbk_page = page.decode("utf-8").encode("gbk")

    assert extract("通知.html", gbk_page).text == POLICY_PARAGRAPHS[1]


def test_html_line_breaks_and_source_wrapping() -> None:
    page = (
        "<p>各有关单位：<br>现将政策印发给你们，请认真\n    贯彻执行。</p>"
        "<ul><li>一、条件</li><li>二、材料</li></ul>"
    )

    text = extract("通知.html", page.encode()).text

    assert lines(text) == [
        "各有关单位：",
        "现将政策印发给你们，请认真贯彻执行。",
        "",
        "一、条件",
        "二、材料",
    ]


# ---- text and encodings -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\n".join(POLICY_PARAGRAPHS), POLICY_PARAGRAPHS[2], *SHORT_TEXTS])
def test_gbk_and_utf8_twins_decode_identically(text: str) -> None:
    assert decode_text(text.encode("gbk")) == decode_text(text.encode("utf-8")) == text


def test_gb18030_four_byte_characters_decode() -> None:
    text = "龑𠀀" + POLICY_PARAGRAPHS[0]  # outside GBK: four-byte GB18030 sequences

    assert decode_text(text.encode("gb18030")) == text


@pytest.mark.parametrize("text", [TRADITIONAL_PARAGRAPH, "高新區補貼辦法", "濟南高新區"])
def test_big5_decodes(text: str) -> None:
    assert decode_text(text.encode("big5")) == text


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_byte_order_mark_is_stripped(encoding: str) -> None:
    decoded = decode_text(POLICY_PARAGRAPHS[0].encode(encoding))

    assert decoded == POLICY_PARAGRAPHS[0]


def test_text_file_keeps_paragraphs_and_normalises_windows_and_mac_newlines() -> None:
    data = f"{POLICY_PARAGRAPHS[0]}\r\n\r\n{POLICY_PARAGRAPHS[1]}\r\r{POLICY_PARAGRAPHS[2]}".encode(
        "gbk"
    )

    result = extract("政策.txt", data)

    assert (result.format, result.title) == ("text", "")
    assert result.text == "\n\n".join(POLICY_PARAGRAPHS[:3])


def test_markdown_first_heading_is_title() -> None:
    result = extract("政策.md", f"# {POLICY_TITLE}\n\n{POLICY_PARAGRAPHS[0]}\n".encode())

    assert result.title == POLICY_TITLE
    assert result.text == f"# {POLICY_TITLE}\n\n{POLICY_PARAGRAPHS[0]}"


@pytest.mark.parametrize(
    "data", [b"", b"  \r\n\t ", "\ufeff".encode()], ids=["empty", "blank", "bom"]
)
def test_empty_file_is_unprocessable_naming_file(data: bytes) -> None:
    with pytest.raises(Unprocessable, match=r"^空\.txt: "):
        extract("空.txt", data)


def test_undecodable_text_file_is_unprocessable_naming_file() -> None:
    noise = bytes(byte or 1 for byte in random.Random(3).randbytes(300))  # no NUL: not "binary"

    with pytest.raises(Unprocessable, match=r"^乱码\.txt: the text is not in UTF-8, GBK"):
        extract("乱码.txt", noise)


def test_other_encodings_fall_back_to_charset_normalizer() -> None:
    data = "Policy résumé for café owners in the Zürich office.".encode("cp1252")

    assert "résumé for café" in decode_text(data)


def test_binary_data_in_a_text_file_is_unprocessable() -> None:
    with pytest.raises(Unprocessable, match=r"^数据\.txt: the file looks binary"):
        extract("数据.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


# ---- suffixes and file names --------------------------------------------------------------


@pytest.mark.parametrize("filename", ["政策.doc", "语料.jsonl", "政策.PDF.exe", "README"])
def test_unsupported_suffix_is_415_listing_supported_ones(filename: str) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        extract(filename, b"content")

    assert caught.value.status == 415
    assert caught.value.message.startswith(f"{filename}: ")
    assert all(suffix in caught.value.message for suffix in SUPPORTED_SUFFIXES)


def test_suffix_is_case_insensitive() -> None:
    assert extract("政策.TXT", POLICY_PARAGRAPHS[0].encode()).text == POLICY_PARAGRAPHS[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../x.txt", "x.txt"),
        ("..\\..\\x.txt", "x.txt"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\张三\\政策.docx", "政策.docx"),
        (".hidden", "hidden"),
        ("...政策.pdf", "政策.pdf"),
        ("a/b/c.pdf", "c.pdf"),
        ("政策\x00.txt", "政策.txt"),
        ("evil.txt\x00.pdf", "evil.txt.pdf"),
        ("第一\n批.md", "第一批.md"),
        ("名单\u202eftp.txt", "名单ftp.txt"),
        ('关于"支持"政策?.html', "关于支持政策.html"),
        ("济南高新区 政策汇编（2024）.pdf", "济南高新区 政策汇编（2024）.pdf"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["", "..", "../..", "/", "\x00\n", "a/b/", ". . ."])
def test_safe_filename_rejects_names_with_nothing_left(name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        safe_filename(name)

    assert caught.value.status == 400 and "rename the file" in caught.value.message


def test_safe_filename_truncates_long_names_keeping_the_suffix() -> None:
    name = safe_filename("政" * 300 + ".pdf")

    assert name.endswith(".pdf") and name.startswith("政政")
    assert len(name.encode()) <= 200
