"""When a sound card's blocks are heard or sound: continuous across blocks, whatever the jitter of
the thread that reads or writes them, and back in step after the stream loses samples."""

from assistant.device_clock import DeviceClock

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
