"""Properties of the readers (hypothesis): any bytes under any suffix give text or a 4xx,
never another exception; small valid DOCX and HTML give back the text they were built from."""

from __future__ import annotations

import html

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.errors import ServiceError
from service.ingest.extraction import extract
from service.ingest.readers import SUPPORTED_SUFFIXES
from tests.filemakers import make_docx, make_html

BOUNDED = settings(max_examples=40, deadline=5000,
                   suppress_health_check=[HealthCheck.too_slow])
# Words without markup characters, so the expected text is exactly what was written.
WORD = st.text(st.characters(categories=["Lo", "Ll", "Lu", "Nd"]), min_size=1, max_size=12)
PARAGRAPH = st.lists(WORD, min_size=1, max_size=6).map("".join)
PREFIXES = [b"", b"%PDF-1.7\n", b"PK\x03\x04", b"<html><body>", b"\xef\xbb\xbf", b"---\n"]


@BOUNDED
@given(suffix=st.sampled_from(SUPPORTED_SUFFIXES), prefix=st.sampled_from(PREFIXES),
       body=st.binary(max_size=2000))
def test_any_bytes_give_text_or_a_4xx(suffix: str, prefix: bytes, body: bytes) -> None:
    try:
        extracted = extract(f"random{suffix}", prefix + body)
    except ServiceError as exc:
        assert 400 <= exc.status < 500 and f"random{suffix}" in exc.message
    else:
        assert isinstance(extracted.text, str) and extracted.text
        assert all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in extracted.text + extracted.title)


@settings(max_examples=15, deadline=10000, suppress_health_check=[HealthCheck.too_slow])
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=5))
def test_docx_paragraphs_round_trip(paragraphs: list[str]) -> None:
    extracted = extract("p.docx", make_docx(paragraphs))
    assert extracted.text.split("\n\n") == paragraphs


def nested_page(paragraphs: list[str], depth: int) -> bytes:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return make_html([], boilerplate=False).replace(
        b"<body></body>", f"<body>{'<div>' * depth}{body}{'</div>' * depth}</body>".encode())


@BOUNDED
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=5),
       depth=st.integers(min_value=0, max_value=500))
def test_html_paragraphs_round_trip_below_the_depth_limit(
    paragraphs: list[str], depth: int
) -> None:
    assert extract("p.html", nested_page(paragraphs, depth)).text.split("\n\n") == paragraphs


@BOUNDED
@given(paragraphs=st.lists(PARAGRAPH, min_size=1, max_size=5),
       depth=st.integers(min_value=500, max_value=2000))
def test_html_text_survives_any_depth(paragraphs: list[str], depth: int) -> None:
    """Past 512 the structure goes (as in browsers), never the text or its order."""
    text = extract("p.html", nested_page(paragraphs, depth)).text
    assert "".join(text.split()) == "".join(paragraphs)
