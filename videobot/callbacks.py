"""What a gate button carries: job, stage, attempt, action and one argument, in ≤ 64 bytes.

    g1:3f2a9c1e:i:2:k:008      job 3f2a9c1e…, images gate, attempt 2, confirm redo of scene 4

The data comes back from the chat untrusted, so it is parsed strictly: anything that is not
exactly this shape is refused, and what it names is checked against the database afterwards.
Scene selections travel in the buttons themselves (a 10-bit mask), so no replica keeps state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from videobot.formats import SCENE_COUNT

MAX_BYTES = 64
VERSION = "g1"
STAGE_CODES = {"script": "s", "images": "i", "clips": "c"}
STAGES_BY_CODE = {code: stage for stage, code in STAGE_CODES.items()}
PARTS = {"i": "intro", "m": "main", "o": "outro", "s": "style"}
PART_CODES = {part: code for code, part in PARTS.items()}

ButtonAction = Literal[
    "approve", "cancel", "regenerate", "edit", "part", "scene", "redo", "confirm", "back"
]
ACTION_CODES: dict[str, str] = {
    "approve": "a",  # approve (all)
    "cancel": "x",  # cancel the job
    "regenerate": "g",  # regenerate the script: asks what to change
    "edit": "e",  # open the edit menu: parts (script) or scenes (images, clips)
    "part": "p",  # edit this script part or the style (arg: i, m, o, s): asks for the text
    "scene": "n",  # edit this scene's prompt (arg: scene number): asks for the text
    "redo": "r",  # show the scene picker with this selection (arg: mask)
    "confirm": "k",  # redo the selected scenes (arg: mask)
    "back": "b",  # back to the gate's own buttons
}
ACTIONS_BY_CODE = {code: action for action, code in ACTION_CODES.items()}
_PATTERN = re.compile(
    r"^g1:(?P<job>[0-9a-f]{8}):(?P<stage>[sic]):(?P<attempt>[1-9][0-9]{0,2}):"
    r"(?P<action>[axgepnrkb]):(?P<arg>[0-9a-z]{0,3})$"
)
FULL_MASK = (1 << SCENE_COUNT) - 1


class BadCallback(ValueError):
    """Button data that this bot did not make (forged, truncated or from an old version)."""


@dataclass(frozen=True)
class GateButton:
    job: str  # the first 8 hex digits of the job id
    stage: str
    attempt: int
    action: ButtonAction
    arg: str = ""

    def encode(self) -> str:
        data = ":".join(
            (
                VERSION,
                self.job,
                STAGE_CODES[self.stage],
                str(self.attempt),
                ACTION_CODES[self.action],
                self.arg,
            )
        )
        if len(data.encode()) > MAX_BYTES or not _PATTERN.fullmatch(data):
            raise ValueError(f"cannot encode button {self!r}")
        return data

    @property
    def scenes(self) -> list[int]:
        """Scene numbers (1-10) selected by a redo or confirm button's mask."""
        return mask_scenes(int(self.arg or "0", 16))

    @property
    def scene(self) -> int:
        """The scene number of an edit-scene button."""
        number = int(self.arg)
        if not 1 <= number <= SCENE_COUNT:
            raise BadCallback("scene out of range")
        return number

    @property
    def part(self) -> str:
        return PARTS[self.arg]


def parse(data: str | None) -> GateButton:
    """The button behind `data`, or BadCallback when it is not one this bot makes."""
    if not data or len(data.encode()) > MAX_BYTES:
        raise BadCallback("no or oversized data")
    match = _PATTERN.fullmatch(data)
    if match is None:
        raise BadCallback("not a gate button")
    button = GateButton(
        job=match["job"],
        stage=STAGES_BY_CODE[match["stage"]],
        attempt=int(match["attempt"]),
        action=ACTIONS_BY_CODE[match["action"]],  # type: ignore[arg-type]
        arg=match["arg"],
    )
    _check_arg(button)
    return button


def _check_arg(button: GateButton) -> None:
    if button.action in ("redo", "confirm"):
        try:
            mask = int(button.arg or "0", 16)
        except ValueError:
            raise BadCallback("bad scene mask") from None
        if mask > FULL_MASK or (button.action == "confirm" and mask == 0):
            raise BadCallback("bad scene mask")
    elif button.action == "part":
        if button.arg not in PARTS or button.stage != "script":
            raise BadCallback("bad part")
    elif button.action == "scene":
        if not button.arg.isdigit() or button.stage == "script":
            raise BadCallback("bad scene")
        button.scene  # noqa: B018 - raises BadCallback when out of range
    elif button.arg:
        raise BadCallback("unexpected argument")


def scenes_mask(scenes: list[int]) -> int:
    mask = 0
    for number in scenes:
        mask |= 1 << (number - 1)
    return mask


def mask_scenes(mask: int) -> list[int]:
    return [n for n in range(1, SCENE_COUNT + 1) if mask & (1 << (n - 1))]


def mask_arg(mask: int) -> str:
    return format(mask, "x")


def job_key(job_id: object) -> str:
    """The job part of a button: the first 8 hex digits of its id."""
    return str(job_id).replace("-", "")[:8]


# Settings buttons: "set:format:9:16", "set:language:ru", "set:voice:alloy",
# "set:motion:gen4.5".
SETTINGS_PREFIX = "set"
# Values are checked against the allowed lists after parsing; Runway's voices are capitalised
# and its clip models have dots.
_SETTING = re.compile(
    r"^set:(?P<name>format|language|voice|captions|motion):(?P<value>[0-9A-Za-z:._-]{1,32})$"
)


def settings_button(name: str, value: str) -> str:
    data = f"{SETTINGS_PREFIX}:{name}:{value}"
    if not _SETTING.fullmatch(data):
        raise ValueError(f"cannot encode setting {name}={value}")
    return data


def parse_setting(data: str | None) -> tuple[str, str]:
    match = _SETTING.fullmatch(data or "")
    if match is None:
        raise BadCallback("not a settings button")
    return match["name"], match["value"]
