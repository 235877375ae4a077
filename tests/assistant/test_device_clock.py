"""When a sound card's blocks are heard or sound: continuous across blocks, whatever the jitter of
the thread that reads or writes them, and back in step after the stream loses samples."""

from assistant.device_clock import RESYNC_S, DeviceClock

RATE = 16000
BLOCK = 512  # 32 ms


def test_blocks_follow_each_other_whatever_the_thread_woke_late_by():
    clock = DeviceClock(RATE)
    late = [0.0, 0.012, 0.003, 0.020, 0.0, 0.007, 0.015, 0.001]  # how late the thread woke, block by block
    true = [10.0 + i * BLOCK / RATE for i in range(len(late))]
    stamped = [clock.at(t + jitter, BLOCK) for t, jitter in zip(true, late, strict=True)]
    assert stamped == true  # the measures' jitter is gone


def test_a_late_first_measure_is_corrected_by_an_earlier_one():
    clock = DeviceClock(RATE)
    first = clock.at(10.05, BLOCK)  # the stream's first block: the thread woke 50 ms late
    second = clock.at(10.0 + BLOCK / RATE, BLOCK)  # the next one, on time
    assert first == 10.05 and second == 10.0 + BLOCK / RATE


def test_an_overflow_or_a_long_gap_starts_the_count_again():
    clock = DeviceClock(RATE)
    clock.at(10.0, BLOCK)
    assert clock.at(10.5, BLOCK, broken=True) == 10.5  # samples were lost: the measure is the truth again
    clock.at(10.5 + BLOCK / RATE, BLOCK)
    later = 10.5 + 2 * BLOCK / RATE + 0.3  # no flag, but far later than the blocks before say
    assert clock.at(later, BLOCK) == later


def test_once_settled_the_count_alone_says_when_a_block_is():
    """A card a little faster than its nominal rate (60 ppm), read by a thread that wakes 0-20 ms
    late: after the first second the stamps follow the sample count, steady to the sample, where
    snapping back to each earlier measure moved them by a fraction of a millisecond now and then."""
    clock = DeviceClock(RATE)
    wake = [0.0, 0.012, 0.003, 0.020, 0.0005, 0.007, 0.015, 0.001, 0.009, 0.018]
    blocks = 31 * 60  # a minute
    true = [10.0 + i * BLOCK / RATE / (1 + 60e-6) for i in range(blocks)]
    stamped = [clock.at(t + wake[i % len(wake)], BLOCK) for i, t in enumerate(true)]
    settled = next(i for i, t in enumerate(true) if t > 11.0)
    steps = [b - a for a, b in zip(stamped[settled:-1], stamped[settled + 1:], strict=True)]
    assert max(steps) - min(steps) < 1e-9  # one block's length each: no step back
    assert abs(stamped[-1] - true[-1]) < 0.005  # 3.6 ms of drift over the minute, within the resync


def test_a_count_that_strays_too_far_from_the_measures_is_set_anew():
    clock = DeviceClock(RATE)
    true = [10.0 + i * BLOCK / RATE * 0.99 for i in range(400)]  # a card 1% fast: the count runs ahead
    stamped = [clock.at(t, BLOCK) for t in true]
    assert all(abs(s - t) <= RESYNC_S for s, t in zip(stamped, true, strict=True))
    resynced = [i for i in range(1, 400) if stamped[i] == true[i] and true[i] > 11.0]
    # settled after 31 blocks, the count is 100 ms ahead 312 blocks later: the measure is the truth again
    assert resynced and 330 < resynced[0] < 360
