"""`Batcher`: concurrent calls coalesced into batches (sync's group commit and grouped reads)."""

from __future__ import annotations

import asyncio

import pytest

from symphony_sync.domain.batching import Batcher, Call

pytestmark = pytest.mark.asyncio


class Recorder:
    """Runs batches that answer each request with itself doubled, remembering every batch;
    `gate` (when set) holds each batch until released."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[int]] = []
        self.running = 0
        self.most_running = 0
        self.gate = gate

    async def run(self, calls: list[Call[int, int]]) -> None:
        self.batches.append([c.request for c in calls])
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0)
            for call in calls:
                call.succeed(call.request * 2)
        finally:
            self.running -= 1


async def test_calls_arriving_together_share_a_batch() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.run, max_size=100, max_batches=1)
    assert await asyncio.gather(*(batcher.submit(n) for n in range(10))) == [
        n * 2 for n in range(10)
    ]
    assert recorder.batches == [list(range(10))]


async def test_calls_arriving_during_a_batch_wait_for_the_next_one() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    batcher: Batcher[int, int] = Batcher(recorder.run, max_size=3, max_batches=1)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(batcher.submit(n)) for n in range(1, 6)]
    await asyncio.sleep(0.01)
    assert recorder.batches == [[0]]
    gate.set()
    assert await asyncio.gather(first, *later) == [0, 2, 4, 6, 8, 10]
    assert recorder.batches == [[0], [1, 2, 3], [4, 5]]
    assert recorder.most_running == 1


async def test_at_most_max_batches_run_at_once() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    batcher: Batcher[int, int] = Batcher(recorder.run, max_size=1, max_batches=2)
    calls = [asyncio.ensure_future(batcher.submit(n)) for n in range(5)]
    await asyncio.sleep(0.01)
    assert recorder.running == 2
    gate.set()
    assert await asyncio.gather(*calls) == [0, 2, 4, 6, 8]
    assert recorder.most_running == 2


async def test_same_key_never_shares_a_batch_and_keeps_submission_order() -> None:
    recorder = Recorder()
    # Key: the tens digit. 10, 11 and 12 share a key; 20 and 21 another.
    batcher: Batcher[int, int] = Batcher(
        recorder.run, max_size=100, max_batches=2, key=lambda n: n // 10
    )
    await asyncio.gather(*(batcher.submit(n) for n in (10, 20, 11, 30, 12, 21)))
    assert all(len({n // 10 for n in batch}) == len(batch) for batch in recorder.batches)
    order = [n for batch in recorder.batches for n in batch]
    assert [n for n in order if n // 10 == 1] == [10, 11, 12]
    assert [n for n in order if n // 10 == 2] == [20, 21]


async def test_a_failing_batch_fails_the_calls_it_left_unanswered() -> None:
    async def run(calls: list[Call[int, int]]) -> None:
        calls[0].succeed(1)
        raise ValueError("boom")

    batcher: Batcher[int, int] = Batcher(run, max_size=10, max_batches=1)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)
    assert outcomes[0] == 1
    assert all(isinstance(o, ValueError) for o in outcomes[1:])
    # The batcher still works afterwards.
    recorder = Recorder()
    batcher = Batcher(recorder.run, max_size=10, max_batches=1)
    assert await batcher.submit(4) == 8


async def test_a_batch_that_answers_nothing_fails_its_calls() -> None:
    async def run(calls: list[Call[int, int]]) -> None:
        return None

    batcher: Batcher[int, int] = Batcher(run, max_size=10, max_batches=1)
    with pytest.raises(RuntimeError, match="unanswered"):
        await batcher.submit(1)


async def test_a_caller_that_gives_up_is_left_out_and_others_go_on() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    batcher: Batcher[int, int] = Batcher(recorder.run, max_size=10, max_batches=1)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    gone = asyncio.ensure_future(batcher.submit(1))
    stays = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    gone.cancel()
    first.cancel()  # cancelling a caller does not cancel the batch it is in
    gate.set()
    assert await stays == 4
    assert recorder.batches == [[0], [2]]


async def test_under_load_the_next_batch_lingers_so_later_calls_join_it() -> None:
    gate = asyncio.Event()
    recorder = Recorder(gate)
    batcher: Batcher[int, int] = Batcher(recorder.run, max_size=10, max_batches=1, linger=0.5)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(batcher.submit(1))  # arrives during the first batch
    gate.set()
    await asyncio.sleep(0.05)  # the first batch is done; the next one lingers
    late = asyncio.ensure_future(batcher.submit(2))
    assert await asyncio.gather(first, waiting, late) == [0, 2, 4]
    # Without the linger the waiting call would have gone alone: [[0], [1], [2]].
    assert recorder.batches == [[0], [1, 2]]


async def test_a_call_to_an_idle_batcher_never_lingers() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder.run, max_size=10, max_batches=1, linger=30)
    assert await asyncio.wait_for(batcher.submit(1), 5) == 2
    # Nothing was waiting when that batch ended, so the next call starts its own batch at once.
    assert await asyncio.wait_for(batcher.submit(2), 5) == 4
    assert recorder.batches == [[1], [2]]
