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
