import threading
import time

import pytest

from canvasbridge.engine.ledger.batching import GroupCommit


def test_writes_from_many_threads_share_statements_and_each_caller_gets_its_own_result():
    batches = []

    def flush(items):
        batches.append(list(items))
        time.sleep(0.01)  # a slow write lets the next callers pile up
        return [item * 10 for item in items]

    commit = GroupCommit(flush, name="test")
    results = {}

    def call(n):
        results[n] = commit(n)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: n * 10 for n in range(40)}
    assert sum(len(b) for b in batches) == 40
    assert len(batches) < 40


def test_a_failed_write_reaches_every_caller_of_that_batch_and_the_next_batch_still_runs():
    calls = []

    def flush(items):
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("database went away")
        return list(items)

    commit = GroupCommit(flush, name="test")
    with pytest.raises(ConnectionError, match="went away"):
        commit(1)
    assert commit(2) == 2


def test_callers_beyond_one_batch_are_written_in_order_by_later_writers_and_none_is_left_waiting():
    first_write_started = threading.Event()
    release_first_write = threading.Event()
    batches = []

    def flush(items):
        batches.append(list(items))
        if len(batches) == 1:
            first_write_started.set()
            release_first_write.wait(5)
        return [-item for item in items]

    commit = GroupCommit(flush, name="test", max_batch=3)
    results = {}

    def call(n):
        results[n] = commit(n)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert first_write_started.wait(5)
    queued = [threading.Thread(target=call, args=(n,)) for n in range(1, 11)]
    for thread in queued:  # they queue behind the write in progress
        thread.start()
    deadline = time.monotonic() + 5
    while len(commit._pending) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    release_first_write.set()
    for thread in [first, *queued]:
        thread.join(5)
        assert not thread.is_alive()
    assert results == {n: -n for n in range(11)}
    assert batches[0] == [0] and all(len(b) <= 3 for b in batches)
    assert sorted(item for b in batches[1:] for item in b) == list(range(1, 11))
    assert len(batches) == 1 + 4  # ten queued callers, three at a time


def test_a_flush_returning_the_wrong_number_of_results_fails_its_batch_and_the_next_batch_runs():
    answers = iter([[], ["ok"]])
    commit = GroupCommit(lambda items: next(answers), name="test")
    with pytest.raises(RuntimeError, match="test: 0 results for 1 items"):
        commit("a")
    assert commit("b") == "ok"
