"""The label sets the eyes know: COCO's 80 objects (the detector) and ImageNet's 1,000 classes
(the classifier), each ImageNet class with the everyday word a person would use for it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

#: COCO class ids as the TensorFlow SSD models number them (1-90, ten ids unused).
COCO_LABELS: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck",
    9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter", 15: "bench",
    16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear",
    24: "zebra", 25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase",
    34: "frisbee", 35: "skis", 36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat",
    40: "baseball glove", 41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle",
    46: "wine glass", 47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple",
    54: "sandwich", 55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza", 60: "donut",
    61: "cake", 62: "chair", 63: "couch", 64: "potted plant", 65: "bed", 67: "dining table", 70: "toilet",
    72: "tv", 73: "laptop", 74: "mouse", 75: "remote", 76: "keyboard", 77: "cell phone", 78: "microwave",
    79: "oven", 80: "toaster", 81: "sink", 82: "refrigerator", 84: "book", 85: "clock", 86: "vase",
    87: "scissors", 88: "teddy bear", 89: "hair drier", 90: "toothbrush",
}

#: ImageNet index ranges (inclusive) whose fine names ("Egyptian cat", "Border collie") a person
#: would call by one word. ImageNet's order groups kinds together, so ranges cover them.
_IMAGENET_KINDS: tuple[tuple[int, int, str], ...] = (
    (0, 0, "fish"), (1, 1, "goldfish"), (2, 4, "shark"), (5, 6, "ray"), (7, 8, "chicken"), (9, 9, "ostrich"),
    (10, 24, "bird"), (25, 29, "salamander"), (30, 32, "frog"), (33, 37, "turtle"), (38, 48, "lizard"),
    (49, 50, "crocodile"), (51, 51, "dinosaur"), (52, 68, "snake"), (70, 70, "spider"), (71, 71, "scorpion"),
    (72, 77, "spider"), (80, 100, "bird"), (101, 101, "elephant"), (105, 105, "koala"), (107, 107, "jellyfish"),
    (113, 114, "snail"), (118, 121, "crab"), (122, 124, "lobster"), (127, 143, "bird"), (144, 144, "pelican"),
    (145, 145, "penguin"), (146, 146, "bird"), (147, 148, "whale"), (150, 150, "sea lion"), (151, 268, "dog"),
    (269, 272, "wolf"), (273, 275, "wild dog"), (276, 276, "hyena"), (277, 280, "fox"), (281, 285, "cat"),
    (286, 286, "cougar"), (287, 287, "lynx"), (288, 289, "leopard"), (290, 290, "jaguar"), (291, 291, "lion"),
    (292, 292, "tiger"), (293, 293, "cheetah"), (294, 297, "bear"), (300, 308, "beetle"), (309, 309, "bee"),
    (310, 310, "ant"), (311, 312, "grasshopper"), (319, 320, "dragonfly"), (321, 326, "butterfly"),
    (327, 327, "starfish"), (330, 332, "rabbit"), (333, 333, "hamster"), (335, 335, "squirrel"),
    (338, 338, "guinea pig"), (339, 339, "horse"), (340, 340, "zebra"), (341, 343, "pig"),
    (344, 344, "hippopotamus"), (345, 347, "cow"), (348, 350, "sheep"), (351, 353, "antelope"),
    (354, 354, "camel"), (355, 355, "llama"), (360, 360, "otter"), (365, 368, "ape"), (369, 384, "monkey"),
    (385, 386, "elephant"), (387, 387, "red panda"), (388, 388, "panda"), (389, 397, "fish"),
)

#: Everyday words for groups of ImageNet's object classes (by their first name), so that a photo
#: of a car is "a car" whichever of eight car classes wins, and their probabilities add up.
_IMAGENET_OBJECT_KINDS: dict[str, tuple[str, ...]] = {
    "building": ("palace", "monastery", "church", "mosque", "bell cote", "dome", "castle", "boathouse", "stupa",
                 "library", "cinema", "planetarium", "barn", "greenhouse", "prison", "restaurant", "bakery",
                 "barbershop", "bookshop", "butcher shop", "grocery store", "shoe shop", "tobacco shop", "toyshop",
                 "confectionery", "cliff dwelling", "thatch", "tile roof", "lumbermill", "water tower"),
    "car": ("sports car", "convertible", "cab", "limousine", "minivan", "jeep", "beach wagon", "racer", "Model T",
            "car wheel", "grille"),
    "truck": ("garbage truck", "tow truck", "trailer truck", "fire engine", "pickup", "moving van", "police van"),
    "bus": ("school bus", "minibus", "trolleybus"),
    "train": ("passenger car", "electric locomotive", "steam locomotive", "bullet train", "freight car", "streetcar"),
    "boat": ("canoe", "catamaran", "fireboat", "gondola", "lifeboat", "speedboat", "yawl", "trimaran", "schooner",
             "paddlewheel"),
    "ship": ("container ship", "liner", "aircraft carrier"),
    "airplane": ("airliner", "warplane", "wing"),
    "bicycle": ("mountain bike", "bicycle-built-for-two"),
    "clock": ("analog clock", "wall clock", "digital clock"),
    "watch": ("digital watch", "stopwatch"),
    "phone": ("cellular telephone", "dial telephone", "pay-phone"),
    "computer": ("desktop computer", "laptop", "notebook", "hand-held computer"),
    "screen": ("monitor", "screen"),
    "keyboard": ("computer keyboard", "typewriter keyboard", "space bar"),
    "chair": ("barber chair", "folding chair", "rocking chair", "throne"),
    "table": ("desk", "dining table"),
    "bed": ("four-poster", "crib", "cradle", "bassinet"),
    "sofa": ("studio couch",),
    "shoe": ("running shoe", "Loafer", "sandal", "clog", "cowboy boot"),
    "hat": ("cowboy hat", "sombrero", "bonnet", "mortarboard"),
    "bag": ("backpack", "purse", "mailbag", "plastic bag"),
    "ball": ("soccer ball", "tennis ball", "basketball", "volleyball", "golf ball", "rugby ball", "baseball",
             "croquet ball", "ping-pong ball"),
    "bottle": ("beer bottle", "wine bottle", "water bottle", "pop bottle", "pill bottle"),
    "cup": ("coffee mug", "cup"),
    "coffee": ("espresso",),
    "guitar": ("acoustic guitar", "electric guitar"),
    "piano": ("grand piano", "upright"),
    "bridge": ("steel arch bridge", "suspension bridge", "viaduct"),
    "fence": ("chainlink fence", "picket fence", "worm fence"),
    "gun": ("assault rifle", "rifle", "revolver"),
    "lamp": ("table lamp", "lampshade"),
    "apple": ("Granny Smith",),
    "mushroom": ("mushroom", "agaric", "gyromitra", "stinkhorn", "earthstar", "hen-of-the-woods", "bolete",
                 "coral fungus"),
    "flower": ("daisy", "yellow lady's slipper"),
    "squash": ("spaghetti squash", "acorn squash", "butternut squash"),
    "burger": ("cheeseburger",),
    "television": ("television",),
}
_OBJECT_KIND_OF = {name: kind for kind, names in _IMAGENET_OBJECT_KINDS.items() for name in names}

#: Words people use for a label, so "is there a man?" finds a person and "mugs" finds cups.
SYNONYMS: dict[str, str] = {
    "people": "person", "man": "person", "men": "person", "woman": "person", "women": "person",
    "child": "person", "children": "person", "kid": "person", "kids": "person", "boy": "person",
    "girl": "person", "human": "person", "humans": "person", "someone": "person", "anyone": "person",
    "somebody": "person", "anybody": "person", "face": "person", "faces": "person", "baby": "person",
    "mug": "cup", "mugs": "cup", "sofa": "couch", "television": "tv", "phone": "cell phone",
    "smartphone": "cell phone", "mobile": "cell phone", "bike": "bicycle", "motorbike": "motorcycle",
    "puppy": "dog", "puppies": "dog", "kitten": "cat", "kitty": "cat", "table": "dining table",
    "plane": "airplane", "aeroplane": "airplane", "ball": "sports ball", "plant": "potted plant",
    "fridge": "refrigerator", "computer": "laptop", "doughnut": "donut", "teddy": "teddy bear",
    "glass": "wine glass", "automobile": "car", "lorry": "truck", "ship": "boat", "calf": "cow",
    "cattle": "cow", "lamb": "sheep", "pony": "horse", "hairdryer": "hair drier",
}

_IRREGULAR_PLURALS = {"person": "people", "knife": "knives", "mouse": "mice", "sheep": "sheep", "skis": "skis",
                      "fish": "fish", "scissors": "scissors", "cattle": "cattle", "wolf": "wolves"}


def plural(label: str) -> str:
    """"cup" -> "cups", "person" -> "people", "bus" -> "buses"; the last word of a phrase."""
    head, _, last = label.rpartition(" ")
    if last in _IRREGULAR_PLURALS:
        word = _IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def singular(word: str) -> str:
    """The label a noun of a question names: "mugs" -> "cup", "people" -> "person"."""
    word = word.lower().strip(" ?.!,'\"")
    if word in SYNONYMS:
        return SYNONYMS[word]
    for label, many in _IRREGULAR_PLURALS.items():
        if word == many:
            return label
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def imagenet_kind(index: int, fine_name: str) -> str:
    """The everyday word for ImageNet class `index`: its kind's word where one is known ("cat" for
    "Egyptian cat", "car" for "beach wagon"), else the first of its own names ("tripod")."""
    for first, last, kind in _IMAGENET_KINDS:
        if first <= index <= last:
            return kind
    return _OBJECT_KIND_OF.get(fine_name, fine_name)


@cache
def read_imagenet_names(path: Path) -> tuple[str, ...]:
    """ImageNet's 1,000 class names, one line each ("tabby, tabby cat"), first synonym kept."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(lines) != 1000:
        raise ValueError(f"{path} holds {len(lines)} class names, not ImageNet's 1,000")
    return tuple(line.split(",")[0].strip() for line in lines)
