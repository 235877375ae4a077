"""Asking for a video or audio file to stand in for the camera or the microphone."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.webm *.avi *.mpg *.mpeg *.ts *.flv *.gif);;All files (*)"
AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.oga *.opus *.mp3 *.m4a *.aac *.aif *.aiff);;All files (*)"


def ask_for_video_file(parent: QWidget) -> str | None:
    """A video file to stand in for the camera; None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a video file", "", VIDEO_FILTER)
    return path or None


def ask_for_audio_file(parent: QWidget) -> str | None:
    """An audio file to stand in for the microphone; None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(parent, "Choose an audio file", "", AUDIO_FILTER)
    return path or None
