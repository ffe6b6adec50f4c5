"""Seconds per offline narration: espeak-ng through its library (word timings from its own
events, a fresh process each) against the `espeak-ng` command (timings spread over the
speech). Target: the library costs at most 1.5 times the command.

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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from videobot.providers.offline.narrator import OfflineNarrator  # noqa: E402

TEXT = ("A lighthouse stands on the cliff. Every night, its light turns slowly — and ships "
        "find their way home! Is it not a story of simple things?")
TARGET = 1.5


def seconds_per_narration(narrator: OfflineNarrator, folder: Path, runs: int) -> float:
    narrator.narrate(TEXT, "en", folder / "warm.wav")
    times = []
    for i in range(runs):
        began = time.perf_counter()
        narrator.narrate(TEXT, "en", folder / f"{i}.wav")
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        library = seconds_per_narration(OfflineNarrator(use_library=True), Path(tmp), args.runs)
        command = seconds_per_narration(OfflineNarrator(use_library=False), Path(tmp), args.runs)
    ratio = library / command
    print(f"seconds per narration: library {library:.3f}, command {command:.3f}")
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"ratio {ratio:.2f} (target at most {TARGET:.2f}): {verdict}")


if __name__ == "__main__":
    main()
