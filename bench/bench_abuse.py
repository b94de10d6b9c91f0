"""Ordinary users beside abusive clients: does the server stay fair?

    .venv/bin/python bench/bench_abuse.py [--idle 20] [--abuse 30] [--users 8]

Starts `policybot serve` (1 worker, the default rate limit of 60 a minute, 127.0.0.1 as a
trusted proxy so that each simulated client can name itself in X-Forwarded-For: every
client here shares one loopback address) over the seed index. Phase 1: ``--users`` ordinary
users each ask a new ordinary question (16 characters on average) every 1.5 s (±50 %), well
under the limit. Phase 2: the same users, plus
  - 4 clients sending distinct 500-character questions, 10 a second each, ignoring 429;
  - 1 "botnet" sending distinct 500-character questions under a new address each time,
    4 at once (no rate limit can stop it: the embedder's fair queue and its bound must);
  - 2 clients spamming feedback with 4,000-character answers, 10 a second each;
  - 1 client sending 200 KB bodies, 5 a second.
Abusers do not wait for answers (open loop, at most 16 unanswered each) and are bounded in
requests per second and in total, so the load generator (on the same cores) does not take
the server's CPU. Prints the users' p50/p95 idle and under abuse
(target: p50 within 2× idle, no failed request), what the abusers got back (429, 503, 413),
and the server's largest RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

import indexes
import synthetic
from harness import Report, percentile, progress, table
from loadgen import HTTPError, LeanClient, run
from server import Server, memory_kib

LONG_CHARS = 500
ABUSER_CAP = 3000  # requests per abusive client at most
MAX_IN_FLIGHT = 16  # unanswered requests per abusive client at most


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)


def long_question(rng: random.Random) -> str:
    words = synthetic._question_words()
    text = ""
    while len(text) < LONG_CHARS:
        text += rng.choice(words)
    return text[:LONG_CHARS - 1] + "？"


async def user(client: LeanClient, number: int, until: float, tally: Tally,
               questions: list[int]) -> None:
    rng = random.Random(f"user-{number}")
    await asyncio.sleep(rng.uniform(0, 1.5))
    while time.perf_counter() < until:
        questions[0] += 1
        question = synthetic.generated_question(questions[0], seed=7)
        started = time.perf_counter()
        try:
            reply = await client.post_json("/api/v1/ask", {"question": question},
                                           headers={"X-Forwarded-For": f"10.1.0.{number}"})
            tally.statuses[reply.status] += 1
            if reply.status == 200:
                tally.latencies_ms.append(1000 * (time.perf_counter() - started))
        except HTTPError:
            tally.statuses["connection error"] += 1
        await asyncio.sleep(1.5 * rng.uniform(0.5, 1.5))


async def abuser(client: LeanClient, kind: str, number: int, until: float, per_second: float,
                 tally: Tally) -> None:
    """Open loop: a request every 1/``per_second`` s whether or not the last one was answered
    (at most ``MAX_IN_FLIGHT`` unanswered), as an attacker would."""
    rng = random.Random(f"{kind}-{number}")
    in_flight: set[asyncio.Task[None]] = set()
    sent = 0
    while time.perf_counter() < until and sent < ABUSER_CAP:
        sent += 1
        next_at = time.perf_counter() + 1 / per_second
        if len(in_flight) < MAX_IN_FLIGHT:
            task = asyncio.ensure_future(send_abuse(client, kind, number, sent, rng, tally))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.gather(*in_flight)


async def send_abuse(client: LeanClient, kind: str, number: int, sent: int,
                     rng: random.Random, tally: Tally) -> None:
    address = f"10.2.{number}.1"
    raw = None
    if kind == "long":
        path, payload = "/api/v1/ask", {"question": long_question(rng)}
    elif kind == "botnet":  # a new address every time: no rate limit applies
        address = f"10.{3 + number}.{sent // 250}.{sent % 250}"
        path, payload = "/api/v1/ask", {"question": long_question(rng)}
    elif kind == "feedback":
        path, payload = "/api/v1/feedback", {"question": long_question(rng),
                                             "answer": "答" * 4000, "helpful": False,
                                             "comment": "差" * 1000}
    else:
        path, payload, raw = "/api/v1/ask", None, b'{"question": "' + b"x" * 200_000 + b'"}'
    try:
        reply = await client.post_json(path, payload, raw=raw,
                                       headers={"X-Forwarded-For": address})
        tally.statuses[reply.status] += 1
    except HTTPError:
        tally.statuses["connection error"] += 1


async def phase(url: str, seconds: float, users: int, abuse: bool,
                abusers: dict[str, Tally], server: Server, rss: list[int]) -> Tally:
    client = LeanClient(url, timeout_s=30)
    until = time.perf_counter() + seconds
    tally, counter = Tally(), [0 if not abuse else 100_000]
    tasks = [user(client, n, until, tally, counter) for n in range(users)]
    if abuse:
        plan = [("long", 4, 10.0), ("feedback", 2, 10.0), ("oversized", 1, 5.0)]
        for kind, count, rate in plan:
            tasks += [abuser(client, kind, n, until, rate, abusers[kind]) for n in range(count)]
        tasks += [abuser(client, "botnet", n, until, 8.0, abusers["botnet"]) for n in range(4)]
    tasks.append(watch_memory(server, until, rss))
    await asyncio.gather(*tasks)
    return tally


async def watch_memory(server: Server, until: float, rss: list[int]) -> None:
    while time.perf_counter() < until:
        rss.append(sum(memory_kib(pid)["rss"] for pid in server.pids()))
        await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idle", type=float, default=20.0, help="seconds without abuse")
    parser.add_argument("--abuse", type=float, default=30.0, help="seconds under abuse")
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args()
    settings = indexes.seed_settings()
    indexes.ensure_index(settings)
    report = Report("Abuse: ordinary users beside abusive clients",
                    f"bench/bench_abuse.py --idle {args.idle:g} --abuse {args.abuse:g} "
                    f"--users {args.users}")
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**indexes.env_for(settings), "POLICYBOT_DATA_DIR": data_dir,
               "POLICYBOT_RATE_LIMIT_PER_MINUTE": "60", "POLICYBOT_TRUSTED_PROXIES": "127.0.0.1"}
        with Server(env, name="abuse") as server:
            abusers = {kind: Tally() for kind in ("long", "botnet", "feedback", "oversized")}
            rss_idle: list[int] = []
            rss_abuse: list[int] = []
            progress(f"idle phase, {args.users} users, {args.idle:g} s")
            idle = run(phase(server.url, args.idle, args.users, False, abusers, server, rss_idle))
            progress(f"abuse phase, {args.abuse:g} s")
            abused = run(phase(server.url, args.abuse, args.users, True, abusers, server,
                               rss_abuse))
    report.add(summary(idle, abused, rss_idle, rss_abuse, args))
    report.add(abuser_table(abusers))
    report.save()


def summary(idle: Tally, abused: Tally, rss_idle: list[int], rss_abuse: list[int],
            args: argparse.Namespace) -> str:
    def errors(tally: Tally) -> int:
        return sum(n for status, n in tally.statuses.items() if status != 200)

    p50_idle, p50_abuse = (percentile(t.latencies_ms, 50) for t in (idle, abused))
    rows = [
        ("idle", len(idle.latencies_ms), p50_idle, percentile(idle.latencies_ms, 95),
         errors(idle), max(rss_idle, default=0) / 1024),
        ("under abuse", len(abused.latencies_ms), p50_abuse,
         percentile(abused.latencies_ms, 95), errors(abused), max(rss_abuse, default=0) / 1024),
    ]
    text = table(("ordinary users", "answers", "p50 ms", "p95 ms", "failed", "server RSS max MiB"),
                 rows)
    ratio = p50_abuse / p50_idle
    verdict = "✓" if ratio <= 2 and not errors(abused) else "✗"
    return (f"{args.users} ordinary users, one new question each every ~1.5 s.\n\n{text}\n\n"
            f"p50 under abuse / idle: **{ratio:.2f}** (target ≤ 2, no failed request) {verdict}")


def abuser_table(abusers: dict[str, Tally]) -> str:
    statuses = sorted({s for t in abusers.values() for s in t.statuses}, key=str)
    rows = [(kind, sum(t.statuses.values()), *(t.statuses.get(s, 0) for s in statuses))
            for kind, t in abusers.items()]
    return "What the abusers got:\n\n" + table(("abuser", "sent", *map(str, statuses)), rows)


if __name__ == "__main__":
    main()
