"""What the eyes saw in one image: objects (with counts and where they are), the likeliest
ImageNet classes, and the text read. It describes itself in words the LLM can repeat."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..wording import in_words
from .classifier import ImageClass
from .detector import Detection
from .labels import plural
from .ocr import TextLine

#: A classifier guess at or above this probability is named as what the picture looks like, when its
#: likeliest class alone has at least half of it (118 dog breeds' noise adds up on a lawn).
CLASS_MIN = 0.2
#: A classifier guess the detector did not back is said as seen ("I see a fox") from this probability,
#: and as a likeness ("It looks like a fox") below it.
CLASS_SURE = 0.5
#: Below CLASS_MIN, guesses at or above this are offered as "it might be" when nothing else was found.
GUESS_MIN = 0.08
#: Things that are usually where the subject is, not the subject: named after the others.
BACKDROP = frozenset({"dining table", "bed", "couch", "bench", "chair", "tv", "refrigerator", "oven", "sink"})
_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def with_article(phrase: str) -> str:
    return ("an " if phrase[:1].lower() in "aeiou" else "a ") + phrase


def counted(label: str, count: int, numeral: bool = False) -> str:
    """"a cup" (or "one cup" as a count), "two cups", "12 cups"."""
    if count == 1:
        return f"one {label}" if numeral else with_article(label)
    number = _NUMBERS[count] if count < len(_NUMBERS) else str(count)
    return f"{number} {plural(label)}"


def position(detection: Detection) -> str:
    """Where an object is, in the words a person uses: side by its centre, near or far by its size."""
    x = detection.centre_x
    side = "on the left" if x < 0.36 else "on the right" if x > 0.64 else "in the centre"
    if detection.area > 0.45:
        return f"{side}, close up"
    if detection.area < 0.02:
        return f"{side}, far away"
    return side


@dataclass(frozen=True)
class SceneObject:
    """Every detection of one label, biggest first."""

    label: str
    detections: tuple[Detection, ...]

    @property
    def count(self) -> int:
        return len(self.detections)

    @property
    def where(self) -> str:
        places = list(dict.fromkeys(position(d).split(",")[0] for d in self.detections))
        if self.count == 1:
            return position(self.detections[0])
        return " and ".join(places) if len(places) <= 2 else "all over the picture"

    def phrase(self) -> str:
        return f"{counted(self.label, self.count)} ({self.where})"


@dataclass(frozen=True)
class Scene:
    """One image perceived. Boxes are fractions of the image, so the scene holds at any size."""

    detections: tuple[Detection, ...] = ()
    classes: tuple[ImageClass, ...] = ()
    text: tuple[TextLine, ...] = ()
    read_text: bool = True  # False when OCR was not run (a live frame between turns)
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def objects(self) -> list[SceneObject]:
        """Detections grouped by label, the label with the biggest object first (furniture and
        other backdrops after the rest)."""
        groups: dict[str, list[Detection]] = {}
        for detection in sorted(self.detections, key=lambda d: (d.label in BACKDROP, -d.area)):
            groups.setdefault(detection.label, []).append(detection)
        return [SceneObject(label, tuple(found)) for label, found in groups.items()]

    @property
    def likely(self) -> ImageClass | None:
        """The classifier's top class when it is sure enough to name it."""
        top = self.classes[0] if self.classes else None
        return top if top is not None and top.score >= CLASS_MIN and top.best >= CLASS_MIN / 2 else None

    @property
    def words(self) -> str:
        return " ".join(line.text for line in self.text)

    @property
    def is_document(self) -> bool:
        """Mostly text: at least three lines covering a fifth of the picture (a page, a screen of
        text, a letter), which neither the detector nor the classifier has a name for."""
        area = sum((line.box[2] - line.box[0]) * (line.box[3] - line.box[1]) for line in self.text)
        return len(self.text) >= 3 and area >= 0.2

    def find(self, label: str) -> SceneObject | None:
        return next((o for o in self.objects if o.label == label), None)

    def count(self, label: str) -> int:
        found = self.find(label)
        if found is not None:
            return found.count
        return 1 if self.looks_like(label) else 0

    def looks_like(self, label: str) -> bool:
        """Whether the classifier's named class is `label` (its everyday word or its own name)."""
        likely = self.likely
        return likely is not None and label in (likely.kind.lower(), likely.name.lower())

    def _unbacked(self) -> ImageClass | None:
        """The classifier's named kind when the detector found no such object."""
        likely = self.likely
        return likely if likely is not None and self.find(likely.kind) is None and not self.is_document else None

    def things(self) -> list[str]:
        """What is in the picture, most prominent first: "a cat (in the centre, close up)", ..."""
        things = [o.phrase() for o in self.objects]
        unbacked = self._unbacked()
        if unbacked is not None and unbacked.score >= CLASS_SURE:
            things.insert(0 if not things else 1, with_article(unbacked.kind))
        if self.is_document:
            things.insert(0, "a page of text")
        return things

    def looks(self) -> str:
        """"It looks like an Egyptian cat." when the classifier says more than the objects do,
        or is the only one to name something and is not sure of it."""
        likely = self.likely
        if likely is None or self.is_document:
            return ""
        unbacked = self._unbacked()
        if unbacked is not None and unbacked.score < CLASS_SURE:
            detail = f" ({with_article(likely.name)})" if likely.name.lower() != likely.kind.lower() else ""
            return f"It looks like {with_article(likely.kind)}{detail}."
        if likely.name.lower() == likely.kind.lower():
            return ""
        return f"It looks like {with_article(likely.name)}."

    def guesses(self) -> list[str]:
        return [c.kind for c in self.classes[:2] if c.score >= GUESS_MIN and c.best >= GUESS_MIN / 2]

    def summary(self) -> str:
        """What is in it in a sentence or two, "" when nothing was recognised."""
        listed = in_words(self.things())
        return " ".join(part for part in (f"I see {listed}." if listed else "", self.looks()) if part)

    def text_sentence(self, say_no_text: bool = True) -> str:
        if not self.read_text:
            return ""
        if self.text:
            return f'The text in it reads: "{self.words}".'
        return "There is no text I can read in it." if say_no_text else ""

    def describe(self, say_no_text: bool = True) -> str:
        """The grounded description: what the prompt carries, and the answer to "what is in it?"."""
        summary = self.summary()
        if not summary:
            guesses = self.guesses()
            summary = "I can't make out any object I know in it" + (
                f"; it might be {' or '.join(with_article(g) for g in guesses)}." if guesses else ".")
        return " ".join(part for part in (summary, self.text_sentence(say_no_text)) if part)

    def as_dict(self) -> dict[str, object]:
        """Machine-readable, for MQTT replies (Frigate-style `label`, `score`, `box`)."""
        return {
            "detections": [d.as_dict() for d in self.detections],
            "classes": [{"label": c.kind, "name": c.name, "score": round(c.score, 3)} for c in self.classes[:3]],
            "text": [line.text for line in self.text],
        }
