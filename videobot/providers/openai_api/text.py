"""The OpenAI script writer: script, scene plan and motion prompts as structured output, through
the Responses API or Chat Completions (the portable mode for OpenAI-compatible servers).

The request asks for strict structured output, which OpenAI enforces; the prompts also spell the
JSON shape out, and an answer the SDK cannot parse is read by `parse_json_reply`, so a local
server that does not enforce the schema (fences, a `<think>` block, prose around the object)
still works.

Two kinds of retry, kept apart: transport faults go through `call_with_retries`; an answer we
cannot use (refusal, unparsable JSON, a shape our models reject) is asked for again with a new
request, up to `llm_output_attempts` times.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from videobot.providers.base import ProviderError, ScriptRequest, Usage
from videobot.providers.faults import call_with_retries
from videobot.providers.openai_api import drafts
from videobot.providers.openai_api.client import build_openai_client, retry_policy
from videobot.providers.openai_api.endpoint_name import model_server_name
from videobot.providers.openai_api.errors import classify_openai_error
from videobot.providers.openai_api.json_reply import describe_error, parse_json_reply
from videobot.script import MotionPlan, Script, SegmentPlan
from videobot.settings import Settings
from videobot.stopping import stoppable_sleep

D = TypeVar("D", bound=BaseModel)
Out = TypeVar("Out")


@dataclass(frozen=True)
class _Reply(Generic[D]):
    """One answer: the parsed draft, or why there is none; and what it cost."""

    parsed: D | None
    problem: str
    refused: bool
    response_id: str | None
    input_tokens: int
    output_tokens: int


class OpenAIScriptWriter:
    """A ScriptWriter backed by an OpenAI (or OpenAI-compatible) text model."""

    name = "openai"

    def __init__(
        self,
        settings: Settings,
        client: openai.OpenAI | None = None,
        *,
        sleep: Callable[[float], None] = stoppable_sleep,
    ) -> None:
        self.settings = settings
        self.client = client or build_openai_client(settings)
        self.model = settings.openai_text_model
        self._policy = retry_policy(settings)
        self._sleep = sleep
        self.server = model_server_name(self.client.base_url, "text model")

    def write_script(self, request: ScriptRequest) -> tuple[Script, Usage]:
        return self._generate(
            "script",
            drafts.script_instructions(request.language),
            drafts.script_input(request),
            drafts.ScriptDraft,
            lambda draft: drafts.script_from_draft(draft, request.language),
        )

    def plan_segments(self, script: Script, language: str) -> tuple[SegmentPlan, Usage]:
        return self._generate(
            "scene plan",
            drafts.segments_instructions(language),
            drafts.plan_input(script),
            drafts.SegmentDraft,
            lambda draft: drafts.plan_from_draft(draft, script),
        )

    def write_motion(self, plan: SegmentPlan, language: str) -> tuple[MotionPlan, Usage]:
        return self._generate(
            "motion prompts",
            drafts.motion_instructions(),
            drafts.motion_input(plan),
            drafts.MotionDraft,
            drafts.motion_from_draft,
        )

    def _generate(
        self,
        what: str,
        instructions: str,
        text: str,
        fmt: type[D],
        convert: Callable[[D], tuple[Out, str | None]],
    ) -> tuple[Out, Usage]:
        """Ask until an answer converts; a soft problem is asked again while tries remain."""
        limit = self.settings.llm_output_attempts
        requests = tokens_in = tokens_out = 0
        last_id: str | None = None
        note = problem = ""
        refused = False
        for round_ in range(1, limit + 1):
            ask = functools.partial(self._ask, instructions, text + note, fmt)
            reply, attempts = call_with_retries(
                ask, functools.partial(classify_openai_error, server=self.server),
                self._policy, sleep=self._sleep,
            )
            requests += attempts
            tokens_in += reply.input_tokens
            tokens_out += reply.output_tokens
            last_id = reply.response_id or last_id
            refused, problem = reply.refused, reply.problem
            if reply.parsed is not None:
                try:
                    result, soft = convert(reply.parsed)
                except ValueError as exc:
                    problem = f"the answer did not fit: {_first_error(exc)}"
                else:
                    if soft is None or round_ == limit:
                        return result, self._usage(tokens_in, tokens_out, last_id, requests)
                    problem = soft
            note = (f"\n\nYour previous answer could not be used ({problem}). Follow the rules "
                    "and answer with the JSON object only.")
        raise ProviderError(
            f"{self.server} gave no usable {what} in {limit} tries: {problem}",
            permanent=True,
            kind="safety" if refused else "permanent",
            usage=self._usage(tokens_in, tokens_out, last_id, requests),
        )

    def _usage(self, tokens_in: int, tokens_out: int, request_id: str | None,
               attempts: int) -> Usage:
        s = self.settings
        cost = (tokens_in * s.price_text_input_per_mtok
                + tokens_out * s.price_text_output_per_mtok) / 1_000_000
        return Usage(
            provider=self.name, model=self.model, units=tokens_in + tokens_out, unit="tokens",
            cost_usd=cost, request_id=request_id, attempts=attempts,
        )

    def _ask(self, instructions: str, text: str, fmt: type[D]) -> _Reply[D]:
        if self.settings.openai_api_mode == "chat":
            return self._ask_chat(instructions, text, fmt)
        return self._ask_responses(instructions, text, fmt)

    def _ask_responses(self, instructions: str, text: str, fmt: type[D]) -> _Reply[D]:
        raw = self.client.responses.with_raw_response.parse(
            model=self.model, instructions=instructions, input=text, text_format=fmt,
            store=False,
        )
        body = _json_body(raw.http_response)
        reply = _empty_reply(fmt, body, "input_tokens", "output_tokens")
        if not body:
            return replace(reply, problem="the reply was not JSON")
        incomplete = (body.get("incomplete_details") or {}).get("reason")
        if incomplete == "content_filter":
            raise openai.ContentFilterFinishReasonError()
        try:
            response = raw.parse()
        except ValueError:  # not bare JSON of the shape: a server that does not enforce it
            reply = _read_text(reply, _responses_text(body), fmt)
            if reply.parsed is None and incomplete:
                return replace(reply, problem="the answer was cut off before the end")
            return reply
        for item in response.output:
            if item.type == "message":
                for content in item.content:
                    if content.type == "refusal":
                        return replace(reply, refused=True, problem=_refusal(content.refusal))
        if response.output_parsed is None:
            return replace(reply, problem="the answer had no structured output")
        return replace(reply, parsed=response.output_parsed)

    def _ask_chat(self, instructions: str, text: str, fmt: type[D]) -> _Reply[D]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": instructions},
            {"role": "user", "content": text},
        ]
        raw = self.client.chat.completions.with_raw_response.parse(
            model=self.model, messages=messages, response_format=fmt
        )
        body = _json_body(raw.http_response)
        reply = _empty_reply(fmt, body, "prompt_tokens", "completion_tokens")
        if not body:
            return replace(reply, problem="the reply was not JSON")
        try:
            completion = raw.parse()
        except openai.LengthFinishReasonError:
            return replace(reply, problem="the answer was cut off before the end")
        except ValueError:  # not bare JSON of the shape: a server that does not enforce it
            return _read_text(reply, _chat_text(body), fmt)
        if not completion.choices:
            return replace(reply, problem="the reply had no answer")
        message = completion.choices[0].message
        if message.refusal:
            return replace(reply, refused=True, problem=_refusal(message.refusal))
        if message.parsed is None:
            return replace(reply, problem="the answer had no structured output")
        return replace(reply, parsed=message.parsed)


class _HttpReply(Protocol):
    """What we read of the SDK's HTTP response: its body as JSON."""

    def json(self) -> Any: ...


