"""What the final assembly needs besides clips and voices: each narration's word timings,
the caption files built from them, and how well the scenes follow the words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from videobot.formats import SCENE_COUNT, SCENE_SECONDS, SECTIONS, VideoFormat
from videobot.media.caption_files import to_ass, to_srt
from videobot.media.captions import DEFAULT_SIZE, caption_cues
from videobot.media.files import atomic_output
from videobot.media.speech_spans import spread_over_speech
from videobot.media.word_timings import (
    WordTiming,
    read_word_timings,
    word_timings_path,
    write_word_timings,
)


def narration_timings(audio: Path, text: str, language: str = "en") -> list[WordTiming]:
    """The narrator's own word timings (its sidecar), else the script aligned to the audio
    with espeak-ng, else the words spread over the speech found in the audio; what is
    found is kept as a sidecar too, so it is computed once."""
    sidecar = word_timings_path(audio)
    if sidecar.is_file():
        return read_word_timings(sidecar)
    # Here, not at the top: alignment loads numpy, which a flow-run process needs only when
    # a narration came back without its word timings.
    from videobot.media.forced_alignment import align_script

    aligned = align_script(audio, text, language)
    if aligned:
        write_word_timings(sidecar, aligned, source="aligned")
        return aligned
    timings = spread_over_speech(audio, text)
    write_word_timings(sidecar, timings, source="speech-spans")
    return timings


def timings_from_rows(rows: Sequence[Sequence[object]]) -> list[WordTiming]:
    """Timings as the job row keeps them: [[word, start, end], ...]."""
    return [WordTiming(str(w), float(str(a)), float(str(b))) for w, a, b in rows]


@dataclass(frozen=True)
class CaptionFiles:
    ass: Path  # burned into the picture
    srt: Path  # the sidecar beside the video, for YouTube and editors


def write_captions(
    sections: Sequence[Sequence[WordTiming]],
    tempos: Sequence[float],
    fmt: VideoFormat,
    folder: Path,
    *,
    size: float = DEFAULT_SIZE,
    position: float | None = None,
) -> CaptionFiles:
    """`captions.ass` and `captions.srt` in `folder`, on the video's clock: each section's
    words moved to its start and sped up as the assembly speeds its narration."""
    cues = caption_cues(sections, tempos)
    ass, srt = folder / "captions.ass", folder / "captions.srt"
    for path, body in ((ass, to_ass(cues, fmt, size=size, position=position)),
                       (srt, to_srt(cues))):
        with atomic_output(path) as tmp:
            tmp.write_text(body, encoding="utf-8")
    return CaptionFiles(ass, srt)


def cuts_inside_words(sections: Sequence[Sequence[WordTiming]], tempos: Sequence[float]) -> int:
    """How many of the nine scene changes fall while a word is being spoken."""
    spoken = [
        (section.start_seconds + w.start / tempo, section.start_seconds + w.end / tempo)
        for section, timings, tempo in zip(SECTIONS, sections, tempos, strict=True)
        for w in timings
    ]
    cuts = [i * SCENE_SECONDS for i in range(1, SCENE_COUNT)]
    return sum(any(start < cut < end for start, end in spoken) for cut in cuts)
