"""Failures told to people in their language, and in full to the bot's operator.

A provider's reason is written for the operator: it is English, and it may name a setting or
a model. The person reads a sentence of their own catalogue instead, chosen by the kind of
fault (`fault_of`): what to do next, and whether trying again can help. The kind is read from
the reason itself, since jobs and scenes keep only that text.
"""

from __future__ import annotations

import re
from typing import Literal

from videobot.i18n import tr

FaultKind = Literal[
    "safety", "daily_cap", "budget", "setup", "voice", "transient", "internal", "permanent"
]
# The pipeline's steps that have a label of their own in the catalogues (`stage_<step>`).
STEPS = ("intake", "script", "segments", "images", "motion", "clips", "narration", "assembly",
         "delivery")

# OPENAI_API_KEY, STT_PROVIDER; not a dotted failure code such as INTERNAL.BAD_OUTPUT.CODE01.
_SETTING_NAME = re.compile(r"(?<![.\w])[A-Z][A-Z0-9]*_[A-Z0-9_]+(?![.\w])")
_PYTHON_ERROR = re.compile(r"^\w*(Error|Exception)\b:?")  # "ValueError: …" from our own code
_HINTS: tuple[tuple[FaultKind, tuple[str, ...]], ...] = (
    ("safety", ("safety", "content filter", "content policy", "usage policy", "moderation")),
    ("daily_cap", ("daily generation limit", "daily limit", "daily cap")),
    ("budget", ("over budget:",)),
    (
        "setup",
        (
            "api key",
            "is not set",
            "(401",
            "(403",
            "must be verified",
            "no credit",
            "insufficient_quota",
            "speech-to-text provider",
            "does not know this model",
            "(404",
            "check the model",
        ),
    ),
    ("voice", ("voice note",)),
    (
        "transient",
        (
            "temporary",
            "did not answer in time",
            "timed out",
            "could not reach",
            "could not connect",
            "connection",
            "is busy",
            "rate limit",
            "kept the task queued",
            "did not finish the task",
            "failed to generate this one",
            "downloading",
        ),
    ),
)


def fault_of(reason: str | None) -> FaultKind:
    """What kind of fault a stored reason describes; "permanent" when nothing says otherwise."""
    text = " ".join((reason or "").split())
    lowered = text.lower()
    for kind, hints in _HINTS:
        if kind == "setup" and _SETTING_NAME.search(text):
            return "setup"
        if any(hint in lowered for hint in hints):
            return kind
    if _PYTHON_ERROR.match(text):
        return "internal"
    return "permanent"


def step_of(stage: str) -> str | None:
    """The pipeline step a job's stage belongs to ("images-gate" → "images")."""
    step = stage.split("-")[0]
    return step if step in STEPS else None


def job_failure_text(lang: str, job: str, stage: str, reason: str | None) -> str:
    """What the person reads when their job fails: the step, what to do, who knows more."""
    step = step_of(stage)
    advice = tr(lang, f"fail_advice_{fault_of(reason)}")
    if step is None:
        return tr(lang, "failed_somewhere", job=job, advice=advice)
    return tr(lang, "failed", job=job, stage=tr(lang, f"stage_{step}"), advice=advice)


def scene_failure_text(lang: str, kind: str, scene: int, reason: str | None) -> str:
    """One failed scene at the images or clips gate, by the kind of its fault."""
    fault = fault_of(reason)
    if fault == "safety":
        return tr(lang, f"scene_safety_{'images' if kind == 'images' else 'clips'}", scene=scene)
    if fault in ("transient", "daily_cap", "setup"):
        return tr(lang, f"scene_{fault}", scene=scene)
    return tr(lang, "scene_permanent", scene=scene)


def admin_failure_text(lang: str, job: str, person: str, stage: str, reason: str | None) -> str:
    """The operator's copy of a failure: the job, whose it is, the stage and the full reason."""
    return tr(lang, "admin_job_failed", job=job, person=person, stage=stage, reason=reason or "-")
