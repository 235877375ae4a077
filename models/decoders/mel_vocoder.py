"""A mel-spectrogram vocoder that trains in seconds: a fitted mel → linear projection plus Griffin-Lim.

It stands in for AudioLDM's HiFi-GAN in the small bundled audio decoder. A HiFi-GAN learns slowly; the
world's sounds (pure sines, steady or pulsing) need only the magnitude spectrum back, which a linear
map from mel bands recovers (fitted by least squares on real sounds), and Griffin-Lim finds phases for
it. The class is a diffusers `ModelMixin`, so it saves with the pipeline and loads back through
`from_pretrained` once this module is imported (`diffusion_decoder` imports it).

The mel spectrogram it reads and `analyse` writes is a normalised log-mel: (B, frames, mel_bins),
`(log(mel + floor) - log_offset) / log_scale`, about -1 … 1 for the world's sounds.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from transformers.audio_utils import mel_filter_bank

log = logging.getLogger(__name__)


class MelVocoder(ModelMixin, ConfigMixin):
    """Normalised log-mel frames in, a waveform out (`frames * hop_length` samples)."""

    @register_to_config
    def __init__(
        self,
        model_in_dim: int = 64,
        sampling_rate: int = 16000,
        n_fft: int = 512,
        upsample_rates: tuple[int, ...] = (256,),
        griffin_lim_iterations: int = 48,
        momentum: float = 0.99,
        floor: float = 1e-4,
        log_offset: float = -4.0,
        log_scale: float = 5.0,
    ) -> None:
        super().__init__()
        # named as HiFi-GAN's: AudioLDM reads samples per frame (the hop) as the product of `upsample_rates`
        self.hop_length = int(np.prod(upsample_rates))
        filters = mel_filter_bank(
            num_frequency_bins=n_fft // 2 + 1,
            num_mel_filters=model_in_dim,
            min_frequency=0.0,
            max_frequency=sampling_rate / 2,
            sampling_rate=sampling_rate,
            norm="slaney",
            mel_scale="slaney",
        )
        self.register_buffer("filters", torch.tensor(filters, dtype=torch.float32), persistent=False)  # (freq, mel)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.inverse = torch.nn.Parameter(torch.linalg.pinv(self.filters))  # (mel, freq), refitted by `fit`

    # analysis ---------------------------------------------------------------------------------

    def magnitudes(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, samples) → linear magnitudes (B, frames, freq), frames = samples // hop_length + 1."""
        spec = torch.stft(waveform.float(), self.config.n_fft, self.hop_length, window=self.window.float(),
                          center=True, return_complex=True)
        return spec.abs().transpose(1, 2)

    def analyse(self, waveform: torch.Tensor, frames: int | None = None) -> torch.Tensor:
        """(B, samples) → the normalised log-mel (B, frames, mel_bins) this vocoder turns back into sound."""
        mel = self.magnitudes(waveform) @ self.filters
        if frames is not None:
            mel = mel[:, :frames]
        return (torch.log(mel + self.config.floor) - self.config.log_offset) / self.config.log_scale

    @torch.no_grad()
    def fit(self, waveforms: torch.Tensor, ridge: float = 1e-3) -> float:
        """Fit the mel → linear projection to (B, samples) example sounds by ridge regression; return the
        relative error of the fitted magnitudes."""
        linear = self.magnitudes(waveforms).reshape(-1, self.filters.shape[0])
        mel = linear @ self.filters
        gram = mel.T @ mel + ridge * torch.eye(mel.shape[1]) * mel.pow(2).mean()
        self.inverse.copy_(torch.linalg.solve(gram, mel.T @ linear))
        error = float((mel @ self.inverse - linear).norm() / linear.norm())
        log.info("fitted the mel vocoder's inverse on %d frames: relative magnitude error %.3f", mel.shape[0], error)
        return error

    # synthesis --------------------------------------------------------------------------------

    @torch.no_grad()
    def forward(self, mel_spectrogram: torch.Tensor) -> torch.Tensor:
        """(B, frames, mel_bins) or (frames, mel_bins) normalised log-mel → (B, frames * hop) or (samples,)."""
        single = mel_spectrogram.dim() == 2
        mel = mel_spectrogram[None] if single else mel_spectrogram
        mel = torch.exp(mel.float() * self.config.log_scale + self.config.log_offset) - self.config.floor
        linear = torch.relu(mel.clamp(min=0.0) @ self.inverse.float()).transpose(1, 2)  # (B, freq, frames)
        waveform = self._griffin_lim(linear, (mel.shape[1] - 1) * self.hop_length)
        waveform = torch.nn.functional.pad(waveform, (0, self.hop_length))  # frames * hop samples, as HiFi-GAN
        return waveform[0] if single else waveform

    def _griffin_lim(self, magnitude: torch.Tensor, length: int) -> torch.Tensor:
        """Fast Griffin-Lim (Perraudin et al. 2013) with torch.stft/istft."""
        n_fft, hop, window = self.config.n_fft, self.hop_length, self.window.float().to(magnitude.device)
        generator = torch.Generator().manual_seed(0)
        angles = torch.exp(2j * np.pi * torch.rand(magnitude.shape, generator=generator)).to(magnitude.device)
        previous = torch.zeros_like(angles)
        waveform = torch.zeros(magnitude.shape[0], length, device=magnitude.device)
        for _ in range(self.config.griffin_lim_iterations):
            waveform = torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)
            rebuilt = torch.stft(waveform, n_fft, hop, window=window, return_complex=True)
            accelerated = rebuilt - self.config.momentum / (1 + self.config.momentum) * previous
            angles = accelerated / accelerated.abs().clamp(min=1e-8)
            previous = rebuilt
        return torch.istft(magnitude * angles, n_fft, hop, window=window, length=length)
