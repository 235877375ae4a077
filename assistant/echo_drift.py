"""The echo's lag behind its reference, measured and followed, for the linear echo filter.

The linear filter (assistant/linear_echo.py) models the echo as its reference delayed and shaped by
the room. Fed the reference as the player stamped it, it must span the whole way from there to the
end of the echo (the reference's lead over the microphone, the card's error in its stated latency,
the room's delay and its reverberant tail: half a second), and a filter that long converged only
after the first answers of a session, when a user is as likely to talk over them as later. Fed the
reference read back to where the echo's direct sound lies, a filter half as long spans the room's
tail and converges several times sooner (docs/benchmarks.md, "Voice in a room"). `EchoLag` says
where that is:

- it measures the echo's lag behind the reference every half second, over the last second of
  microphone and reference (a generalised cross-correlation with phase transform, whose peak is the
  direct sound's lag, to a fraction of a sample);
- `lag_at` is that lag once two measures agree, and once there are enough of them over 2 s, a line
  fitted to the last 30 s of measures (Theil-Sen: the median of the pairwise slopes, so a measure
  taken while someone talks over the echo does not bend it). Where the speaker and the microphone
  are two sound cards, each on its own clock (a USB microphone, the laptop's speakers), their
  sample counts part at the difference of their true rates, tens of ppm, and the line's slope is
  that drift: read at `lag_at`, the reference follows it (`read_shifted`, to a fraction of a
  sample), where a filter at a fixed lag would chase a lag moving a sample a second (65 ppm) and
  remove far less of the echo;
- the fit goes on across silences, as the cards' clocks do; a lag far off it three times in a row
  means the echo's path changed, and it is measured anew.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

RATE = 16000
WINDOW_S = 1.0  # the microphone a lag is measured over
EVERY_S = 0.5  # a lag measured this often while the reference sounds
FIT_S = 30.0  # the drift is fitted to the lags measured over this long
MIN_MEASURES = 5  # a drift is fitted from this many lags ...
MIN_SPAN_S = 2.0  # ... spanning at least this long: the drift is followed 3-4 s into the first answer
MIN_PPM = 10.0  # a drift under this is followed in whole samples (half a sample over the filter's converging time)
AGREE = 2  # before a fit, the lag is known once this many measures in a row ...
SPREAD = 2.0  # ... lie within this many samples of each other
PROMINENCE = 20.0  # a lag's correlation peak, against the median of the others, that makes it a measure
JUMP_SAMPLES = 16.0  # a lag this far off the fit, three times in a row, means the echo's path changed
HALF_TAPS = 16  # the interpolating sinc's half length, in samples
ACTIVE = 1e-5  # a reference frame's mean square above this (-50 dBFS) sounds


class EchoLag:
    """Feed it every 10 ms frame of microphone and reference (`add`); `lag_at` is how many samples
    (a fraction of one included) the echo comes behind the reference at a time."""

    def __init__(self, max_lag: int, rate: int = RATE) -> None:
        self.rate = rate
        self.max_lag = max_lag
        self._heard: deque[np.ndarray] = deque()
        self._played: deque[np.ndarray] = deque()
        self._window = int(WINDOW_S * rate)
        self._size = 1 << int(np.ceil(np.log2(2 * self._window + max_lag)))  # FFT length, no wrap-around
        self._held = 0  # samples held in `_heard`
        self._since = 0.0  # seconds of sounding reference since the last measure
        self.measures: deque[tuple[float, float]] = deque()  # (seconds, lag in samples)
        self._off = 0  # measures in a row far off the fit
        self._fit: tuple[float, float] | None = None  # (slope in samples a second, lag at time 0)

    @property
    def drift_ppm(self) -> float | None:
        """The echo's drift behind its reference (positive: its lag grows), once measured."""
        return None if self._fit is None else self._fit[0] / self.rate * 1e6

    def add(self, heard: np.ndarray, played: np.ndarray, at: float) -> None:
        """One frame of microphone, and of the reference as it is paired with it (before any shift),
        recorded at `at` (seconds)."""
        self._heard.append(heard)
        self._played.append(played)
        self._held += len(heard)
        keep = self._window + self.max_lag
        while self._held - len(self._heard[0]) >= keep:
            self._held -= len(self._heard.popleft())
            self._played.popleft()
        if float(np.mean(np.square(played))) > ACTIVE:
            self._since += len(heard) / self.rate
        if self._since >= EVERY_S and self._held >= keep:
            self._since = 0.0
            lag = self._measure()
            if lag is not None:
                self._record(at + len(heard) / self.rate - WINDOW_S / 2, lag)

    def lag_at(self, at: float) -> float | None:
        """Samples the echo comes behind the reference at `at` (seconds): the fitted line once there
        is one, before that the median of the last measures once `AGREE` of them agree; None until
        then."""
        if self._fit is not None:
            slope, intercept = self._fit
            return intercept + slope * at
        recent = [lag for _, lag in list(self.measures)[-AGREE:]]
        if len(recent) < AGREE or max(recent) - min(recent) > SPREAD:
            return None
        return float(np.median(recent))

    def _measure(self) -> float | None:
        """The echo's lag (samples) behind the reference over the last `WINDOW_S`, or None where
        the correlation has no clear peak (little echo, a talker louder than it)."""
        heard = np.concatenate(self._heard)[-self._window:]
        played = np.concatenate(self._played)[-(self._window + self.max_lag):]
        spectrum = np.fft.rfft(heard, self._size) * np.conj(np.fft.rfft(played, self._size))
        spectrum /= np.maximum(np.abs(spectrum), 1e-12)
        correlation = np.fft.irfft(spectrum, self._size)
        lags = np.arange(self.max_lag)  # microphone sample n heard reference sample n - lag
        values = correlation[(lags - self.max_lag) % self._size]
        peak = int(np.argmax(values))
        if values[peak] < PROMINENCE * float(np.median(np.abs(values))) or not 0 < peak < self.max_lag - 1:
            return None
        before, at, after = values[peak - 1:peak + 2]
        return peak + 0.5 * float(before - after) / float(before - 2 * at + after)  # the parabola's vertex

    def _record(self, when: float, lag: float) -> None:
        if self._fit is not None and abs(lag - (self._fit[1] + self._fit[0] * when)) > JUMP_SAMPLES:
            self._off += 1
            if self._off < 3:
                return
            self.measures.clear()  # the echo's path changed: measured anew
            self._fit = None
        self._off = 0
        self.measures.append((when, lag))
        while self.measures and self.measures[0][0] < when - FIT_S:
            self.measures.popleft()
        self._fit = _fitted(list(self.measures)) or self._fit  # too few since a silence: the last fit goes on


