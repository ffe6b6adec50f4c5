"""videobot's domain package: settings, the data model, providers and media, no Prefect."""

from videobot.decisions import Decision
from videobot.formats import SECTIONS, VideoFormat
from videobot.requests import InvalidRequest
from videobot.script import MotionPlan, ScenePlan, Script, SegmentPlan
from videobot.settings import Settings, get_settings
from videobot.style import StyleSheet

__all__ = [
    "SECTIONS",
    "Decision",
    "InvalidRequest",
    "MotionPlan",
    "ScenePlan",
    "Script",
    "SegmentPlan",
    "Settings",
    "StyleSheet",
    "VideoFormat",
    "get_settings",
]
