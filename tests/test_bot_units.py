"""The bot's pure parts: button data, message catalogues, keyboards, status text."""

from __future__ import annotations

import subprocess
import sys

import pytest

from videobot.callbacks import (
    MAX_BYTES,
    BadCallback,
    GateButton,
    mask_scenes,
    parse,
    parse_setting,
    scenes_mask,
    settings_button,
)
from videobot.chat_texts import edit_keyboard, gate_keyboard, progress_bar, redo_keyboard
from videobot.i18n import CATALOGUES, pick_language, placeholders, tr

JOB = "3f2a9c1e-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    "button",
    [
        GateButton("3f2a9c1e", "script", 1, "approve"),
        GateButton("3f2a9c1e", "script", 12, "part", "o"),
        GateButton("3f2a9c1e", "images", 3, "redo", "3ff"),
        GateButton("3f2a9c1e", "images", 999, "confirm", "8"),
        GateButton("3f2a9c1e", "clips", 1, "scene", "10"),
        GateButton("3f2a9c1e", "clips", 2, "back"),
    ],
)
def test_button_round_trips_within_64_bytes(button: GateButton) -> None:
    """Every button encodes to ≤ 64 bytes and parses back to itself."""
    data = button.encode()
    assert len(data.encode()) <= MAX_BYTES
    assert parse(data) == button


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "approve",
        "g1:3f2a9c1e:s:1:a",
        "g2:3f2a9c1e:s:1:a:",
        "g1:3F2A9C1E:s:1:a:",
        "g1:3f2a9c1e:x:1:a:",
        "g1:3f2a9c1e:s:0:a:",
        "g1:3f2a9c1e:s:1000:a:",
        "g1:3f2a9c1e:s:1:z:",
        "g1:3f2a9c1e:s:1:a:1",
        "g1:3f2a9c1e:i:1:k:0",
        "g1:3f2a9c1e:i:1:k:400",
        "g1:3f2a9c1e:i:1:r:zz",
        "g1:3f2a9c1e:i:1:p:i",
        "g1:3f2a9c1e:s:1:p:q",
        "g1:3f2a9c1e:s:1:n:3",
        "g1:3f2a9c1e:i:1:n:11",
        "g1:3f2a9c1e:i:1:n:0",
        "g1:3f2a9c1e:s:1:a:" + "x" * 60,
        "g1:3f2a9c1e:s:1:a:\n",
    ],
)
def test_forged_or_malformed_data_is_refused(data: str | None) -> None:
    """Anything that is not exactly a button this bot makes raises BadCallback."""
    with pytest.raises(BadCallback):
        parse(data)


def test_scene_masks() -> None:
    """A redo selection travels as a 10-bit mask."""
    assert mask_scenes(scenes_mask([1, 4, 10])) == [1, 4, 10]
    assert parse(GateButton("3f2a9c1e", "images", 1, "confirm", "8").encode()).scenes == [4]


def test_settings_buttons() -> None:
    """Settings data round-trips; other shapes are refused."""
    assert parse_setting(settings_button("format", "9:16")) == ("format", "9:16")
    assert parse_setting(settings_button("voice", "Maya")) == ("voice", "Maya")  # Runway's
    assert parse_setting(settings_button("captions", "off")) == ("captions", "off")
    for bad in ("set:format", "set:colour:red", "set:voice:" + "a" * 40, "g1:x"):
        with pytest.raises(BadCallback):
            parse_setting(bad)


def test_catalogues_are_complete_in_both_languages() -> None:
    """Russian and English have the same keys, the same placeholders, and no empty text."""
    en, ru = CATALOGUES["en"], CATALOGUES["ru"]
    assert set(en) == set(ru)
    for key in en:
        assert placeholders(en[key]) == placeholders(ru[key]), key
        assert en[key].strip() and ru[key].strip(), key


def test_every_key_used_in_code_exists() -> None:
    """Keys named in the bot and the channel are in the catalogue (a typo would raise there)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    used: set[str] = set()
    for path in [*root.glob("bot/**/*.py"), root / "videobot/chat_texts.py"]:
        used |= set(re.findall(r'\btr\([^,()]+, "([a-z_]+)"', path.read_text()))
    assert used and used <= set(CATALOGUES["en"]), used - set(CATALOGUES["en"])


def test_language_choice() -> None:
    """The person's choice wins, then their Telegram language, then English."""
    assert pick_language(None, "ru-RU") == "ru"
    assert pick_language("en", "ru") == "en"
    assert pick_language(None, "de") == "en"
    assert tr("ru", "accepted", job="abc") == "Принято! Видео abc в работе."


