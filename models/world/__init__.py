"""The synthetic world: a tiny exact world of shapes, tones and moving shapes that trains and judges a model.

`attributes` says what the world holds, `render` draws it, `analysers` judge media by measuring
them, `records` words NExT-GPT training records about it and `dataset` writes a whole world.
"""

from models.world.analysers import analyse_image, analyse_sound, analyse_video
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
    "analyse_image",
    "analyse_sound",
    "analyse_video",
    "generate_world",
    "load_manifest",
    "parse_caption",
    "render_image",
    "render_sound",
    "render_video",
    "sample_image_attributes",
    "sample_sound_attributes",
    "sample_video_attributes",
]
