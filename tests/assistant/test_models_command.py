import io
import json

from assistant.cli.models_command import run_models


def test_models_reports_every_role_with_source_and_share(tiny_saved_profile):
    out = io.StringIO()
    assert run_models(str(tiny_saved_profile), as_json=True, stdout=out) == 0
    report = json.loads(out.getvalue())
    roles = {r["role"]: r for r in report["roles"]}
    for role in ("llm", "image_encoder", "audio_encoder", "video_encoder", "image_input_projector",
                 "image_output_projector", "image_decoder", "audio_decoder", "video_decoder", "asr", "tts", "vad"):
        assert role in roles, role
    assert roles["llm"]["parameters"] > 0 and roles["llm"]["trainable"] > 0
    assert roles["image_input_projector"]["trainable"] == roles["image_input_projector"]["parameters"]
    assert roles["image_decoder"]["trainable"] == 0 and not roles["image_decoder"]["trained"]
    assert roles["asr"]["trained"] and roles["asr"]["parameters"] is None
    assert 0 < report["trainable_share"] < 1
    assert report["output_routes"] == {"image": "projector", "audio": "projector", "video": "projector"}
    assert report["decoder_memory"] == "resident"


def test_models_table_names_untrained_roles(tiny_saved_profile):
    out = io.StringIO()
    run_models(str(tiny_saved_profile), as_json=False, stdout=out)
    text = out.getvalue()
    assert "trainable share" in text and "untrained (random weights):" in text and "image_decoder" in text
    assert "video decoder conditioned by its output projector" in text
    assert "decoders: each stays loaded once used (decoder_memory)" in text
