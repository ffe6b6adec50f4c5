"""Media work on files: probing, assembly, contact sheets; ffmpeg comes from imageio-ffmpeg."""

from videobot.media.assembly import AssemblyError, AssemblyResult, assemble_video, plan_tempos
from videobot.media.audio_mix import measure_loudness
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

__all__ = [
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
