import numpy as np
import pytest

from models import (
    AudioData,
    GeneratedText,
    GenerationCancelled,
    ImageData,
    MediaResult,
    Modality,
    ModelRequest,
    ReplyDone,
    SignalEmitted,
    VideoData,
)


def _run(model, request, **kwargs):
    return list(model.respond(request, **kwargs))


def test_wanted_image_is_guaranteed_and_flagged_untrained(tiny_model):
    progress = []
    events = _run(tiny_model, ModelRequest(text="draw a red circle", want={Modality.IMAGE}),
                  on_progress=progress.append)
    media = [e for e in events if isinstance(e, MediaResult)]
    assert [m.modality for m in media] == [Modality.IMAGE]
    assert media[0].media.pixels.shape == (32, 32, 3)
    assert "image_decoder" in media[0].untrained_roles and "image_output_projector" in media[0].untrained_roles
    assert [p.step for p in progress] == [1, 2] and all(p.modality is Modality.IMAGE for p in progress)
    assert isinstance(events[-1], ReplyDone) and events[-1].timings_ms["decode_image_ms"] > 0
    assert any(isinstance(e, SignalEmitted) for e in events)


def test_every_output_modality_at_once(tiny_model):
    want = {Modality.IMAGE, Modality.AUDIO, Modality.VIDEO}
    media = [e for e in _run(tiny_model, ModelRequest(text="all", want=want)) if isinstance(e, MediaResult)]
    assert {m.modality for m in media} == want
    kinds = {m.modality: type(m.media) for m in media}
    assert kinds == {Modality.IMAGE: ImageData, Modality.AUDIO: AudioData, Modality.VIDEO: VideoData}


def test_text_only_when_only_text_is_wanted(tiny_model):
    events = _run(tiny_model, ModelRequest(text="hello", want={Modality.TEXT}))
    assert not any(isinstance(e, (MediaResult, SignalEmitted)) for e in events)
    done = events[-1]
    assert isinstance(done, ReplyDone)
    assert done.text == "".join(e.text for e in events if isinstance(e, GeneratedText)).strip()


def test_media_inputs_go_through_encoders_into_the_prompt(tiny_model):
    image = ImageData(np.zeros((40, 40, 3), np.uint8))
    audio = AudioData(np.zeros(16000, np.float32), 16000)
    video = VideoData(np.zeros((8, 32, 32, 3), np.uint8), 4.0)
    plain = _run(tiny_model, ModelRequest(text="what is this?", want={Modality.TEXT}))[-1]
    with_media = _run(tiny_model, ModelRequest(text="what is this?", media=[image, audio, video],
                                               want={Modality.TEXT}))[-1]
    # image and audio projectors pool to 4 tokens each; the video keeps its 8 frames
    assert with_media.timings_ms["prompt_tokens"] - plain.timings_ms["prompt_tokens"] >= 4 + 4 + 8


def test_cancelled_during_decoding(tiny_model):
    progress = []
    with pytest.raises(GenerationCancelled):
        _run(tiny_model, ModelRequest(text="draw", want={Modality.VIDEO}), on_progress=progress.append,
             should_stop=lambda: bool(progress))
    assert len(progress) == 1
