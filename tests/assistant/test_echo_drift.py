"""The echo's drift (assistant/echo_drift.py): its lag behind the reference measured and fitted, the
linear filter's reference read back by as much, at a fraction of a sample."""

import numpy as np
import pytest

from assistant.echo_drift import MARGIN_S, RATE, EchoLag, read_shifted
from assistant.linear_echo import FILTER_SAMPLES

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


def _run(lag: EchoLag, heard: np.ndarray, played: np.ndarray) -> list[float]:
    shifts = []
    for start in range(0, len(heard) - FRAME + 1, FRAME):
        at = start / RATE
        lag.add(heard[start:start + FRAME], played[start:start + FRAME], at)
        shifts.append(lag.shift(at))
    return shifts


def _voice(seconds: float) -> np.ndarray:
    """Noise shaped and gated like speech: syllables of sound with gaps between them."""
    rng = np.random.default_rng(0)
    noise = np.convolve(rng.standard_normal(int(seconds * RATE)), np.ones(4) / 4, "same")
    gate = (np.sin(2 * np.pi * 3 * np.arange(len(noise)) / RATE) > -0.3).astype(np.float32)
    return (0.2 * noise * gate).astype(np.float32)


@pytest.mark.parametrize("ppm", [65.0, -65.0])
def test_the_echos_drift_is_measured_and_the_reference_follows_it(ppm: float):
    played = _voice(30.0)
    lag = EchoLag(FILTER_SAMPLES)
    shifts = _run(lag, _drifted_echo(played, ppm), played)
    assert lag.drift_ppm == pytest.approx(ppm, abs=5)
    engaged = next(i for i, s in enumerate(shifts) if s)  # from then on, each second read further back (or less)
    assert engaged < 15 * 100
    step = np.diff(shifts[engaged:])
    assert np.median(step) * 100 == pytest.approx(ppm * 1e-6 * RATE, rel=0.1)
    assert min(shifts) >= 0  # never read ahead of what is known
    if ppm < 0:  # a shrinking lag is followed from a margin back
        assert shifts[engaged] == pytest.approx(MARGIN_S * RATE, abs=1)


def test_without_a_drift_the_reference_is_read_as_it_is():
    played = _voice(20.0)
    lag = EchoLag(FILTER_SAMPLES)
    assert set(_run(lag, _drifted_echo(played, 0.0), played)) == {0.0}
    assert lag.drift_ppm == pytest.approx(0.0, abs=3) and len(lag.measures) > 10  # measured, and found steady
    assert not lag.following


def test_an_echo_path_that_changes_is_measured_anew():
    played = _voice(40.0)
    lag = EchoLag(FILTER_SAMPLES)
    _run(lag, _drifted_echo(played, 65.0, jump_at_s=20.0), played)
    latest = lag.measures[-1]
    assert all(when > 20.0 for when, _ in lag.measures)  # the measures from before the jump are gone
    assert latest[1] == pytest.approx(1300 + 200 + 65e-6 * RATE * latest[0], abs=1.5)
    assert lag.drift_ppm == pytest.approx(65.0, abs=10)


def test_the_drift_is_followed_on_across_a_silence():
    """Between two answers the speaker is silent and nothing is measured, but the cards' clocks go
    on: the fit goes on too, so the filter's lag is not set anew when the next answer starts."""
    played = np.concatenate([_voice(20.0), np.zeros(60 * RATE, np.float32), _voice(15.0)])
    lag = EchoLag(FILTER_SAMPLES)
    shifts = _run(lag, _drifted_echo(played, 65.0), played)
    engaged = next(i for i, s in enumerate(shifts) if s)
    assert min(shifts[engaged:]) > 0
    grown = np.diff(shifts[engaged:])
    assert np.all(np.abs(grown) < 0.5)  # no jump (each new measure moves the fit by a fraction of a sample)
    silence = slice(25 * 100, 75 * 100)  # it grew over the silence as the clocks drifted
    assert shifts[silence.stop] - shifts[silence.start] == pytest.approx(65e-6 * 50 * RATE, abs=0.5)
