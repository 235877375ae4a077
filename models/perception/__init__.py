"""Real-world eyes: what is in a photo or a camera frame, from real packaged weights.

The world encoder reads only the synthetic world's drawings; everything else a user shows the
assistant goes through perception, and the gate (`is_world_drawing`) decides which applies."""

from .classifier import ImageClass, ImageClassifier
from .detector import Detection, ObjectDetector
from .gate import is_world_drawing
from .grounding import Grounding, ground, needs_text
from .ocr import TextLine, TextReader
from .perceiver import Perceiver
from .scene import Scene
from .tracker import SceneTracker

__all__ = [
    "Detection", "Grounding", "ImageClass", "ImageClassifier", "ObjectDetector", "Perceiver", "Scene", "SceneTracker",
    "TextLine", "TextReader", "ground", "is_world_drawing", "needs_text",
]
