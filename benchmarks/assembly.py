"""Time and memory of assemble_video against a plain moviepy assembly of the same inputs.

Run: .venv/bin/python benchmarks/assembly.py [--keep DIR] [--plain-only]

Two comparisons: the plain join (clips stream-copied), and the full one: captions burned in,
a music bed under the voice, loudness normalised. For the full one ours makes its pad, ducks it
and normalises to -14 LUFS; moviepy composites one TextClip per phrase and lays the same pad
at a fifth of its volume under the voice (moviepy has no ducking or loudness normalisation,
so it does less work). Both get the same clips, narrations and phrases.

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
# One caption phrase every 2.5 s, Latin and Cyrillic, like the captions of a real video.
PHRASES = [
    (start, start + 2.4, ("Every river starts" if k % 2 else "Каждая река начинается") + f" {k}")
    for k, start in enumerate(x * 2.5 for x in range(20))
]
_ASS_HEAD = """[Script Info]
ScriptType: v4.00+
PlayResX: 1280
PlayResY: 720

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, \
Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, \
Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,DejaVu Sans,56,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,-1,0,0,0,100,100,\
0,0,1,3,0,2,40,40,60,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def write_captions(out: Path) -> Path:
    """The phrases as an .ass file, white bold text bottom-centre."""
    def stamp(t: float) -> str:
        return f"0:{int(t // 60):02d}:{t % 60:05.2f}"

    events = [f"Dialogue: 0,{stamp(a)},{stamp(b)},Default,,0,0,0,,{text}" for a, b, text in PHRASES]
    out.write_text(_ASS_HEAD + "\n".join(events) + "\n", encoding="utf-8")
    return out


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
    write_captions(folder / "captions.ass")
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


def run_ours_full(clips: list[Path], narrations: list[Path], out: Path) -> None:
    from videobot.media.assembly import assemble_video
    from videobot.media.music import make_music_bed

    bed = make_music_bed("calm", 50, out.parent / "ours-bed.wav", seed=1)
    assemble_video(clips, narrations, VideoFormat.LANDSCAPE, out, music=bed.path,
                   captions=out.parent / "captions.ass")


def run_moviepy_full(clips: list[Path], narrations: list[Path], out: Path) -> None:
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        concatenate_videoclips,
    )

    from videobot.media.fonts import find_font
    from videobot.media.music import make_music_bed

    bed = make_music_bed("calm", 50, out.parent / "moviepy-bed.wav", seed=1)
    videos = [VideoFileClip(str(p)) for p in clips]
    font = str(find_font(bold=True) or find_font())
    texts = [
        TextClip(font=font, text=text, font_size=56, color="white", stroke_color="black",
                 stroke_width=3).with_start(a).with_duration(b - a).with_position(("center", 600))
        for a, b, text in PHRASES
    ]
    voices = [
        AudioFileClip(str(p)).with_start(start)
        for p, start in zip(narrations, SECTION_STARTS, strict=True)
    ]
    music = AudioFileClip(str(bed.path)).with_volume_scaled(0.2)
    picture = CompositeVideoClip([concatenate_videoclips(videos), *texts])
    final = picture.with_audio(CompositeAudioClip([music, *voices])).with_duration(50)
    final.write_videofile(str(out), fps=24, codec="libx264", audio_codec="aac", logger=None)
    for clip in [*videos, *texts, *voices, music, final]:
        clip.close()


CONTENDERS = {
    "ours": run_ours, "moviepy": run_moviepy,
    "ours-full": run_ours_full, "moviepy-full": run_moviepy_full,
}


def child(which: str, folder: Path) -> None:
    """Inside the subprocess: run one contender and print its numbers as JSON."""
    clips = sorted(folder.glob("clip-*.mp4"))
    narrations = sorted(folder.glob("narration-*.wav"))
    out = folder / f"{which}.mp4"
    start = time.perf_counter()
    CONTENDERS[which](clips, narrations, out)
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
    parser.add_argument("--plain-only", action="store_true",
                        help="skip the comparison with captions and music")
    parser.add_argument("--make", action="store_true",
                        help="also time an offline `videobot make --auto-approve`")
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
        results = {name: measure(name, folder) for name in CONTENDERS
                   if not (args.plain_only and name.endswith("-full"))}
        if "ours-full" in results:
            from videobot.media.audio_mix import measure_loudness

            for name in ("ours-full", "moviepy-full"):
                loud = measure_loudness(folder / f"{name}.mp4")
                results[name]["lufs"], results[name]["peak"] = loud["I"], loud["Peak"]
    labels = {"ours": "assemble_video", "moviepy": "moviepy",
              "ours-full": "ours, full", "moviepy-full": "moviepy, full"}
    for name, r in results.items():
        loud = f"  {r['lufs']:.1f} LUFS {r['peak']:.1f} dBTP" if "lufs" in r else ""
        print(f"{labels[name]:>15}: {r['seconds']:7.2f} s  output {r['duration']:.2f} s "
              f"{r['size'] / 1e6:5.1f} MB  tree peak RSS {r['tree_peak_kb'] / 1024:6.1f} MiB  "
              f"(rusage self {r['self_kb'] / 1024:.1f} MiB, "
              f"largest child {r['children_kb'] / 1024:.1f} MiB){loud}")
    print(f"speed-up: {results['moviepy']['seconds'] / results['ours']['seconds']:.1f}x")
    if "ours-full" in results:
        full = results["moviepy-full"]["seconds"] / results["ours-full"]["seconds"]
        print(f"speed-up with captions and music: {full:.1f}x")
    if args.make:
        print(f"offline `videobot make --auto-approve`, captions and music on: "
              f"{time_offline_make():.1f} s wall (target 30 s), Prefect start included")


def time_offline_make() -> float:
    """Wall time of the README's first command on a fresh data folder and a local Prefect."""
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="make-bench-") as data:
        env = {**os.environ, "DATA_DIR": data, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "CAPTIONS": "true", "MUSIC": "true"}
        env.pop("PREFECT_API_URL", None)
        started = time.perf_counter()
        subprocess.run([str(repo / "bin" / "videobot"), "make", "How volcanoes work",
                        "--auto-approve"], env=env, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
