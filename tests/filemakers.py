"""Real documents built in memory for tests: Chinese PDFs, DOCX, HTML and encoded text.

PDFs use reportlab's built-in CID font STSong-Light (Adobe-GB1, no font file needed); pypdf
maps its UniGB-UCS2-H encoding back to Unicode, so the text layer extracts as written.
"""

from __future__ import annotations

import html
import io
import random
from functools import lru_cache

import docx
from docx.document import Document as DocxDocument
from PIL import Image
from pypdf import PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

POLICY_TITLE = "济南高新区关于支持科技创新的若干政策"
POLICY_PARAGRAPHS = [
    "为深入实施创新驱动发展战略，加快建设世界一流高科技园区，根据《济南市人民政府关于支持"
    "科技创新的若干意见》，结合济南高新区实际，制定本政策。",
    "第一条　对首次认定的国家高新技术企业，给予一次性奖励30万元；对重新认定的，给予一次性"
    "奖励10万元。",
    "第二条　支持企业加大研发投入。对年度研发费用超过500万元且增幅不低于20%的企业，按照研发"
    "费用增量的10%给予补助，单个企业最高不超过200万元。",
    "第三条　鼓励建设孵化载体。对新认定的国家级科技企业孵化器、众创空间，分别给予100万元、"
    "50万元奖励。",
    # an end date well after today: a notice past its expiry is left out of answers
    "第四条　本政策自发布之日起施行，有效期至2035年12月31日，由济南高新区管委会科技经济部"
    "负责解释。",
]
TRADITIONAL_PARAGRAPH = (
    "第五條　對經認定的瞪羚企業，按照其上一年度研發費用的百分之十給予補貼，最高不超過一百萬元。"
)
# Text of the page chrome make_html adds; none of it may reach the extracted text.
HTML_BOILERPLATE = (
    "网站首页",
    "政务公开导航",
    "版权所有济南高新区",
    "请启用脚本",
    "var tracker",
    "color:red",
)

Block = str | list[list[str]]  # a paragraph ("# " marks a heading) or a table's rows

_FONT = "STSong-Light"
_FONT_SIZE = 12
_LINE_HEIGHT = 18
_MARGIN = 72


