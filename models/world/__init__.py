"""The synthetic world: a tiny exact world of shapes, tones and moving shapes that trains and judges a model.

`attributes` says what the world holds, `render` draws it, `analysers` judge media by measuring
them, `records` words NExT-GPT training records about it and `dataset` writes a whole world.
`evaluation` scores a model on a world's held-out split (with `judges`, into a `report`).

This is the research side's facade: the `world` and `eval` commands import from here; the runtime's
facade (`models`) does not export it. What needs torch imports on first use.
"""

from typing import TYPE_CHECKING

from models.lazy_exports import lazy_getattr
from models.world.analysers import (
    analyse_image,
    analyse_sound,
    analyse_video,
    image_traits,
    sound_traits,
    video_traits,
)
from models.world.attributes import (
    COLOURS,
    DIRECTIONS,
    PATTERNS,
    PITCHES,
    SHAPES,
    Attributes,
    ImageAttributes,
    SoundAttributes,
    VideoAttributes,
    parse_caption,
)
from models.world.dataset import WorldManifest, generate_world, load_manifest
from models.world.render import (
    render_image,
    render_sound,
    render_video,
    sample_image_attributes,
    sample_sound_attributes,
    sample_video_attributes,
)

_LAZY = {
    "WorldReport": ".report", "format_table": ".report",
    "evaluate_world": ".evaluation", "open_world": ".evaluation",
    "evaluate_decoders": ".decoder_evaluation", "format_decoder_table": ".decoder_evaluation",
    "train_world_into": ".build", "refit_decoder": ".refit",
}

if TYPE_CHECKING:
    from .build import train_world_into
    from .decoder_evaluation import evaluate_decoders, format_decoder_table
    from .evaluation import evaluate_world, open_world
    from .refit import refit_decoder
    from .report import WorldReport, format_table


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


__all__ = [
    "COLOURS",
    "DIRECTIONS",
    "PATTERNS",
    "PITCHES",
    "SHAPES",
    "Attributes",
    "ImageAttributes",
    "SoundAttributes",
    "VideoAttributes",
    "WorldManifest",
    "WorldReport",
    "analyse_image",
    "analyse_sound",
    "analyse_video",
    "evaluate_decoders",
    "evaluate_world",
    "format_decoder_table",
    "format_table",
    "generate_world",
    "image_traits",
    "load_manifest",
    "open_world",
    "parse_caption",
    "refit_decoder",
    "render_image",
    "render_sound",
    "render_video",
    "sample_image_attributes",
    "sample_sound_attributes",
    "sample_video_attributes",
    "sound_traits",
    "train_world_into",
    "video_traits",
]
