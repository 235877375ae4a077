"""When a sound card's samples are heard or sound, on `time.monotonic`, without the jitter of the
thread that reads or writes them.

A blocking read or write returns when the card has room or data; the thread wakes some
milliseconds later, more on a busy machine. "Now, give or take the stream's latency" is then the
latest a block can have been heard (or can sound): where the thread woke late, the card had moved
on further. A card's samples follow each other without a gap until the stream over- or underflows,
so each block follows the one before it, unless the measure says it is earlier. The echo
canceller matches the microphone against what played by these times: a reference that moves by
10–20 ms from block to block moves the echo's delay under AEC3, and it lets the echo through.
"""

from __future__ import annotations

RESYNC_S = 0.1  # a block measured this much later than its predecessors say: samples were lost


class DeviceClock:
    def __init__(self, rate: int, resync_s: float = RESYNC_S) -> None:
        self.rate = rate
        self.resync_s = resync_s
        self._next: float | None = None  # when the next block's first sample is, following the last

    def at(self, measured: float, samples: int, broken: bool = False) -> float:
        """When the first of a block's `samples` is heard (or sounds): `measured`, the latest it can
        be, or earlier where the blocks before say so; `broken`: the stream over- or underflowed."""
        if self._next is None or broken or measured - self._next > self.resync_s:
            at = measured
        else:
            at = min(self._next, measured)
        self._next = at + samples / self.rate
        return at
