"""Evaluation videos stream to disk: memory stays flat in the number of frames."""

from __future__ import annotations

import numpy as np

from agent.video import VideoRecorder


def test_frames_stream_to_an_mp4_and_the_preview_stays_bounded(tmp_path):
    import imageio.v2 as imageio

    recorder = VideoRecorder(tmp_path / "v" / "clip.mp4", preview_frames=16, preview_size=32)
    frames = [np.full((96, 128, 3), i % 255, np.uint8) for i in range(300)]
    for frame in frames:
        recorder(frame)
    assert not (tmp_path / "v" / "clip.mp4").exists()  # written to a temp file until closed
    path = recorder.close()
    assert path.is_file() and not list((tmp_path / "v").glob(".*tmp*"))
    assert imageio.get_reader(path).count_frames() == 300
    assert 8 <= len(recorder.preview) <= 16
    assert max(recorder.preview[0].shape[:2]) <= 32
    recorder.add_to_tensorboard(tmp_path / "tb", "eval/clip")
    assert any((tmp_path / "tb").iterdir())