def test_keyboards_carry_valid_buttons() -> None:
    """Every keyboard's buttons parse, name the job, and fit Telegram's limit."""
    keyboards = [
        gate_keyboard("ru", JOB, "script", 1),
        gate_keyboard("en", JOB, "images", 2),
        gate_keyboard("en", JOB, "clips", 1),
        redo_keyboard("en", JOB, "images", 1, 0b1001),
        edit_keyboard("en", JOB, "script", 1),
        edit_keyboard("en", JOB, "images", 1),
    ]
    for keyboard in keyboards:
        for _label, data in (button for row in keyboard for button in row):
            assert parse(data).job == "3f2a9c1e"
    clips = [label for row in gate_keyboard("en", JOB, "clips", 1) for label, _ in row]
    assert clips == ["✅ Approve all", "🔁 Redo", "✖️ Cancel"]
    redo = redo_keyboard("en", JOB, "images", 1, 0b1000)
    assert redo[0][3][0] == "☑ 4" and redo[2][0][0] == "Redo 1 scene(s)"
    assert parse(redo[0][3][1]).scenes == []  # pressing it again clears the selection


def test_progress_bar() -> None:
    assert progress_bar(4, 10) == "▓▓▓▓░░░░░░"
    assert progress_bar(0, 0) == "░" * 10


def test_a_long_wait_is_told_in_minutes() -> None:
    """2924 s reads "49 min" (rounded up), 12.2 s reads "13 s", in each language."""
    from bot.guards import wait_text

    assert wait_text("en", 2924) == "49 min"
    assert wait_text("ru", 2924) == "49 мин"
    assert wait_text("en", 12.2) == "13 s"
    assert wait_text("ru", 0.2) == "1 с"


def test_importing_prefect_configures_the_root_logger_first() -> None:
    """The upstream behaviour bot/__main__.py works around (`basicConfig(force=True)`): once
    Prefect's API is imported (`from prefect import get_client`, as the bot's modules do),
    the root logger has Prefect's handler at WARNING, and a plain basicConfig leaves it so,
    dropping the bot's INFO lines."""
    probe = (
        "import logging\n"
        "from prefect import get_client\n"
        "logging.basicConfig(level='INFO')\n"
        "print(logging.getLevelName(logging.getLogger().level))"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                           check=True)
    assert shown.stdout.strip() == "WARNING"


def test_a_refusal_is_told_as_its_gate_allows() -> None:
    """Approving with scenes missing: the images gate offers a redo or a new prompt, the clips
    gate (which has no Edit button) a redo; a style edit with no "Label: value" in it is
    refused with an example rather than taken."""
    from bot.deciding import refusal_text
    from videobot.decisions import Decision, refusal

    approve = Decision.make("approve", "t")
    told = {
        (lang, stage): refusal_text(lang, found)
        for lang in ("en", "ru")
        for stage in ("images", "clips")
        if (found := refusal(stage, approve, language=lang, unready=[2, 4])) is not None
    }
    assert told == {
        ("en", "images"): "Scene(s) 3, 5 have no picture yet: redo them or edit their prompt.",
        ("en", "clips"): "Scene(s) 3, 5 have no clip yet: redo them.",
        ("ru", "images"): "Сцены без картинки: 3, 5. Переделайте их или измените описание.",
        ("ru", "clips"): "Сцены без клипа: 3, 5. Переделайте их.",
    }
    empty = refusal("script", Decision.make("edit", "t", part="style", text=" - ; "),
                    language="en", unready=[])
    assert empty is not None and empty.code == "style_empty"
    assert "“Palette: teal, coral”" in refusal_text("en", empty)
    taken = Decision.make("edit", "t", part="style", text="Palette: teal, coral")
    assert refusal("script", taken, language="en", unready=[]) is None


def test_the_script_shows_each_parts_time_in_the_readers_units() -> None:
    from videobot.chat_texts import script_message
    from videobot.providers.base import ScriptRequest
    from videobot.providers.offline.script_writer import OfflineScriptWriter

    script, _ = OfflineScriptWriter().write_script(ScriptRequest("How tides work", "en"))
    assert "(0-15 s)\n" in script_message("en", script, 1, None)
    russian = script_message("ru", script, 1, None)
    assert "(0–15 с)\n" in russian and "(15–35 с)\n" in russian and " s)" not in russian
