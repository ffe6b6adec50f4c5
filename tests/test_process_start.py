"""A flow-run process starts at every resume: what it loads before its first task counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PAID_PROVIDERS = {
    "SCRIPT_PROVIDER": "openai", "IMAGE_PROVIDER": "runway", "VIDEO_PROVIDER": "runway",
    "TTS_PROVIDER": "runway", "STT_PROVIDER": "openai",
    "OPENAI_API_KEY": "sk-test", "RUNWAYML_API_SECRET": "key_test",
}


def _printed_by_new_process(code: str, data_dir: Path) -> list[str]:
    """The lines `code` prints in a new Python process configured with paid providers."""
    env = {**os.environ, **PAID_PROVIDERS, "DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def test_a_flow_run_process_with_paid_providers_starts_without_numpy(tmp_path: Path) -> None:
    """The flows and the providers a paid configuration builds leave numpy (~0.15 s to
    import) to the steps that compute on audio or draw pictures offline."""
    check = (
        "import sys; import flows.make_video, flows.rerun_stage; "
        "from videobot.providers.registry import build_providers; "
        "from videobot.settings import get_settings; build_providers(get_settings()); "
        "print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))"
    )
    assert _printed_by_new_process(check, tmp_path) == ["[]"]


def test_a_process_loads_only_the_sdks_of_the_providers_it_uses(tmp_path: Path) -> None:
    """Providers are built on first use: a process that makes clips with Runway never loads
    the OpenAI SDK, and ten threads asking for the animator at once get one."""
    check = (
        "import sys, threading; "
        "from videobot.providers.registry import build_providers; "
        "from videobot.settings import get_settings; "
        "p = build_providers(get_settings()); "
        "print(sorted(m for m in ('openai', 'runwayml') if m in sys.modules)); "
        "got = []; "
        "ts = [threading.Thread(target=lambda: got.append(p.animator)) for _ in range(10)]; "
        "[t.start() for t in ts]; [t.join() for t in ts]; "
        "print(len({id(a) for a in got}), type(got[0]).__name__); "
        "print(sorted(m for m in ('openai', 'runwayml') if m in sys.modules)); "
        "p.writer; print(sorted(m for m in ('openai', 'runwayml') if m in sys.modules))"
    )
    assert _printed_by_new_process(check, tmp_path) == [
        "[]", "1 RunwayAnimator", "['runwayml']", "['openai', 'runwayml']",
    ]
