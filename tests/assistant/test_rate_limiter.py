"""The MQTT bridge's per-device rate limit, on an injected clock."""

import tracemalloc

from assistant.mqtt.bridge import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_device_gets_its_quota_per_rolling_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock)
    assert [limiter.allow("door") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("hall")  # another device has its own quota
    clock.now += 59.9
    assert not limiter.allow("door")
    clock.now += 0.1
    assert limiter.allow("door")


def test_idle_devices_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock)
    for device in ("a", "b", "c"):
        limiter.allow(device)
    clock.now += 61
    limiter.allow("d")
    assert len(limiter) == 1


def test_a_flood_of_made_up_device_ids_keeps_memory_flat() -> None:
    clock = Clock()
    limiter = RateLimiter(30, clock, max_keys=10_000)
    tracemalloc.start()
    for i in range(10_000):
        limiter.allow(f"fake-{i}")
    after_ten_thousand = tracemalloc.get_traced_memory()[0]
    for i in range(10_000, 100_000):  # all within one minute: only the cap holds them back
        limiter.allow(f"fake-{i}")
        clock.now += 0.0001
    after_hundred_thousand = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(limiter) == 10_000
    assert after_hundred_thousand < after_ten_thousand * 1.2
    assert limiter.allow("real-device")  # a real device still gets through
