"""Time from `policybot serve` to ready, resident memory, and what a second worker costs.

    .venv/bin/python bench/bench_startup.py [--sizes seed,10k,100k,200k]

seed and 10k use real vectors; 100k and 200k are the real index format
(manifest, passages.jsonl, vectors.faiss, BM25) over synthetic passages whose
vectors are noisy copies of real ones (indexes.NoisyCopyEmbedder): loading is
the same code and the same bytes as a real index of that size. 100k is still
flat; 200k is IVF-SQ8, so both memory-mapping paths are checked. For each index and for
--workers 1 and 2: seconds to the first /readyz 200 and to every worker's
startup, the first /ask after ready, and RSS / PSS / USS of the process tree
(/proc/<pid>/smaps_rollup) after a few requests. The vectors.faiss mapping of
each worker shows whether FAISS memory-maps the index (it is then shared).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import httpx
import indexes
import synthetic
from harness import Report, progress, table
from server import Server, command_of, memory_kib

WARM_REQUESTS = 40
MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")


def mapping_kib(pid: int, file_name: str) -> tuple[int, int]:
    """(Rss, Pss) of the mappings of ``file_name`` in ``pid``; (0, 0) if it is not mapped."""
    rss = pss = 0
    inside = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if MAPPING.match(line):
            inside = line.rstrip().endswith(file_name)
        elif inside and line.startswith("Rss:"):
            rss += int(line.split()[1])
        elif inside and line.startswith("Pss:"):
            pss += int(line.split()[1])
    return rss, pss


def first_ask_ms(url: str) -> float:
    with httpx.Client(base_url=url, timeout=120) as client:
        started = time.perf_counter()
        client.post("/api/v1/ask", json={"question": synthetic.real_questions()[0]})
        return 1000 * (time.perf_counter() - started)


def warm(url: str) -> None:
    """Requests spread over the workers, so each one touches the index."""
    questions = synthetic.real_questions()
    with httpx.Client(base_url=url, timeout=120) as client:
        for i in range(WARM_REQUESTS):
            client.post("/api/v1/search", json={"query": questions[i % len(questions)]})


def run(size: str, workers: int) -> tuple[list[object], list[list[object]], int]:
    settings = _settings(size)
    kind = indexes.manifest_of(settings)["vector_index"]["kind"]
    passages = indexes.manifest_of(settings)["passage_count"]
    with Server(indexes.env_for(settings), workers, name=f"startup-{size}") as server:
        first = first_ask_ms(server.url)
        warm(server.url)
        pids = server.pids()
        memory = {pid: memory_kib(pid) for pid in pids}
        total = {k: sum(m[k] for m in memory.values()) / 1024 for k in ("rss", "pss", "uss")}
        maps = [[size, workers, pid, command_of(pid)[:48], *[v / 1024 for v in
                 mapping_kib(pid, "vectors.faiss")]] for pid in pids]
    row = [size, passages, kind, workers, server.ready_s, server.all_workers_s, first,
           total["rss"], total["pss"], total["uss"]]
    progress(f"{size} workers={workers}: ready {server.ready_s:.1f}s, PSS {total['pss']:.0f} MiB")
    return row, maps, int(total["pss"])


def _settings(size: str):  # type: ignore[no-untyped-def]
    if size == "seed":
        settings = indexes.seed_settings()
    elif size == "10k":
        settings = indexes.synthetic_settings(10_000)
    else:
        return indexes.synthetic_vector_settings(int(size.rstrip("k")) * 1000)
    indexes.ensure_index(settings)
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="seed,10k,100k,200k")
    args = parser.parse_args()
    report = Report("bench_startup: time to ready, memory, memory per extra worker",
                    "python bench/bench_startup.py " + " ".join(sys.argv[1:]))
    rows, maps, extra = [], [], []
    for size in args.sizes.split(","):
        pss = {}
        for workers in (1, 2):
            row, mapped, pss[workers] = run(size, workers)
            rows.append(row)
            maps += mapped
        extra.append([size, pss[2] - pss[1]])
    report.add("Startup and memory of the whole process tree (MiB; PSS splits shared pages "
               "between the processes that map them, USS = private pages only):\n\n" + table(
                   ["index", "passages", "vector index", "workers", "s to /readyz 200",
                    "s to all workers up", "first /ask ms", "RSS", "PSS", "USS"], rows))
    report.add("Memory one more worker costs (PSS of --workers 2 minus --workers 1, MiB):\n\n" +
               table(["index", "extra worker MiB"], extra))
    report.add("vectors.faiss mapping per process (MiB; present = FAISS memory-mapped the "
               "file; PSS < RSS = pages shared between workers):\n\n" + table(
                   ["index", "workers", "pid", "process", "mapped RSS", "mapped PSS"], maps))
    report.save()


if __name__ == "__main__":
    main()
