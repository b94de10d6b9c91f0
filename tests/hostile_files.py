"""Hostile files built in memory from a few kilobytes: decompression, expansion and
pathological-structure bombs, for the regression tests and the abuse bench.

Each is an example of a class found in issue 17; the builders take the size as an argument
so a test can make a small one and a bench a large one.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from functools import lru_cache

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from tests.filemakers import make_docx

_MIB = 1 << 20


def docx_bomb(inflated_mib: int = 1024, *, declared_mib: int | None = None) -> bytes:
    """A DOCX whose ``word/document.xml`` inflates to ``inflated_mib`` MiB of spaces.

    ``declared_mib`` writes another uncompressed size into the zip headers (a liar). The
    deflate stream is one flushed 1 MiB block repeated, so a 1 GiB bomb takes ~1 MB and
    under a second to build.
    """
    base = make_docx(["第一条　正文。"])
    members: list[tuple[str, bytes, bytes, int, int]] = []  # name, raw deflate, -, crc, size
    with zipfile.ZipFile(io.BytesIO(base)) as source:
        for info in source.infolist():
            if info.filename == "word/document.xml":
                continue
            data = source.read(info)
            members.append((info.filename, _raw_deflate(data), b"", zlib.crc32(data), len(data)))
    stream, crc = _spaces_stream(inflated_mib)
    size = (declared_mib if declared_mib is not None else inflated_mib) * _MIB
    members.insert(0, ("word/document.xml", stream, b"", crc, size))
    return _zip(members)


def pdf_whitespace_bomb(pages: int = 40, stream_mib: int = 16, *, shared: bool = True) -> bytes:
    """A PDF whose ``pages`` pages all draw one shared Flate stream of ``stream_mib`` MiB of
    spaces (a few kilobytes compressed), so a naive reader parses it once per page.

    ``shared=False`` gives each page its own copy: inflated, they all take memory at once."""
    writer = PdfWriter()
    content = DecodedStreamObject()
    content.set_data(b" " * (stream_mib * _MIB) + b"BT /F1 12 Tf 72 700 Td (Policy) Tj ET")
    packed = content.flate_encode(level=9)
    reference = writer._add_object(packed)
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    resources = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    for _ in range(pages):
        page = writer.add_blank_page(width=595, height=842)
        page[NameObject("/Contents")] = reference if shared else writer._add_object(
            packed.clone(writer))
        page[NameObject("/Resources")] = resources
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def nested_html(depth: int = 200_000, tag: str = "div") -> bytes:
    """``depth`` nested elements around one sentence (the issue's case: 200k divs, 1.2 MB)."""
    return (f"<html><body>{f'<{tag}>' * depth}第一条　正文。{f'</{tag}>' * depth}</body></html>"
            ).encode()


def many_elements_html(count: int) -> bytes:
    """``count`` empty sibling elements: the parser's tree, not the text, fills memory."""
    return b"<html><body><p>\xe7\xac\xac\xe4\xb8\x80\xe6\x9d\xa1</p>" + b"<i></i>" * count + b"</body>"


def yaml_laughs(levels: int = 9, width: int = 9) -> str:
    """Front matter whose title is ``width ** levels`` copies of "lol" through nested aliases."""
    lines = ["---", 'a0: &a0 "lol"']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines += [f"title: *a{levels}", "---", "正文。"]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=4)
def _spaces_stream(mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``mib`` MiB of spaces and its CRC-32."""
    chunk = b" " * _MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(chunk, crc)
    return block * mib + compressor.flush(), crc


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _zip(members: list[tuple[str, bytes, bytes, int, int]]) -> bytes:
    """A zip of already deflated members (no zip64: sizes stay under 4 GiB)."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, stream, _, crc, size in members:
        encoded = name.encode()
        offset = out.tell()
        fields = (20, 0, 8, 0, 0x21, crc, len(stream), size, len(encoded), 0)
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + encoded + stream)
        directory.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0,
                                    offset) + encoded)
    start, central = out.tell(), directory.getvalue()
    out.write(central)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                          len(central), start, 0))
    return out.getvalue()
