"""Small data factories shared by tests of different domains."""

from __future__ import annotations

import io
import wave
import zipfile

import numpy as np


def pcm_wav(frames: np.ndarray, rate: int) -> bytes:
    """A 16-bit PCM WAV file of `frames` (time, or time x channels, int16)."""
    pcm = np.asarray(frames, dtype="<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1 if pcm.ndim == 1 else pcm.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return out.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip archive holding `files` (name: content)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def csv_sample(values: list[float], interval_ms: float = 10.0) -> bytes:
    """A one-axis CSV sample: a timestamp column in milliseconds and the values."""
    rows = "".join(f"{i * interval_ms:g},{v}\n" for i, v in enumerate(values))
    return f"timestamp,x\n{rows}".encode()


def upload_csvs(client, project_id: int, headers, files: dict[str, bytes], category: str) -> None:  # type: ignore[no-untyped-def]
    """Uploads CSV samples (labelled by their name up to the first '.') into one category."""
    answer = client.post(
        f"/api/projects/{project_id}/samples/upload", headers=headers, data={"category": category},
        files=[("files", (name, body, "text/csv")) for name, body in files.items()],
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