def _json_body(response: _HttpReply) -> dict[str, Any]:
    """The reply as a JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _empty_reply(fmt: type[D], body: dict[str, Any], in_key: str, out_key: str) -> _Reply[D]:
    usage = body.get("usage") or {}
    return _Reply[D](
        parsed=None, problem="", refused=False,
        response_id=body.get("id") if isinstance(body.get("id"), str) else None,
        input_tokens=int(usage.get(in_key) or 0), output_tokens=int(usage.get(out_key) or 0),
    )


def _read_text(reply: _Reply[D], text: str, fmt: type[D]) -> _Reply[D]:
    """The reply with the first JSON object in `text` that fits `fmt`, or with why none does."""
    try:
        return replace(reply, parsed=parse_json_reply(text, fmt))
    except ValueError as exc:
        return replace(reply, problem=f"the answer could not be read: {exc}")


def _responses_text(body: dict[str, Any]) -> str:
    """The text of a Responses API reply's messages (its reasoning items left out)."""
    texts: list[str] = []
    for item in body.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for content in item.get("content") or []:
            if isinstance(content, dict) and isinstance(content.get("text"), str):
                texts.append(content["text"])
    return "\n".join(texts)


def _chat_text(body: dict[str, Any]) -> str:
    """The content of a Chat Completions reply's first choice."""
    choices = body.get("choices") or [{}]
    message = (choices[0] if isinstance(choices[0], dict) else {}).get("message") or {}
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _refusal(text: str) -> str:
    return f"the model refused: {drafts.clip(text, 160)}"


def _first_error(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        return describe_error(exc)
    return str(exc)
