"""The echo's lag behind its reference (assistant/echo_drift.py): measured, fitted where it drifts,
and the linear filter's reference read back by as much, at a fraction of a sample."""

import numpy as np
import pytest

from assistant.echo_drift import RATE, EchoLag, read_shifted
from assistant.linear_echo import LAG_RANGE

FRAME = RATE // 100


def _take(signal: np.ndarray):
    def take(count: int, at: float) -> np.ndarray:
        out = np.zeros(count, np.float32)
        first = round(at * RATE)
        lo, hi = max(0, first), min(len(signal), first + count)
        if lo < hi:
            out[lo - first:hi - first] = signal[lo:hi]
        return out
    return take


def test_the_reference_is_read_back_exactly_by_whole_samples_and_closely_in_between():
    t = np.arange(RATE) / RATE
    tones = [(300.0, 0.3), (1250.0, 0.2), (3900.0, 0.1)]  # speech's band

    def sound(times: np.ndarray) -> np.ndarray:
        return sum(a * np.sin(2 * np.pi * f * times) for f, a in tones).astype(np.float32)

    take = _take(sound(t))
    assert np.array_equal(read_shifted(take, FRAME, 0.5, 7.0), sound(t)[RATE // 2 - 7:RATE // 2 - 7 + FRAME])
    for shift in (0.25, 0.5, 3.7, -2.4):
        got = read_shifted(take, FRAME, 0.5, shift)
        wanted = sound(0.5 + (np.arange(FRAME) - shift) / RATE)
        assert 10 * np.log10(np.mean((got - wanted) ** 2) / np.mean(wanted ** 2)) < -40


def _drifted_echo(played: np.ndarray, ppm: float, delay: int = 1300, jump_at_s: float | None = None) -> np.ndarray:
    """`played` heard `delay` samples later through a short room, its lag growing `ppm` (negative:
    shrinking), block by block as a sound card's does; `jump_at_s`: the lag jumps 200 samples then."""
    rng = np.random.default_rng(1)
    response = np.zeros(delay + 400, np.float32)
    response[delay] = 0.6
    response[delay:] += (rng.standard_normal(400) * np.exp(-np.arange(400) / 100) * 0.05).astype(np.float32)
    echo = np.convolve(played, response)[:len(played)].astype(np.float32)
    take, heard = _take(echo), np.zeros_like(echo)
    for start in range(0, len(echo), 512):
        shift = ppm * 1e-6 * start + (200 if jump_at_s is not None and start >= jump_at_s * RATE else 0)
        block = read_shifted(take, 512, start / RATE, shift)
        heard[start:start + 512] = block[:len(heard) - start]
    return heard + (rng.standard_normal(len(heard)) * 0.003).astype(np.float32)


def _run(lag: EchoLag, heard: np.ndarray, played: np.ndarray) -> list[float | None]:
    """`lag.lag_at` after each 10 ms frame."""
    lags = []
    for start in range(0, len(heard) - FRAME + 1, FRAME):
        at = start / RATE
        lag.add(heard[start:start + FRAME], played[start:start + FRAME], at)
        lags.append(lag.lag_at(at))
    return lags


def _voice(seconds: float) -> np.ndarray:
    """Noise shaped and gated like speech: syllables of sound with gaps between them."""
    rng = np.random.default_rng(0)
    noise = np.convolve(rng.standard_normal(int(seconds * RATE)), np.ones(4) / 4, "same")
    gate = (np.sin(2 * np.pi * 3 * np.arange(len(noise)) / RATE) > -0.3).astype(np.float32)
    return (0.2 * noise * gate).astype(np.float32)


def test_the_lag_is_known_within_the_first_seconds_of_echo_to_the_sample():
    played = _voice(6.0)
    lags = _run(EchoLag(LAG_RANGE), _drifted_echo(played, 0.0), played)
    known = next(i for i, lag in enumerate(lags) if lag is not None)
    assert known <= 250  # 2.5 s: two measures, half a second apart, that agree
    assert all(abs(lag - 1300) < 0.5 for lag in lags[known:])


@pytest.mark.parametrize("ppm", [65.0, -65.0])
def test_the_echos_drift_is_measured_and_its_lag_followed(ppm: float):
    played = _voice(30.0)
    lag = EchoLag(LAG_RANGE)
    lags = _run(lag, _drifted_echo(played, ppm), played)
    assert lag.drift_ppm == pytest.approx(ppm, abs=5)
    times = np.arange(len(lags)) / 100
    late = slice(10 * 100, None)  # once fitted: where the echo is, a second after second
    error = [abs(got - (1300 + ppm * 1e-6 * RATE * t)) for got, t in zip(lags[late], times[late], strict=True)]
    assert max(error) < 1.0


def test_without_a_drift_the_lag_holds():
    played = _voice(20.0)
    lag = EchoLag(LAG_RANGE)
    lags = [value for value in _run(lag, _drifted_echo(played, 0.0), played) if value is not None]
    assert lag.drift_ppm == pytest.approx(0.0, abs=3) and len(lag.measures) > 10  # measured, and found steady
    assert max(lags) - min(lags) < 0.5


def test_an_echo_path_that_changes_is_measured_anew():
    played = _voice(40.0)
    lag = EchoLag(LAG_RANGE)
    lags = _run(lag, _drifted_echo(played, 65.0, jump_at_s=20.0), played)
    latest = lag.measures[-1]
    assert all(when > 20.0 for when, _ in lag.measures)  # the measures from before the jump are gone
    assert latest[1] == pytest.approx(1300 + 200 + 65e-6 * RATE * latest[0], abs=1.5)
    assert lag.drift_ppm == pytest.approx(65.0, abs=10)
    assert lags[-1] == pytest.approx(1300 + 200 + 65e-6 * RATE * (len(lags) - 1) / 100, abs=1.5)


def test_the_drift_is_followed_on_across_a_silence():
    """Between two answers the speaker is silent and nothing is measured, but the cards' clocks go
    on: the fit goes on too, so where the echo lies is known as the next answer starts."""
    played = np.concatenate([_voice(20.0), np.zeros(60 * RATE, np.float32), _voice(15.0)])
    lag = EchoLag(LAG_RANGE)
    lags = _run(lag, _drifted_echo(played, 65.0), played)
    resumed = 80 * 100  # the first frame of the second answer
    assert lags[resumed] == pytest.approx(1300 + 65e-6 * RATE * 80.0, abs=0.5)
    assert np.all(np.abs(np.diff(lags[20 * 100:])) < 0.5)  # no jump: each new measure moves it a fraction