def _fitted(measures: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Theil-Sen line (slope, intercept) through (seconds, lag) measures; None where they are too
    few or too short."""
    if len(measures) < MIN_MEASURES or measures[-1][0] - measures[0][0] < MIN_SPAN_S:
        return None
    times, lags = np.array(measures).T
    pairs = [(lags[j] - lags[i]) / (times[j] - times[i])
             for i in range(len(times)) for j in range(i + 1, len(times)) if times[j] - times[i] >= 1.0]
    slope = float(np.median(pairs))
    return slope, float(np.median(lags - slope * times))


def read_shifted(take: Callable[[int, float], np.ndarray], count: int, at: float, shift: float,
                 rate: int = RATE) -> np.ndarray:
    """`count` samples of a signal from `at` (seconds), `shift` samples back (a fraction of one
    included), through `take(count, at)`: exact for a whole number of samples, interpolated with a
    windowed sinc in between."""
    whole = int(np.floor(shift))
    if shift == whole:
        return take(count, at - whole / rate)
    first = -whole - HALF_TAPS  # the first sample read, from `at`
    wide = take(count + 2 * HALF_TAPS, at + first / rate)
    positions = np.arange(count) - shift - first  # where each wanted sample lies in `wide`
    base = np.floor(positions).astype(int)
    taps = np.arange(-HALF_TAPS + 1, HALF_TAPS + 1)
    x = taps[None, :] - (positions - base)[:, None]
    weights = np.sinc(x) * (0.5 + 0.5 * np.cos(np.pi * x / HALF_TAPS))
    return np.sum(wide[base[:, None] + taps[None, :]] * weights, axis=1).astype(np.float32)
