"""Seconds per offline narration: espeak-ng through its library (word timings from its own
events, a fresh process each) against the `espeak-ng` command (timings spread over the
speech). Target: the library costs at most 1.5 times the command. Also the seconds to align a
script to ~15 s of bare narration (synthesis of the reference, features, DTW): target under 2.

Run: .venv/bin/python benchmarks/narration.py [--runs 5]

Each narrator makes one narration first (warm caches), then `--runs` more; the median of
those is printed for each, with the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from videobot.media.forced_alignment import align_script  # noqa: E402
from videobot.providers.offline.narrator import OfflineNarrator  # noqa: E402

TEXT = ("A lighthouse stands on the cliff. Every night, its light turns slowly — and ships "
        "find their way home! Is it not a story of simple things?")
TARGET = 1.5
# About 15 s spoken: one intro's worth of words.
SECTION_TEXT = ("The old lighthouse keeper climbed the stairs every evening to light the lamp "
                "for passing ships. One stormy night he saw a small boat fighting the waves "
                "near the rocks, and he rang the bell until dawn. In the morning the sailors "
                "came ashore to thank him.")
ALIGN_TARGET = 2.0


def seconds_per_narration(narrator: OfflineNarrator, folder: Path, runs: int) -> float:
    narrator.narrate(TEXT, "en", folder / "warm.wav")
    times = []
    for i in range(runs):
        began = time.perf_counter()
        narrator.narrate(TEXT, "en", folder / f"{i}.wav")
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def seconds_per_alignment(folder: Path, runs: int) -> tuple[float, float]:
    """Median seconds to align SECTION_TEXT to its narration with no timings beside it, and
    the narration's length."""
    narrated = folder / "section.wav"
    OfflineNarrator(use_library=False).narrate(SECTION_TEXT, "en", narrated)
    bare = folder / "bare.wav"  # the same audio without a timings sidecar
    bare.write_bytes(narrated.read_bytes())
    with wave.open(str(bare)) as wav:
        length = wav.getnframes() / wav.getframerate()
    align_script(bare, SECTION_TEXT, "en")  # warm caches
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        if align_script(bare, SECTION_TEXT, "en") is None:
            raise SystemExit("alignment found no speech to align")
        times.append(time.perf_counter() - began)
    return statistics.median(times), length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = seconds_per_narration(OfflineNarrator(use_library=True), Path(tmp), args.runs)
        command = seconds_per_narration(OfflineNarrator(use_library=False), Path(tmp), args.runs)
        aligned, length = seconds_per_alignment(Path(tmp), args.runs)
    ratio = library / command
    print(f"seconds per narration: library {library:.3f}, command {command:.3f}")
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"ratio {ratio:.2f} (target at most {TARGET:.2f}): {verdict}")
    verdict = "met" if aligned < ALIGN_TARGET else "NOT met"
    print(f"alignment of a {length:.1f} s narration: {aligned:.2f} s "
          f"(target under {ALIGN_TARGET:.1f} s): {verdict}")


if __name__ == "__main__":
    main()
