"""Errors a user can cause. Each message says what was wrong and what to do."""


class InputError(Exception):
    """A problem with what the user gave us (a file, a payload, a profile name)."""


class MediaError(InputError):
    """A media input that cannot be used: missing, empty, corrupt, unsupported, too large."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class ProfileError(InputError):
    """An unknown profile, or a profile file that does not say what it must."""


class WeightsMissingError(InputError):
    """A role's weights are not where its profile says, and cannot be fetched here."""
