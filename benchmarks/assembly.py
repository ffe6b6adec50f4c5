"""Time and memory of assemble_video against a plain moviepy assembly of the same inputs.

Run: .venv/bin/python benchmarks/assembly.py [--keep DIR]

Inputs: ten 5 s 1280x720 24 fps H.264 clips and three narrations (12, 18, 13 s, 24 kHz mono
like TTS output), made with ffmpeg's lavfi sources. Each contender runs in its own Python
subprocess, so memory is counted separately. Memory is reported two ways:
  tree peak  - the largest sum of RSS over the subprocess and all its descendants (ffmpeg
               children included), sampled from /proc every 20 ms by this parent process;
  rusage     - ru_maxrss of the subprocess itself and of its largest waited-for child
               (getrusage RUSAGE_SELF / RUSAGE_CHILDREN), exact but not summed; a child's
               figure counts from fork, so it is at least the Python parent's size then.
Time is the wall time of the assembly call inside the subprocess (imports excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from videobot.formats import VideoFormat  # noqa: E402
from videobot.media.ffmpeg import run_ffmpeg  # noqa: E402

NARRATION_SECONDS = (12, 18, 13)
SECTION_STARTS = (0, 15, 35)


def make_inputs(folder: Path) -> tuple[list[Path], list[Path]]:
    """Ten distinct test-pattern clips and three tones."""
    clips, narrations = [], []
    for i in range(10):
        clips.append(folder / f"clip-{i}.mp4")
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=24:d=5,hue=h={36 * i}",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
             "-g", "48", str(clips[-1])],
            what="making a benchmark clip",
        )
    for i, seconds in enumerate(NARRATION_SECONDS):
        narrations.append(folder / f"narration-{i}.wav")
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"sine=frequency={300 + 200 * i}:duration={seconds}",
             "-ar", "24000", "-ac", "1", str(narrations[-1])],
            what="making a benchmark narration",
        )
    return clips, narrations


def run_ours(clips: list[Path], narrations: list[Path], out: Path) -> None:
    from videobot.media.assembly import assemble_video

    assemble_video(clips, narrations, VideoFormat.LANDSCAPE, out)


def run_moviepy(clips: list[Path], narrations: list[Path], out: Path) -> None:
    from moviepy import AudioFileClip, CompositeAudioClip, VideoFileClip, concatenate_videoclips

    videos = [VideoFileClip(str(p)) for p in clips]
    voices = [
        AudioFileClip(str(p)).with_start(start)
        for p, start in zip(narrations, SECTION_STARTS, strict=True)
    ]
    final = concatenate_videoclips(videos).with_audio(CompositeAudioClip(voices))
    final.write_videofile(str(out), fps=24, codec="libx264", audio_codec="aac", logger=None)
    for clip in [*videos, *voices, final]:
        clip.close()


def child(which: str, folder: Path) -> None:
    """Inside the subprocess: run one contender and print its numbers as JSON."""
    clips = sorted(folder.glob("clip-*.mp4"))
    narrations = sorted(folder.glob("narration-*.wav"))
    out = folder / f"{which}.mp4"
    start = time.perf_counter()
    (run_ours if which == "ours" else run_moviepy)(clips, narrations, out)
    seconds = time.perf_counter() - start
    from videobot.media.probe import probe

    print(json.dumps({
        "seconds": seconds,
        "self_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "duration": probe(out).duration,
        "size": out.stat().st_size,
    }))


def _tree_rss_kb(pid: int) -> int:
    """Sum of VmRSS over pid and all its descendants, read from /proc."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next((int(line.split()[1]) for line in status.splitlines()
                           if line.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def measure(which: str, folder: Path) -> dict[str, float]:
    """Run one contender in a subprocess while sampling its process tree's memory."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", which, str(folder)],
        stdout=subprocess.PIPE, text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{which} failed with exit code {proc.returncode}")
    result: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    result["tree_peak_kb"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="make inputs and outputs in this folder")
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="assembly-bench-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        make_inputs(folder)
        print(f"inputs: 10 clips + 3 narrations made in {time.perf_counter() - started:.1f} s"
              f" ({os.cpu_count()} CPUs)")
        ours = measure("ours", folder)
        baseline = measure("moviepy", folder)
    for name, r in (("assemble_video", ours), ("moviepy", baseline)):
        print(f"{name:>15}: {r['seconds']:7.2f} s  output {r['duration']:.2f} s "
              f"{r['size'] / 1e6:5.1f} MB  tree peak RSS {r['tree_peak_kb'] / 1024:6.1f} MiB  "
              f"(rusage self {r['self_kb'] / 1024:.1f} MiB, "
              f"largest child {r['children_kb'] / 1024:.1f} MiB)")
    print(f"speed-up: {baseline['seconds'] / ours['seconds']:.1f}x")


if __name__ == "__main__":
    main()
