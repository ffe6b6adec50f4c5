"""The Prefect UI can judge a gate: each round's artifacts, read back through the Prefect API,
carry the contact sheet as a picture inside the page, the estimate, and the scenes with state,
error and cost first, under a key and description naming the stage and the round."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any

from PIL import Image
from prefect import flow

from orchestration.runs import api_client
from tasks.artifacts import publish_gate
from tasks.runtime import runtime
from tests.helpers import new_job
from videobot.formats import VideoFormat
from videobot.media import make_contact_sheet
from videobot.naming import short_id
from videobot.providers.base import ScriptRequest
from videobot.providers.offline.script_writer import OfflineScriptWriter


@flow(name="publish-gates")
def _publish(job_id: Any, sheet: str) -> None:
    """Two rounds of the images gate, published from a run as the pipeline publishes them."""
    publish_gate(job_id, "images", 1, sheet, "approving animates the clips ($2.50).")
    publish_gate(job_id, "images", 2, sheet,
                 "approving animates the ten images into clips with gen4.5 (estimated $6.00).")


def _artifacts(keys: list[str]) -> dict[str, dict[str, Any]]:
    with api_client() as client:
        found = client.request("POST", "/artifacts/latest/filter", json={
            "artifacts": {"key": {"any_": keys}}, "limit": 10, "offset": 0,
        }).json()
    return {a["key"]: a for a in found}


def test_a_gate_round_publishes_its_picture_estimate_and_scenes(
    prefect_server: str, tmp_path: Path
) -> None:
    """Round 2 of the images gate: the sheet as an embedded JPEG (no server path), the
    estimate, the failed scene named; a table whose first columns are scene, state, error and
    cost; round 1's cards are not overwritten."""
    store = runtime().store
    job_id = new_job("How tides work")
    writer = OfflineScriptWriter()
    script, _ = writer.write_script(ScriptRequest("How tides work", "en"))
    store.save_plan(job_id, writer.plan_segments(script, "en")[0])
    frames: list[Path | None] = []
    for scene in range(10):
        if scene == 6:
            store.update_segment(job_id, scene, image_status="failed", error="refused")
            frames.append(None)
            continue
        path = tmp_path / f"scene-{scene}.png"
        Image.new("RGB", VideoFormat.LANDSCAPE.size, (20 * scene, 80, 160)).save(path)
        store.record_image(job_id, scene, path, 2 if scene == 2 else 1)
        frames.append(path)
    sheet = make_contact_sheet(frames, tmp_path / "sheet.jpg")
    _publish(job_id, str(sheet))

    short = short_id(job_id)
    keys = [f"images-r{n}-{short}" for n in (1, 2)] + [f"images-r2-scenes-{short}"]
    found = _artifacts(keys)
    assert set(found) == set(keys)
    page = found[f"images-r2-{short}"]
    assert page["description"] == "Images gate, round 2: contact sheet and estimate"
    match = re.search(r"!\[[^\]]*\]\(data:image/jpeg;base64,([A-Za-z0-9+/=]+)\)", page["data"])
    assert match, "the picture travels inside the artifact"
    with Image.open(io.BytesIO(base64.b64decode(match.group(1)))) as picture:
        assert picture.format == "JPEG" and picture.width <= 1280
    assert str(tmp_path) not in page["data"]
    assert "with gen4.5 (estimated $6.00)" in page["data"]
    assert "Scenes without media:** 7" in page["data"]
    assert "$2.50" in found[f"images-r1-{short}"]["data"], "round 1 keeps its own card"

    table = found[f"images-r2-scenes-{short}"]
    assert table["description"] == "Images gate, round 2: scenes, state, error and cost"
    rows = json.loads(table["data"])
    assert list(rows[0])[:4] == ["scene", "state", "error", "cost usd"]
    assert rows[2]["state"] == "ready (round 2)"
    assert (rows[6]["state"], rows[6]["error"]) == ("failed", "refused")
