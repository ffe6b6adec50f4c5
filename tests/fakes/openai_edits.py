"""The fake OpenAI server's images/edits: a multipart request checked against the API spec as
the installed `openai` SDK carries it (ImageEditParams), answered with a real PNG.

Checked: only fields the spec names; `prompt` and at least one image required; at most 16
images (`image[]`, or one `image`), each a PNG, JPEG or WebP under 50 MB by its bytes; enum
fields (`quality`, `background`, `output_format`, `input_fidelity`) within their values, and
`input_fidelity` left out for gpt-image-2, as the spec asks; `n` from 1 to 10; `size` "auto"
or WIDTHxHEIGHT.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from openai.types import image_edit_params

from tests.fakes import openai_replies as replies
from tests.fakes.openai_replies import Upload

MAX_IMAGES = 16
MAX_IMAGE_BYTES = 50 * 1024 * 1024
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"))


def image_kind(data: bytes) -> str | None:
    """png, jpeg or webp by the file's first bytes; None for anything else."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def edit_problem(form: dict[str, str], uploads: list[tuple[str, Upload]]) -> str | None:
    """Why OpenAI would refuse this images/edits request, or None."""
    hints = typing.get_type_hints(image_edit_params.ImageEditParamsNonStreaming)
    names = set(hints) - {"image", "mask", "markup"}
    if unknown := sorted(set(form) - names):
        return f"Unrecognized request argument supplied: {', '.join(unknown)}"
    images = [u for name, u in uploads if name in ("image", "image[]")]
    others = sorted({name for name, _ in uploads} - {"image", "image[]", "mask", "markup"})
    if others:
        return f"Unrecognized file field(s): {', '.join(others)}"
    if not form.get("prompt"):
        return "Missing required parameter: 'prompt'."
    if not images:
        return "Missing required parameter: 'image'."
    if len(images) > MAX_IMAGES:
        return f"Too many images: {len(images)}; at most {MAX_IMAGES}."
    for number, upload in enumerate(images, 1):
        if image_kind(upload.data) is None:
            return f"Invalid image {number}: supported formats are png, webp and jpg."
        if len(upload.data) >= MAX_IMAGE_BYTES:
            return f"Image {number} is larger than 50 MB."
    for name in ("quality", "background", "output_format", "input_fidelity"):
        allowed = [a for a in typing.get_args(typing.get_args(hints[name])[0]) if a is not None]
        if name in form and form[name] not in allowed:
            return f"Invalid value for '{name}': {form[name]!r}; one of {allowed}."
    if "input_fidelity" in form and form.get("model", "").startswith("gpt-image-2"):
        return "input_fidelity is not supported for gpt-image-2: omit it."
    if "n" in form and not (form["n"].isdigit() and 1 <= int(form["n"]) <= 10):
        return "Invalid value for 'n': must be from 1 to 10."
    size = form.get("size", "auto")
    if size != "auto" and not re.fullmatch(r"\d+x\d+", size):
        return f"Invalid value for 'size': {size!r}."
    return None


def edit_answer(form: dict[str, str], uploads: list[tuple[str, Upload]]
                ) -> tuple[int, dict[str, Any]]:
    """The status and JSON the fake answers an images/edits request."""
    problem = edit_problem(form, uploads)
    if problem is not None:
        return 400, replies.error_body(400, problem, "invalid_request_error")
    size = form.get("size", "1024x1024")
    return 200, replies.images_body(form["prompt"], size if size != "auto" else "1024x1024",
                                    form.get("quality"))
