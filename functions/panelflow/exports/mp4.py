"""MP4 (H.264 video, AAC audio): each panel on screen for as long as its audio plays.

ffmpeg does the encoding, run as a separate program (never linked): in production the
``ffmpeg`` of the Cloud Functions runtime image (Ubuntu's package, part of every runtime);
locally Debian's ``ffmpeg``, which scripts/bootstrap.sh installs; ``PANELFLOW_FFMPEG``
names another binary, and the optional ``ffmpeg`` extra (imageio-ffmpeg, a GPL build)
provides one where neither exists. See docs/exports.md for the licensing decision.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

from panelflow.domain.errors import ConfigurationError, ProviderError
from panelflow.exports import Comic, ComicPanel, Progress, no_progress

FRAME_SIZE = (1280, 720)
FRAME_RATE = 10  # still pictures: few frames, small files
# A panel with nothing to say stays on screen this long, with silence.
SILENT_PANEL_SECONDS = 3.0
AUDIO_RATE = 44_100
TIMEOUT_S = 300
# H.264 encoders in order of preference: x264 (Debian's and Ubuntu's ffmpeg), OpenH264.
H264_ENCODERS = ("libx264", "libopenh264")


class ExportFailed(ProviderError):
    """The export could not be written; the message says why, for the user."""

    code = "export_failed"


def find_ffmpeg(configured: str = "") -> str:
    """The ffmpeg binary: ``configured``, else ``ffmpeg`` on PATH, else imageio-ffmpeg's.

    Raises:
        ConfigurationError: none can be found.
    """
    if configured:
        return configured
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # optional extra (gpl-ffmpeg)

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        raise ConfigurationError(
            "MP4 export needs ffmpeg: install it (apt-get install ffmpeg) or set PANELFLOW_FFMPEG",
            field="PANELFLOW_FFMPEG",
        ) from None


@functools.lru_cache(maxsize=4)
def h264_encoder(ffmpeg: str) -> str:
    """The first H.264 encoder this ffmpeg has.

    Raises:
        ConfigurationError: it has none.
    """
    listing = _run([ffmpeg, "-hide_banner", "-encoders"]).stdout.decode(errors="replace")
    for name in H264_ENCODERS:
        if f" {name} " in listing:
            return name
    raise ConfigurationError(f"{ffmpeg} has no H.264 encoder", field="PANELFLOW_FFMPEG")


def panel_seconds(panel: ComicPanel) -> float:
    """How long a panel stays on screen: its audio's duration, or the silent default."""
    if panel.audio and panel.audio_duration_ms:
        return panel.audio_duration_ms / 1000
    return SILENT_PANEL_SECONDS


def write_mp4(comic: Comic, ffmpeg: str, progress: Progress = no_progress) -> bytes:
    """The comic as a video: one segment per panel, joined without re-encoding."""
    encoder = h264_encoder(ffmpeg)
    with tempfile.TemporaryDirectory(prefix="panelflow-mp4-") as folder:
        work = Path(folder)
        segments = []
        for number, panel in enumerate(comic.panels, start=1):
            segments.append(_segment(ffmpeg, encoder, work, number, panel))
            progress(0.9 * number / len(comic.panels))
        listing = work / "segments.txt"
        listing.write_text("".join(f"file '{segment.name}'\n" for segment in segments))
        output = work / "comic.mp4"
        _run(
            [
                ffmpeg,
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                str(listing),
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                "-metadata",
                f"title={comic.title}",
                "-metadata",
                f"language={comic.language}",
                str(output),
            ]
        )
        progress(1.0)
        return output.read_bytes()


def _segment(ffmpeg: str, encoder: str, work: Path, number: int, panel: ComicPanel) -> Path:
    frame = work / f"frame-{number:03d}.png"
    _frame(panel.image).save(frame)
    seconds = f"{panel_seconds(panel):.3f}"
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
               "-loop", "1", "-framerate", str(FRAME_RATE), "-i", str(frame)]  # fmt: skip
    if panel.audio and panel.audio_duration_ms:
        audio = work / f"audio-{number:03d}"
        audio.write_bytes(panel.audio)
        command += ["-i", str(audio)]
    else:
        command += ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=mono"]
    segment = work / f"segment-{number:03d}.mp4"
    command += [
        # Pad short audio with silence, so audio and picture both last exactly ``seconds``.
        "-filter_complex", f"[1:a]aresample={AUDIO_RATE},apad[a]",
        "-map", "0:v", "-map", "[a]", "-t", seconds,
        "-c:v", encoder, "-pix_fmt", "yuv420p", "-r", str(FRAME_RATE),
        "-c:a", "aac", "-b:a", "96k", "-ac", "1", "-ar", str(AUDIO_RATE),
        str(segment),
    ]  # fmt: skip
    if encoder == "libx264":
        command[-1:-1] = ["-preset", "veryfast", "-tune", "stillimage"]
    _run(command)
    return segment


def _frame(image: Image.Image) -> Image.Image:
    """The panel centred on a black 16:9 frame (H.264 wants even sides)."""
    frame = Image.new("RGB", FRAME_SIZE, "black")
    scale = min(FRAME_SIZE[0] / image.width, FRAME_SIZE[1] / image.height)
    size = (round(image.width * scale) // 2 * 2, round(image.height * scale) // 2 * 2)
    resized = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    frame.paste(resized, ((FRAME_SIZE[0] - size[0]) // 2, (FRAME_SIZE[1] - size[1]) // 2))
    return frame


def _run(command: list[str]) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(command, capture_output=True, check=True, timeout=TIMEOUT_S)
    except FileNotFoundError:
        raise ConfigurationError(
            f"ffmpeg not found at {command[0]}", field="PANELFLOW_FFMPEG"
        ) from None
    except subprocess.TimeoutExpired:
        raise ExportFailed("making the video took too long") from None
    except subprocess.CalledProcessError as error:
        detail = error.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ExportFailed(f"the video could not be made ({detail[0][:200]})") from None
