"""What came into and left the camera's view, confirmed over two samples."""

from models.perception import Detection, Scene, SceneTracker


def _scene(*labels: str) -> Scene:
    return Scene(tuple(Detection(label, 0.9, (0.05 + 0.1 * i, 0.2, 0.25 + 0.1 * i, 0.8))
                       for i, label in enumerate(labels)))


def test_arrivals_and_departures_are_said_once_each() -> None:
    tracker = SceneTracker()
    said = [tracker.update(s) for s in (_scene(), _scene("dog"), _scene("dog"), _scene("dog"),
                                        _scene("dog", "person"), _scene("dog", "person"), _scene("person"),
                                        _scene("person"), _scene("person"))]
    assert [n for news in said for n in news] == [
        "A dog came in, on the left.", "A person came in, on the left.", "The dog left."]


def test_a_one_frame_miss_or_ghost_is_not_news() -> None:
    tracker = SceneTracker()
    for scene in (_scene("cat"), _scene("cat")):
        tracker.update(scene)
    flicker = [tracker.update(s) for s in (_scene(), _scene("cat"), _scene("cat", "bird"), _scene("cat"))]
    assert flicker == [[], [], [], []]


def test_counts_going_up_and_down() -> None:
    tracker = SceneTracker()
    for scene in (_scene("cup"), _scene("cup")):
        tracker.update(scene)
    assert tracker.update(_scene("cup", "cup", "cup")) == []
    assert tracker.update(_scene("cup", "cup", "cup")) == ["Two cups came in, on the left."]
    tracker.update(_scene("cup"))
    assert tracker.update(_scene("cup")) == ["Two cups left."]
