"""Where model calls run: a lone call wide on the model thread, calls under load one per lane."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from service.embedding.model_lanes import ModelLanes

WAIT_S = 5


class Recorder:
    """Model calls that record how they ran; each waits for its own gate when given one."""

    def __init__(self) -> None:
        self.threads_set: dict[int, int] = {}  # OS thread -> last OpenMP thread count
        self.runs: list[tuple[str, int, str]] = []  # (name, OpenMP threads, thread name)
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def set_threads(self, threads: int) -> None:
        self.threads_set[threading.get_ident()] = threads

    def call(self, name: str, gate: threading.Event | None = None,
             started: threading.Event | None = None) -> Callable[[], str]:
        def run() -> str:
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                threads = self.threads_set.get(threading.get_ident(), 0)
                self.runs.append((name, threads, threading.current_thread().name))
            if started:
                started.set()
            if gate:
                assert gate.wait(WAIT_S)
            with self.lock:
                self.in_flight -= 1
            return name
        return run


def in_background(lanes: ModelLanes, function: Callable[[], str],
                  query: bool = True) -> threading.Thread:
    thread = threading.Thread(target=lambda: lanes.run(function, query=query))
    thread.start()
    return thread


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_lone_call_runs_wide_on_the_model_thread() -> None:
    recorder = Recorder()
    lanes = ModelLanes(2, recorder.set_threads)
    assert lanes.run(recorder.call("only")) == "only"
    assert recorder.runs == [("only", 2, recorder.runs[0][2])]
    assert recorder.runs[0][2].startswith("model")
    assert (lanes.wide_calls, lanes.narrow_calls) == (1, 0)


def test_calls_arriving_under_load_run_one_thread_each_side_by_side() -> None:
    recorder = Recorder()
    lanes = ModelLanes(2, recorder.set_threads)
    wide_gate, narrow_gate = threading.Event(), threading.Event()
    wide_started = threading.Event()
    first = in_background(lanes, recorder.call("wide", wide_gate, wide_started))
    assert wide_started.wait(WAIT_S)
    later = [in_background(lanes, recorder.call(f"narrow{i}", narrow_gate)) for i in range(3)]
    time.sleep(0.05)
    assert [run[0] for run in recorder.runs] == ["wide"]  # nothing overlaps a wide call
    wide_gate.set()
    wait_for(lambda: len(recorder.runs) == 3)
    time.sleep(0.05)
    assert recorder.in_flight == 2 == len(recorder.runs) - 1  # two lanes, the third waits
    narrow_gate.set()
    for thread in [first, *later]:
        thread.join(WAIT_S)
    assert sorted(run[:2] for run in recorder.runs[1:]) == [(f"narrow{i}", 1) for i in range(3)]
    assert not any(run[2].startswith("model") for run in recorder.runs[1:])
    assert recorder.most_in_flight == 2
    assert (lanes.wide_calls, lanes.narrow_calls) == (1, 3)


def test_a_waiting_query_goes_before_a_waiting_passage_batch() -> None:
    recorder = Recorder()
    lanes = ModelLanes(2, recorder.set_threads)
    gate, started = threading.Event(), threading.Event()
    first = in_background(lanes, recorder.call("batch1", gate, started), query=False)
    assert started.wait(WAIT_S)
    second = in_background(lanes, recorder.call("batch2"), query=False)
    time.sleep(0.05)
    question = in_background(lanes, recorder.call("question"))
    time.sleep(0.05)
    gate.set()
    for thread in (first, second, question):
        thread.join(WAIT_S)
    assert [run[0] for run in recorder.runs] == ["batch1", "question", "batch2"]
    assert [run[1] for run in recorder.runs] == [2, 1, 2]  # batches wide; the question
    assert recorder.most_in_flight == 1  # came while one was in flight, so it ran narrow


def test_without_a_thread_setting_every_call_runs_alone_on_the_model_thread() -> None:
    recorder = Recorder()
    lanes = ModelLanes(4)
    gate, started = threading.Event(), threading.Event()
    first = in_background(lanes, recorder.call("a", gate, started))
    assert started.wait(WAIT_S)
    others = [in_background(lanes, recorder.call(name)) for name in "bc"]
    time.sleep(0.05)
    gate.set()
    for thread in [first, *others]:
        thread.join(WAIT_S)
    assert lanes.lanes == 1 and recorder.most_in_flight == 1
    assert all(run[2].startswith("model") for run in recorder.runs)


def test_a_failing_call_frees_its_lane() -> None:
    lanes = ModelLanes(2, lambda threads: None)

    def crash() -> str:
        raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        lanes.run(crash)
    assert lanes.run(lambda: "still works") == "still works"


def test_a_call_that_may_not_run_wide_runs_narrow_on_an_idle_model_beside_a_short_one() -> None:
    recorder = Recorder()
    lanes = ModelLanes(2, recorder.set_threads)
    gate, started = threading.Event(), threading.Event()
    long_call = threading.Thread(target=lambda: lanes.run(
        recorder.call("long", gate, started), may_run_wide=False))
    long_call.start()
    assert started.wait(WAIT_S)
    assert lanes.run(recorder.call("short")) == "short"  # did not wait for the long one
    gate.set()
    long_call.join(WAIT_S)
    assert [(name, threads) for name, threads, _ in recorder.runs] == [("long", 1), ("short", 1)]
