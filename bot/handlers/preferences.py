"""/settings: video format, the bot's language, the narrator voice, captions and the clip model,
per person."""

from __future__ import annotations

import contextlib

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.guards import Person, admit, identify
from bot.handlers.buttons import markup
from bot.services import Services, blocking, services
from videobot.callbacks import BadCallback, parse_setting, settings_button
from videobot.chat_texts import Keyboard
from videobot.formats import VideoFormat
from videobot.i18n import LANGUAGES, NATIVE_NAMES, tr
from videobot.motion import job_motion, motion_models


def _menu(sv: Services, person: Person) -> tuple[str, Keyboard]:
    row = sv.records.person(person.key)
    fmt = (row.format if row else None) or sv.settings.video_format.value
    voice = (row.voice if row else None) or sv.settings.narrator_voices[0]
    language = row.language if row else None
    captions = sv.settings.captions if row is None or row.captions is None else row.captions
    shown = tr(person.lang, "captions_state_on" if captions else "captions_state_off")
    models = motion_models(sv.settings)
    motion = job_motion(sv.settings, row.motion if row else None, None)
    clip = f"{motion.model} · ${motion.clip_usd:.2f}"
    named = tr(person.lang, f"language_{language}" if language else "language_auto")
    languages = [(NATIVE_NAMES[code], code) for code in LANGUAGES]
    text = tr(person.lang, "settings", format=fmt, language=named, voice=voice,
              captions=shown, motion=clip)

    def mark(label: str, chosen: bool) -> str:
        return f"• {label}" if chosen else label

    keyboard: Keyboard = [
        [(mark(f.value, f.value == fmt), settings_button("format", f.value)) for f in VideoFormat],
        [
            (mark(label, code == (language or "auto")), settings_button("language", code))
            for label, code in [*languages, (tr(person.lang, "language_auto"), "auto")]
        ],
        [
            (mark(name, name == voice), settings_button("voice", name))
            for name in sv.settings.narrator_voices[:6]
        ],
        [
            (mark(tr(person.lang, f"captions_{state}"), (state == "on") == captions),
             settings_button("captions", state))
            for state in ("on", "off")
        ],
    ]
    if len(models) > 1:  # one button per clip model the animator offers, with a clip's price
        keyboard.append([
            (mark(name, name == motion.model), settings_button("motion", name))
            for name in list(models)[:4]
        ])
    return text, keyboard


async def show_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The current choices, each changeable with one tap."""
    if not ((person := await admit(update, context, counted=False)) and update.effective_message):
        return
    text, keyboard = await blocking(_menu, services(context), person)
    await update.effective_message.reply_text(text, reply_markup=markup(keyboard))


async def change_setting(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One tap in the settings menu: validated against the allowed values, then saved."""
    query = update.callback_query
    person = await identify(update, context)
    if query is None or person is None:
        return
    sv = services(context)
    try:
        name, value = parse_setting(query.data)
        allowed = {
            "format": [f.value for f in VideoFormat],
            "language": [*LANGUAGES, "auto"],
            "voice": sv.settings.narrator_voices,
            "captions": ["on", "off"],
            "motion": list(motion_models(sv.settings)),
        }[name]
        if value not in allowed:
            raise BadCallback(name)
    except BadCallback:
        await query.answer(tr(person.lang, "bad_button"), show_alert=True)
        return
    saved: str | bool | None = value == "on" if name == "captions" else value
    if name == "language" and value == "auto":
        saved = None  # the person's Telegram language again
    await blocking(sv.records.update_person, person.key, **{name: saved})
    person = await identify(update, context) or person  # the language may have changed
    await query.answer(tr(person.lang, "settings_saved"))
    text, keyboard = await blocking(_menu, sv, person)
    with contextlib.suppress(BadRequest):  # the menu may be unchanged
        await query.edit_message_text(text, reply_markup=markup(keyboard))
