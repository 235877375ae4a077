"""When a sound card's samples are heard or sound, on `time.monotonic`, without the jitter of the
thread that reads or writes them.

A blocking read or write returns when the card has room or data; the thread wakes some
milliseconds later, more on a busy machine. "Now, give or take the stream's latency" is then the
latest a block can have been heard (or can sound): where the thread woke late, the card had moved
on further. A card's samples follow each other without a gap until the stream over- or underflows,
so each block follows the one before it by its length at the nominal rate. Over a stream's first
`SETTLE_S` an earlier measure moves the count back (the first block's thread may have woken late);
after that the count alone says when a block is, until the stream breaks or the measures stray
`RESYNC_S` from it. The echo canceller matches the microphone against what played by these times,
and its linear filter needs the two in step to a fraction of a sample: a clock that snapped back
to each earlier measure moved the echo's lag by a few samples every few seconds on a PulseAudio
loop, and the filter removed 5-7 dB of the echo instead of 20. A card whose true rate is off the
nominal one drifts from `time.monotonic` (65 ppm: 4 ms a minute); a speaker and a microphone on two
such cards drift apart, which the canceller follows (assistant/echo_drift.py), until the count is
`RESYNC_S` off and set anew.
"""

from __future__ import annotations

RESYNC_S = 0.1  # a block measured this much off the count: samples were lost, or the count drifted
SETTLE_S = 1.0  # over a stream's first second, an earlier measure moves the count back


class DeviceClock:
    def __init__(self, rate: int, resync_s: float = RESYNC_S, settle_s: float = SETTLE_S) -> None:
        self.rate = rate
        self.resync_s = resync_s
        self.settle_s = settle_s
        self._next: float | None = None  # when the next block's first sample is, following the last
        self._settled_at = 0.0  # from when the count alone says when a block is

    def at(self, measured: float, samples: int, broken: bool = False) -> float:
        """When the first of a block's `samples` is heard (or sounds): `measured`, the latest it can
        be, for a stream's first block or where the stream broke; after, the count of the blocks
        before (moved back by earlier measures over the first `settle_s`). `broken`: the stream
        over- or underflowed."""
        if self._next is None or broken or abs(measured - self._next) > self.resync_s:
            at = measured
            self._settled_at = measured + self.settle_s
        elif self._next < self._settled_at:
            at = min(self._next, measured)
        else:
            at = self._next
        self._next = at + samples / self.rate
        return at
