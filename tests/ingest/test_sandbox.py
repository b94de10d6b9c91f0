"""Hostile files are read in the sandbox and refused with a 4xx naming the file and the
limit, in bounded time, while the calling process's memory stays where it was."""

from __future__ import annotations

import threading
import time

import pytest

from service.core.errors import PayloadTooLarge, ServiceError, Unprocessable
from service.ingest.extraction import extract
from service.ingest.readers.html import flatten_deep_nesting
from service.ingest.sandbox import ExtractLimits, sandbox_for
from tests.filemakers import POLICY_PARAGRAPHS, make_html, make_pdf
from tests.hostile_files import docx_bomb, many_elements_html, nested_html, pdf_whitespace_bomb

# Small limits so the tests that break them are quick; the defaults are 1024 MB and 30 s.
TIGHT = ExtractLimits(memory_mb=100, seconds=5, max_chars=50_000)
PARENT_GROWTH_MB = 50  # the bound stated in the README: bombs move the caller's RSS < this


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def memory_bomb() -> bytes:
    """Two pages of 60 MiB of content each, 100 KB on disk: 120 MB inflated at once."""
    return pdf_whitespace_bomb(pages=2, stream_mib=60, shared=False)


def refused(name: str, data: bytes, limits: ExtractLimits = TIGHT) -> tuple[ServiceError, float]:
    started = time.monotonic()
    with pytest.raises(ServiceError) as raised:
        extract(name, data, limits)
    return raised.value, time.monotonic() - started


@pytest.mark.slow
def test_a_normal_file_reads_the_same_in_the_sandbox_and_after_a_refused_one() -> None:
    pdf = make_pdf(POLICY_PARAGRAPHS, title="政策")
    before = extract("政策.pdf", pdf, TIGHT)
    refused("bomb.pdf", memory_bomb())  # the helper is replaced after this

    after = extract("政策.pdf", pdf, TIGHT)

    assert after == before and "第四条" in after.text


def test_docx_bomb_is_refused_from_its_declared_size_without_inflating() -> None:
    error, seconds = refused("bomb.docx", docx_bomb(1024))  # 1 GiB of XML from ~1 MB

    assert isinstance(error, PayloadTooLarge) and error.status == 413
    assert "bomb.docx" in error.message and "over the 256 MB limit" in error.message
    assert seconds < 5


@pytest.mark.slow
def test_docx_bomb_with_lying_sizes_inflates_only_what_it_declares() -> None:
    """zipfile stops at the declared size, so the lie makes a damaged file, not a bomb."""
    error, seconds = refused("liar.docx", docx_bomb(1024, declared_mib=1))

    assert isinstance(error, Unprocessable) and "liar.docx" in error.message
    assert seconds < 10


def test_docx_packed_more_than_the_ratio_limit_is_refused() -> None:
    error, _ = refused("packed.docx", docx_bomb(64))  # 64 MB packed ~1000 times

    assert error.status == 413 and "packed" in error.message and "document.xml" in error.message


def test_pdf_whose_pages_share_a_huge_stream_is_refused_quickly() -> None:
    bomb = pdf_whitespace_bomb(pages=8, stream_mib=16)  # 128 MB to parse, ~20 KB on disk
    assert len(bomb) < 100_000

    error, seconds = refused("bomb.pdf", bomb, ExtractLimits())

    assert error.status == 413 and "bomb.pdf" in error.message
    assert "100 MB of drawing instructions" in error.message
    assert seconds < 10


@pytest.mark.slow
def test_html_nested_200k_deep_reads_in_linear_time() -> None:
    started = time.monotonic()
    text = extract("deep.html", nested_html(200_000), ExtractLimits()).text

    assert text == "第一条　正文。"
    assert time.monotonic() - started < 20  # 276 s before


def test_flattening_keeps_text_and_normal_structure() -> None:
    page = "<div><p>a<p>b<ul><li>c<li>d</ul></div>"
    assert flatten_deep_nesting(page) == page
    deep = "<div>" * 600 + "x" + "</div>" * 600
    assert flatten_deep_nesting(deep) == "<div>" * 512 + "x" + "</div>" * 512


def test_file_over_the_memory_limit_is_refused_and_the_caller_does_not_grow() -> None:
    bomb = memory_bomb()
    before = rss_mb()

    error, seconds = refused("heavy.pdf", bomb)

    assert isinstance(error, Unprocessable)
    assert "heavy.pdf" in error.message and "100 MB of memory" in error.message
    assert "POLICYBOT_EXTRACT_MEMORY_MB" in error.message
    assert rss_mb() - before < PARENT_GROWTH_MB
    assert seconds < 10


@pytest.mark.slow
def test_html_tree_over_the_memory_limit_is_refused() -> None:
    """3M empty elements (21 MB) would be ~1 GB as lexbor's tree."""
    limits = ExtractLimits(memory_mb=200, seconds=30, max_chars=50_000)
    error, _ = refused("tree.html", many_elements_html(3_000_000), limits)

    assert isinstance(error, Unprocessable) and "200 MB of memory" in error.message


@pytest.mark.slow
def test_slow_file_is_stopped_at_the_cpu_limit() -> None:
    slow = pdf_whitespace_bomb(pages=5, stream_mib=16)  # under the size check, ~10 s to parse
    limits = ExtractLimits(memory_mb=1024, seconds=1, max_chars=50_000)

    error, seconds = refused("slow.pdf", slow, limits)

    assert isinstance(error, Unprocessable) and "slow.pdf" in error.message
    assert "POLICYBOT_EXTRACT_SECONDS" in error.message
    assert seconds < 2 * limits.seconds + 5


def test_text_over_the_output_limit_is_413() -> None:
    long_page = make_html(["第一条　" + "正文" * 30_000])
    error, _ = refused("long.html", long_page)
    assert isinstance(error, PayloadTooLarge) and "POLICYBOT_EXTRACT_MAX_CHARS" in error.message

    text_error, _ = refused("long.txt", ("正文" * 30_000).encode())  # decoded here, same limit
    assert isinstance(text_error, PayloadTooLarge) and "long.txt" in text_error.message


@pytest.mark.slow
def test_two_bombs_at_once_are_read_one_after_the_other() -> None:
    """One sandbox per limits, one file at a time: two bombs never hold memory together."""
    sandbox = sandbox_for(TIGHT)
    calls_before = sandbox.calls
    errors: list[ServiceError] = []
    bomb = memory_bomb()

    def read(name: str) -> None:
        try:
            extract(name, bomb, TIGHT)
        except ServiceError as exc:
            errors.append(exc)

    before = rss_mb()
    threads = [threading.Thread(target=read, args=(f"bomb{i}.pdf",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(e.message.split(":")[0] for e in errors) == ["bomb0.pdf", "bomb1.pdf"]
    assert all("100 MB of memory" in e.message for e in errors)
    assert sandbox.calls - calls_before == 2
    assert rss_mb() - before < PARENT_GROWTH_MB
