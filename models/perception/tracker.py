"""Objects entering and leaving a camera's view, over the frames a live window samples.

A detector misses an object in one frame and imagines one in the next; a change is news only
when `confirm` samples in a row agree on it, so narration says "a dog came in" once, not every
time the dog turns its head."""

from __future__ import annotations

from collections import Counter

from .scene import Scene, counted


class SceneTracker:
    def __init__(self, confirm: int = 2) -> None:
        self.confirm = confirm
        self.stable: Counter[str] = Counter()  # what is in view, as last confirmed, label by label
        self._recent: list[Counter[str]] = []

    def update(self, scene: Scene) -> list[str]:
        """Sentences for what came into or left the view with this scene ([] when nothing did).
        Each label's count changes once the last `confirm` samples agree on its new value."""
        self._recent = [*self._recent, Counter({o.label: o.count for o in scene.objects})][-self.confirm:]
        if len(self._recent) < self.confirm:
            return []
        news = []
        in_view = [o.label for o in scene.objects]  # the most prominent first
        for label in [*in_view, *sorted(set(self.stable) - set(in_view))]:
            seen = {counts[label] for counts in self._recent}
            if len(seen) != 1 or (now := seen.pop()) == self.stable[label]:
                continue
            before, self.stable[label] = self.stable[label], now
            if now > before:
                found = scene.find(label)
                where = f", {found.where}" if found is not None else ""
                news.append(f"{counted(label, now - before).capitalize()} came in{where}.")
            else:
                gone = f"The {label}" if now == 0 and before == 1 else counted(label, before - now).capitalize()
                news.append(f"{gone} left.")
        self.stable = +self.stable  # drop the zeros
        return news
