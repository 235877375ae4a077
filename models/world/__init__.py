"""The synthetic world: a tiny exact world of shapes, tones and moving shapes that trains and judges a model.

`attributes` says what the world holds, `render` draws it, `analysers` judge media by measuring
them, `records` words NExT-GPT training records about it and `dataset` writes a whole world.
`evaluation` scores a model on a world's held-out split (with `judges`, into a `report`); it needs
torch, so it is imported from there (or through `models`), not from here.
"""

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
    "image_traits",
    "load_manifest",
    "parse_caption",
    "render_image",
    "render_sound",
    "render_video",
    "sample_image_attributes",
    "sample_sound_attributes",
    "sample_video_attributes",
    "sound_traits",
    "video_traits",
]