def make_pdf(
    paragraphs: list[str],
    *,
    header: str | None = None,
    footer_page_numbers: bool = False,
    title: str | None = None,
    pages: int = 1,
    page_label: str = "- {page} -",
) -> bytes:
    """A PDF whose paragraphs are spread evenly over ``pages`` pages, wrapped to the page width.

    ``header`` is drawn at the top of every page; ``page_label`` (with ``{page}`` and
    ``{pages}``) at the bottom when ``footer_page_numbers`` is set.
    """
    _register_font()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    if title is not None:
        pdf.setTitle(title)
    for number, group in enumerate(_spread(paragraphs, pages), start=1):
        pdf.setFont(_FONT, _FONT_SIZE)  # showPage resets the font
        if header:
            pdf.drawString(_MARGIN, A4[1] - 40, header)
        _draw_paragraphs(pdf, group)
        if footer_page_numbers:
            pdf.drawCentredString(A4[0] / 2, 30, page_label.format(page=number, pages=pages))
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_image_only_pdf(pages: int = 1) -> bytes:
    """A PDF with a drawn rectangle and an embedded image on each page, and no text at all."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    picture = ImageReader(Image.new("RGB", (40, 30), (200, 30, 30)))
    for _ in range(pages):
        pdf.rect(_MARGIN, 500, 300, 200, fill=1)
        pdf.drawImage(picture, _MARGIN, 300, width=160, height=120)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def make_encrypted_pdf(paragraphs: list[str], *, user_password: str = "secret") -> bytes:
    """RC4-128 encryption, which needs no `cryptography` package.

    An empty ``user_password`` makes a PDF anyone can open but only the owner may edit.
    """
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf(paragraphs)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_corrupt_pdf(kind: str = "truncated") -> bytes:
    """Bytes named like a PDF that are not one.

    ``truncated``: the first half of a real PDF; ``random``: noise; ``header``: %PDF then noise.
    """
    noise = random.Random(7).randbytes(2000)
    if kind == "truncated":
        whole = make_pdf(POLICY_PARAGRAPHS)
        return whole[: len(whole) // 2]
    if kind == "random":
        return noise
    if kind == "header":
        return b"%PDF-1.7\n" + noise
    raise ValueError(f"kind must be truncated, random or header, got {kind!r}")


def make_docx(blocks: list[Block], *, title: str | None = None) -> bytes:
    """A DOCX; "# " / "## " paragraphs become Heading 1 / 2, lists of rows become tables."""
    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    for block in blocks:
        if isinstance(block, list):
            _add_docx_table(document, block)
        elif block.startswith("#"):
            marks, _, text = block.partition(" ")
            document.add_heading(text, level=len(marks))
        else:
            document.add_paragraph(block)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_html(
    blocks: list[Block],
    *,
    title: str | None = None,
    charset: str = "utf-8",
    declare: str | None = "meta",
    boilerplate: bool = True,
) -> bytes:
    """An HTML page encoded in ``charset``; ``declare`` is "meta", "http-equiv" or None.

    With ``boilerplate`` the page also has a header, nav, footer, script, style and noscript
    whose text is in ``HTML_BOILERPLATE``.
    """
    head = _charset_tag(charset, declare) + (
        f"<title>{html.escape(title)}</title>" if title else ""
    )
    body = "\n".join(_html_block(block) for block in blocks)
    if boilerplate:
        head += "<style>p.note { color:red }</style><script>var tracker = '<p>x</p>';</script>"
        body = (
            "<header><a href='/'>网站首页</a></header><nav><ul><li>政务公开导航</li></ul></nav>"
            f"<div class='article'>{body}</div><footer>版权所有济南高新区</footer>"
            "<noscript>请启用脚本</noscript>"
        )
    page = f"<!DOCTYPE html>\n<html><head>{head}</head>\n<body>{body}</body></html>"
    return page.encode(charset)


@lru_cache(maxsize=1)
def _register_font() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(_FONT))


def _spread(paragraphs: list[str], pages: int) -> list[list[str]]:
    """Split paragraphs into ``pages`` consecutive groups of nearly equal size."""
    if pages < 1:
        raise ValueError(f"pages must be >= 1, got {pages}")
    size, extra = divmod(len(paragraphs), pages)
    groups, start = [], 0
    for page in range(pages):
        end = start + size + (1 if page < extra else 0)
        groups.append(paragraphs[start:end])
        start = end
    return groups


def _draw_paragraphs(pdf: canvas.Canvas, paragraphs: list[str]) -> None:
    y = A4[1] - _MARGIN - 20
    for paragraph in paragraphs:
        for line in _wrap(paragraph, A4[0] - 2 * _MARGIN):
            if y < _MARGIN:
                raise ValueError("too much text for one page; ask for more pages")
            pdf.drawString(_MARGIN, y, line)
            y -= _LINE_HEIGHT
        y -= _LINE_HEIGHT / 2


def _wrap(text: str, width: float) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` points, character by character."""
    lines, line = [], ""
    for char in text:
        if line and pdfmetrics.stringWidth(line + char, _FONT, _FONT_SIZE) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line] if line else lines


def _add_docx_table(document: DocxDocument, rows: list[list[str]]) -> None:
    table = document.add_table(rows=len(rows), cols=max(len(row) for row in rows))
    for table_row, row in zip(table.rows, rows, strict=True):
        for cell, text in zip(table_row.cells, row, strict=False):  # short rows leave cells empty
            cell.text = text


def _charset_tag(charset: str, declare: str | None) -> str:
    if declare == "meta":
        return f'<meta charset="{charset}">'
    if declare == "http-equiv":
        return f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    return ""


def _html_block(block: Block) -> str:
    if isinstance(block, list):
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in block
        )
        return f"<table>{rows}</table>"
    if block.startswith("#"):
        marks, _, text = block.partition(" ")
        return f"<h{len(marks)}>{html.escape(text)}</h{len(marks)}>"
    return f"<p>{html.escape(block)}</p>"
