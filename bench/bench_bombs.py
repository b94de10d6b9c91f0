"""Hostile files against the extraction sandbox: each bomb's time to rejection, the calling
(server) process's RSS before and after two bombs at once, and the sandbox's cost per normal
file (warm helper vs. the readers in process, and the helper's spawn start-up).

    .venv/bin/python bench/bench_bombs.py
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the hostile files live in tests/

from service.core.errors import ServiceError  # noqa: E402
from service.ingest.extraction import extract  # noqa: E402
from service.ingest.readers import READERS  # noqa: E402
from service.ingest.sandbox import ExtractionSandbox, ExtractLimits  # noqa: E402
from tests.conftest import SEED_CORPUS  # noqa: E402
from tests.filemakers import POLICY_PARAGRAPHS, make_docx, make_html, make_pdf  # noqa: E402
from tests.hostile_files import (  # noqa: E402
    docx_bomb,
    many_elements_html,
    nested_html,
    pdf_whitespace_bomb,
    yaml_laughs,
)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def timed(name: str, data: bytes) -> tuple[str, float]:
    started = time.monotonic()
    try:
        extract(name, data)
        outcome = "accepted"
    except ServiceError as exc:
        outcome = f"{exc.status}: {exc.message[:90]}"
    return outcome, time.monotonic() - started


def main() -> None:
    limits = ExtractLimits()
    print(f"limits: {limits}")
    cold = ExtractionSandbox(limits)
    started = time.monotonic()
    cold.read(".pdf", "warmup.pdf", make_pdf(POLICY_PARAGRAPHS))
    print(f"spawn + parser imports + first PDF: {time.monotonic() - started:.2f} s")
    cold.close()

    bombs = {
        "bomb.docx (1 GiB document.xml)": ("bomb.docx", docx_bomb(1024)),
        "bomb.pdf (40 pages share 16 MiB)": ("bomb.pdf", pdf_whitespace_bomb(40, 16)),
        "deep.html (200k nested divs)": ("deep.html", nested_html(200_000)),
        "tree.html (3M empty elements)": ("tree.html", many_elements_html(3_000_000)),
        "laughs.md (9 levels of aliases)": ("laughs.md", yaml_laughs().encode()),
    }
    extract("w.pdf", make_pdf(POLICY_PARAGRAPHS))  # warm the shared helper
    for label, (name, data) in bombs.items():
        outcome, seconds = timed(name, data)
        print(f"{label:36} {len(data):>10,} B  {seconds:6.2f} s  {outcome}")

    from service.ingest.corpus import parse_front_matter
    started = time.monotonic()
    try:
        parse_front_matter(yaml_laughs(), "laughs.md")
    except ServiceError as exc:
        print(f"front matter aliases refused in {time.monotonic() - started:.3f} s: "
              f"{exc.message[:70]}")

    heavy = pdf_whitespace_bomb(pages=2, stream_mib=60, shared=False)
    tree = many_elements_html(3_000_000)
    before, peak = rss_mb(), rss_mb()
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=timed, args=args)
               for args in (("a.docx", bombs["bomb.docx (1 GiB document.xml)"][1]),
                            ("b.html", tree), ("c.pdf", heavy))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    print(f"three bombs at once: {time.monotonic() - started:.1f} s; caller RSS {before:.0f} MB "
          f"-> peak {peak:.0f} MB -> {rss_mb():.0f} MB after")

    files = {"policy.pdf": make_pdf(POLICY_PARAGRAPHS * 4, pages=4),
             "policy.docx": make_docx(POLICY_PARAGRAPHS * 4),
             "policy.html": make_html(POLICY_PARAGRAPHS * 4)}
    for name, data in files.items():
        suffix = "." + name.rsplit(".", 1)[1]
        sandboxed = [_seconds(lambda: extract(name, data)) for _ in range(15)]  # noqa: B023
        in_process = [_seconds(lambda: READERS[suffix].read(name, data)) for _ in range(15)]  # noqa: B023
        print(f"{name:12} in process {statistics.median(in_process) * 1000:6.1f} ms, "
              f"sandboxed {statistics.median(sandboxed) * 1000:6.1f} ms (median of 15)")
    texts = sorted(SEED_CORPUS.glob("*.txt"))
    started = time.monotonic()
    for path in texts:
        extract(path.name, path.read_bytes())
    print(f"seed corpus ({len(texts)} .txt, no sandbox): {time.monotonic() - started:.3f} s")


def _seconds(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
