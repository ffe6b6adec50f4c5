"""Media work on files: probing, assembly, contact sheets; ffmpeg comes from imageio-ffmpeg."""

from videobot.media.assembly import AssemblyError, AssemblyResult, assemble_video, plan_tempos
from videobot.media.audio_mix import measure_loudness
from videobot.media.caption_files import to_ass, to_srt
from videobot.media.captions import CaptionCue, caption_cues, caption_fonts_dir, phrases
from videobot.media.contact_sheet import make_contact_sheet
from videobot.media.ffmpeg import FFmpegError, ffmpeg_exe, run_ffmpeg
from videobot.media.files import atomic_output
from videobot.media.fonts import find_font, load_font
from videobot.media.music import MOODS, MusicBed, make_music_bed, normalise_mood
from videobot.media.paths import MediaLayout
from videobot.media.probe import (
    MediaInfo,
    audio_rms,
    extract_frame,
    probe,
    probe_many,
    share_codec_params,
)
from videobot.media.speech_spans import speech_spans, spread_over_speech
from videobot.media.word_timings import (
    WordTiming,
    read_word_timings,
    word_timings_path,
    write_word_timings,
)

__all__ = [
    "CaptionCue",
    "WordTiming",
    "caption_cues",
    "caption_fonts_dir",
    "phrases",
    "read_word_timings",
    "speech_spans",
    "spread_over_speech",
    "to_ass",
    "to_srt",
    "word_timings_path",
    "write_word_timings",
    "AssemblyError",
    "AssemblyResult",
    "FFmpegError",
    "MediaInfo",
    "MOODS",
    "MediaLayout",
    "MusicBed",
    "assemble_video",
    "atomic_output",
    "audio_rms",
    "extract_frame",
    "ffmpeg_exe",
    "find_font",
    "load_font",
    "make_contact_sheet",
    "make_music_bed",
    "measure_loudness",
    "normalise_mood",
    "plan_tempos",
    "probe",
    "probe_many",
    "run_ffmpeg",
    "share_codec_params",
]
