"""The dated table of models: it agrees with the installed SDK, and start-up acts on it."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import openai
import pytest

from videobot.model_currency import SUNSETS, check_model_currency, model_notices
from videobot.settings import ConfigurationError, Settings

_NOTE_FILES = ("audio/speech_model.py", "audio_model.py", "shared/chat_model.py",
               "image_model.py")


def _sdk_shutdowns() -> dict[str, date]:
    """Model → shutdown date, read from the deprecation notes in the installed openai SDK."""
    root = Path(openai.__file__).parent / "types"
    found: dict[str, date] = {}
    for name in _NOTE_FILES:
        text = (root / name).read_text(encoding="utf-8")
        notes = text.split("Deprecated values:", 1)[1].split('"""', 1)[0]
        for item in re.split(r"\n- ", " ".join(notes.split("\n  ")).replace("\n\n", "\n")):
            iso = re.search(r"shutdown date:\s*(\d{4}-\d{2}-\d{2})", item)
            words = re.search(r"(?:shut down|retired) on (\w+ \d+, \d{4})", item)
            if iso:
                when = date.fromisoformat(iso.group(1))
            elif words:
                when = datetime.strptime(words.group(1), "%B %d, %Y").date()
            else:
                continue
            for model in re.findall(r'"([^"]+)"', item.split(":", 1)[0]):
                found[model] = when
    return found


def test_table_matches_the_sdks_deprecation_notes() -> None:
    """Every model in the table is shut down on the date the installed SDK announces."""
    sdk = _sdk_shutdowns()
    assert "gpt-4o-mini-tts" in sdk  # the notes were read at all
    for model, sunset in SUNSETS.items():
        assert sdk.get(model) == sunset.shutdown, model


def test_a_model_within_thirty_days_is_warned_about() -> None:
    """OpenAI narration on 2026-12-10: its model shuts down in 27 days; the warning names the
    setting to change."""
    settings = Settings(tts_provider="openai", openai_api_key="k")
    warnings = check_model_currency(settings, date(2026, 12, 10))
    assert len(warnings) == 1
    assert "OPENAI_TTS_MODEL=gpt-4o-mini-tts shuts down on 2027-01-06, in 27 days" in warnings[0]
    assert "TTS_PROVIDER=runway" in warnings[0]


def test_a_model_past_its_shutdown_stops_start_up() -> None:
    """On 2027-01-06 the same configuration is refused, naming the replacement setting."""
    settings = Settings(tts_provider="openai", openai_api_key="k")
    with pytest.raises(ConfigurationError, match="was shut down on 2027-01-06: set TTS_PROVIDER"):
        check_model_currency(settings, date(2027, 1, 6))


def test_models_of_providers_not_chosen_do_not_count() -> None:
    """The offline narrator ignores OPENAI_TTS_MODEL, so its date neither warns nor stops."""
    settings = Settings(openai_tts_model="tts-1", openai_text_model="gpt-5")
    assert check_model_currency(settings, date(2030, 1, 1)) == []


def test_far_dates_and_unknown_models_are_quiet() -> None:
    """A model months from shutdown, or not in the table, gives no notice."""
    settings = Settings(tts_provider="openai", stt_provider="openai", openai_api_key="k",
                        script_provider="openai", openai_text_model="my-local-model")
    assert model_notices(settings, date(2026, 6, 1)) == []


async def test_health_lists_a_model_close_to_shutdown(tmp_path: Path) -> None:
    """/health names a narrator model 17 days from shutdown without turning unhealthy for it."""
    from bot.health import health
    from bot.services import Services

    settings = Settings(telegram_bot_token="1:test", data_dir=tmp_path, tts_provider="openai",
                        openai_api_key="k")
    services = Services.open(settings)
    try:
        _, body = await health(services, "polling", today=date(2026, 12, 20))
    finally:
        services.close()
    assert body["database"] == "reachable"
    assert body["warnings"] == [
        "OPENAI_TTS_MODEL=gpt-4o-mini-tts shuts down on 2027-01-06, in 17 days: set "
        "TTS_PROVIDER=runway (ElevenLabs voices through Runway, the same key as clips) "
        "before then"
    ]
