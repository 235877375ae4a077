"""Questions about a picture answered from what perception saw (scenes built by hand)."""

from models.perception import Detection, ImageClass, Scene, TextLine, ground
from models.perception.labels import plural, singular


def _scene(*detections: tuple[str, float], classes: tuple[tuple[str, str, float], ...] = (), text: str = "") -> Scene:
    found = tuple(Detection(label, 0.9, (x, 0.3, x + 0.2, 0.7)) for label, x in detections)
    lines = (TextLine(text, 0.9, (0.1, 0.1, 0.5, 0.2)),) if text else ()
    return Scene(found, tuple(ImageClass(*c) for c in classes), lines)


def test_presence_yes_and_no_with_synonyms() -> None:
    scene = _scene(("person", 0.05), ("dog", 0.7))
    assert ground(scene, "Is there a person?").answer == "Yes, I see a person (on the left)."
    assert ground(scene, "Is there anyone here?").answer.startswith("Yes")
    assert ground(scene, "Do you see a man?").answer.startswith("Yes")
    no = ground(scene, "Is there a cat?").answer
    assert no.startswith("No, I don't see a cat.") and "a dog (on the right)" in no


def test_counts_say_the_number_and_zero() -> None:
    scene = _scene(("cup", 0.0), ("cup", 0.4), ("cup", 0.75), ("bowl", 0.4))
    assert ground(scene, "How many cups are there?").answer.startswith("I count three cups")
    assert ground(scene, "how many mugs?").answer.startswith("I count three cups")
    assert ground(scene, "How many red cups do you see?").answer.startswith("I count three cups")
    assert ground(scene, "How many bowls?").answer.startswith("I count one bowl")
    assert ground(scene, "How many people are there?").answer == "I don't see any people."


def test_where_and_what_it_says() -> None:
    scene = _scene(("dog", 0.75), text="OPEN 24 HOURS")
    assert ground(scene, "Where is the dog?").answer == "The dog is on the right."
    assert ground(scene, "What does the sign say?").answer == 'It says "OPEN 24 HOURS".'
    assert ground(_scene(("dog", 0.4)), "What does the sign say?").answer == "I can't read any text in it."
    assert ground(scene, "Is there any text on it?").answer == 'It says "OPEN 24 HOURS".'
    assert ground(scene, "Are there any signs?").answer == 'It says "OPEN 24 HOURS".'


def test_what_is_in_it_names_the_classifier_kind_when_nothing_is_detected() -> None:
    scene = _scene(classes=(("red fox", "fox", 0.8),))
    answer = ground(scene, "What is in this picture?").answer
    assert answer == "I see a fox. It looks like a red fox."
    unsure = _scene(classes=(("drilling platform", "drilling platform", 0.1), ("missile", "missile", 0.09)))
    assert "might be a drilling platform or a missile" in ground(unsure, "What's this?").answer


def test_questions_that_name_no_thing_are_not_answered_with_one() -> None:
    scene = _scene(("dog", 0.4))
    for question in ("Is there anything here?", "Do you see something?"):
        assert ground(scene, question).answer == "I see a dog (in the centre)."
    assert "you" not in ground(scene, "Where are you?").answer


def test_open_questions_go_to_the_llm_with_the_description() -> None:
    grounding = ground(_scene(("cat", 0.4)), "Is it cute?")
    assert grounding.answer == ""
    assert "a cat (in the centre)" in grounding.context


def test_plurals_and_singulars() -> None:
    assert [plural(w) for w in ("cup", "person", "bus", "knife", "cherry", "wine glass")] == [
        "cups", "people", "buses", "knives", "cherries", "wine glasses"]
    assert [singular(w) for w in ("cups", "people", "mugs", "buses", "puppies", "glass")] == [
        "cup", "person", "cup", "bus", "dog", "wine glass"]


def test_words_found_apart_on_a_tilted_sign_read_left_to_right() -> None:
    from models.perception.ocr import reading_order

    room = TextLine("Room", 0.9, (0.10, 0.42, 0.30, 0.52))
    number = TextLine("204", 0.9, (0.35, 0.40, 0.50, 0.50))  # a little higher: the sign is tilted
    below = TextLine("Staff only", 0.9, (0.10, 0.60, 0.50, 0.70))
    assert [t.text for t in reading_order([below, number, room])] == ["Room", "204", "Staff only"]


def test_a_page_of_text_is_called_one() -> None:
    lines = tuple(TextLine(f"line {i} of a letter", 0.9, (0.1, 0.1 + 0.15 * i, 0.9, 0.2 + 0.15 * i))
                  for i in range(4))
    page = Scene((), (ImageClass("pill bottle", "bottle", 0.4),), lines)
    assert ground(page, "What is in this picture?").answer.startswith("I see a page of text. The text in it reads")
    sign = Scene((), (), lines[:1])
    assert "page" not in ground(sign, "What is this?").answer


def test_text_is_read_only_for_questions_that_may_need_it() -> None:
    from models.perception import needs_text

    assert not needs_text("Is there a person?") and not needs_text("How many cups are there?")
    assert not needs_text("Where is the dog?")
    for question in ("What does the sign say?", "What is in this picture?", "Is it cute?", "",
                     "Is there any text on the box?"):
        assert needs_text(question), question
