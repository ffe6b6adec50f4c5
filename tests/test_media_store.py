"""The media store: the local folder and an S3-compatible bucket (moto's server on 127.0.0.1)
behave alike; steps' scratch copies go when the step ends; provider tasks are journalled under
store keys."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.serving import free_port
from videobot.media.bucket_store import BucketStore
from videobot.media.scratch import Scratch, StoreKeyedJournal
from videobot.media.store import (
    LocalFolderStore,
    MediaStore,
    MediaStoreError,
    UnsafeMediaPath,
    open_media_store,
)
from videobot.settings import ConfigurationError, Settings

# moto accepts any credentials; boto3 reads these from the environment as it would AWS's.
S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
          "AWS_REGION": "us-east-1"}


class S3Server:
    """moto's S3-compatible server in its own process, on a free port of 127.0.0.1."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> S3Server:
        server = Path(sys.executable).with_name("moto_server")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=60, what="the S3 server")
        return self

    def _up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                return True
        except OSError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def store(self, bucket: str, prefix: str = "") -> BucketStore:
        """A store on `bucket` (made if missing), with a client as MEDIA_STORE would make."""
        env = {**S3_ENV, "AWS_ENDPOINT_URL": self.url}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            store = BucketStore.from_environment(bucket, prefix, None)
        with contextlib.suppress(store.client.exceptions.BucketAlreadyOwnedByYou):
            store.client.create_bucket(Bucket=bucket)
        return store


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with S3Server(tmp_path_factory.mktemp("s3") / "moto.log") as server:
        yield server


@pytest.fixture(params=["folder", "bucket"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    """The same checks on the local folder and on a bucket (under a prefix)."""
    if request.param == "folder":
        return LocalFolderStore(tmp_path / "media")
    server: S3Server = request.getfixturevalue("s3")
    return server.store(f"media-{tmp_path.name[-20:].lower().replace('_', '-')}", "videobot")


def _file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_get_list_and_delete_a_jobs_media(files: MediaStore, tmp_path: Path) -> None:
    """What is put can be read back, listed under its job, and deleted with the job's prefix,
    which counts the objects and bytes it removed and leaves other jobs alone."""
    source = _file(tmp_path / "src" / "a.png", b"a" * 1000)
    files.put("job-1/images/scene-01-r1.png", source)
    files.put("job-1/clips/scene-01-r1.mp4", _file(tmp_path / "src" / "b.mp4", b"b" * 2000))
    files.put("job-2/video.mp4", _file(tmp_path / "src" / "c.mp4", b"c" * 3000))
    assert files.exists("job-1/images/scene-01-r1.png")
    assert not files.exists("job-1/images/scene-02-r1.png")
    copy = files.get("job-1/images/scene-01-r1.png", tmp_path / "copy" / "a.png")
    assert copy.read_bytes() == b"a" * 1000
    assert files.keys("job-1") == ["job-1/clips/scene-01-r1.mp4", "job-1/images/scene-01-r1.png"]
    with pytest.raises(FileNotFoundError):
        files.get("job-1/missing.png", tmp_path / "copy" / "m.png")

    assert files.delete_prefix("job-1") == (2, 3000)
    assert files.keys("job-1") == [] and files.delete_prefix("job-1") == (0, 0)
    assert files.exists("job-2/video.mp4")
    files.delete("job-2/video.mp4")
    assert not files.exists("job-2/video.mp4")


def test_keys_that_leave_the_store_are_refused(files: MediaStore, tmp_path: Path) -> None:
    """A key with `..`, an empty part or a leading slash never reaches the store."""
    source = _file(tmp_path / "a.png", b"a")
    for bad in ("../x.png", "job/../../x.png", "job//x.png", "./x.png", ""):
        with pytest.raises(UnsafeMediaPath):
            files.put(bad, source)


def test_an_older_rows_absolute_path_is_still_read(files: MediaStore, tmp_path: Path) -> None:
    """Rows written before store keys hold absolute local paths: they are read (and deleted)
    as the files they name, on either store."""
    legacy = _file(tmp_path / "old-media" / "job" / "video.mp4", b"old")
    assert files.exists(str(legacy))
    with Scratch(files, tmp_path / "scratch") as scratch:
        assert scratch.fetch(str(legacy)).read_bytes() == b"old"
    files.delete(str(legacy))
    assert not legacy.exists()


def test_a_steps_scratch_is_emptied_and_a_refused_output_kept(tmp_path: Path) -> None:
    """Inputs and in-between files go when the step ends; a stored output leaves no copy; an
    output the store refused stays for the next attempt, which stores it."""
    files = LocalFolderStore(tmp_path / "media")
    files.put("job/images/scene-01-r1.png", _file(tmp_path / "a.png", b"picture"))
    _file(tmp_path / "media" / "job" / "clips", b"a file where a folder should be")
    root = tmp_path / "scratch"
    with Scratch(files, root) as scratch:
        assert scratch.fetch("job/images/scene-01-r1.png").read_bytes() == b"picture"
        _file(scratch.temp("frame.png"), b"frame")
        _file(scratch.output("job/audio/intro.wav"), b"speech")
        _file(scratch.output("job/audio/intro.words.json"), b"[]")
        scratch.store("job/audio/intro.wav")
        _file(scratch.output("job/clips/scene-01-r1.mp4"), b"clip")
        with pytest.raises(OSError):
            scratch.store("job/clips/scene-01-r1.mp4")
    left = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert left == ["out/job/clips/scene-01-r1.mp4"]
    assert files.get("job/audio/intro.wav", tmp_path / "x.wav").read_bytes() == b"speech"

    (tmp_path / "media" / "job" / "clips").unlink()  # the fault is gone
    with Scratch(files, root) as scratch:
        assert scratch.output("job/clips/scene-01-r1.mp4").is_file()
        scratch.store("job/clips/scene-01-r1.mp4")
    assert files.exists("job/clips/scene-01-r1.mp4")
    assert not [p for p in root.rglob("*") if p.is_file()]


def test_provider_tasks_are_journalled_under_store_keys(tmp_path: Path) -> None:
    """A task a provider names by its scratch file is recorded under the store key, so a
    worker on another machine (another scratch folder) finds it."""

    class Journal:
        def __init__(self) -> None:
            self.rows: dict[str, str] = {}

        def open_task(self, key: str) -> str | None:
            return self.rows.get(key)

        def record_task(self, key: str, provider: str, task_id: str) -> None:
            self.rows[key] = task_id

        def close_task(self, key: str) -> None:
            self.rows.pop(key, None)

        def open_tasks(self, prefix: str) -> list[tuple[str, str, str]]:
            return [(k, "runway", t) for k, t in self.rows.items() if k.startswith(prefix)]

    journal = Journal()
    here = StoreKeyedJournal(journal, tmp_path / "machine-a")
    there = StoreKeyedJournal(journal, tmp_path / "machine-b")
    here.record_task(str(tmp_path / "machine-a" / "out" / "job" / "clips" / "s.mp4"), "runway",
                     "task-1")
    here.record_task(str(tmp_path / "machine-a" / "out" / "job" / "audio" / "i.wav") + "#2",
                     "runway", "task-2")
    assert journal.rows == {"job/clips/s.mp4": "task-1", "job/audio/i.wav#2": "task-2"}
    assert there.open_task(str(tmp_path / "machine-b" / "out" / "job" / "clips" / "s.mp4")) \
        == "task-1"
    assert there.open_task("/elsewhere/clip.mp4") is None  # other keys pass through as given

    # Kept in the store: the records of the medium and of its parts are crossed off, no other.
    here.record_task(str(tmp_path / "machine-a" / "out" / "job" / "audio" / "i.wav") + "#1",
                     "runway", "task-3")
    here.record_task(str(tmp_path / "machine-a" / "out" / "job" / "audio" / "i.wav.bak"),
                     "runway", "task-4")
    there.close_kept("job/audio/i.wav")
    assert journal.rows == {"job/clips/s.mp4": "task-1", "job/audio/i.wav.bak": "task-4"}


def test_the_settings_choose_the_store(s3: S3Server, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No MEDIA_STORE: the local folder; s3://bucket/prefix: that bucket, found through the
    endpoint setting and AWS's usual variables; a bucket that is missing fails its check in
    one line naming it; a malformed URL is refused."""
    assert isinstance(open_media_store(Settings(data_dir=tmp_path)), LocalFolderStore)
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    s3.store("chosen")
    chosen = open_media_store(Settings(data_dir=tmp_path, media_store="s3://chosen/videos",
                                       media_store_endpoint_url=s3.url))
    assert chosen.where == "s3://chosen/videos"
    chosen.check()
    chosen.put("job/a.txt", _file(tmp_path / "a.txt", b"a"))
    assert chosen.locate("job/a.txt") == "s3://chosen/videos/job/a.txt"
    missing = open_media_store(Settings(data_dir=tmp_path, media_store="s3://nobucket/x",
                                        media_store_endpoint_url=s3.url))
    with pytest.raises(MediaStoreError, match=r"s3://nobucket/x: NoSuchBucket|404"):
        missing.check()
    with pytest.raises(ConfigurationError):
        open_media_store(Settings(data_dir=tmp_path, media_store="bucket/prefix"))


def test_the_telegram_channel_sends_the_video_from_the_bucket(s3: S3Server, tmp_path: Path) -> None:
    """The finished video reaches the chat as the bytes stored in the bucket, and the channel
    leaves no copy in its scratch folder."""
    from tests.fakes.telegram_server import FakeTelegram
    from videobot.db.bot_records import BotRecords
    from videobot.db.engine import Database
    from videobot.db.store import JobStore
    from videobot.media import run_ffmpeg
    from videobot.telegram import BotApi, TelegramChannel

    video = tmp_path / "video.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x180:d=1", "-pix_fmt", "yuv420p", str(video)],
               what="a test video")
    bucket = s3.store("channel", "media")
    db = Database(f"sqlite:///{tmp_path / 'app.db'}")
    db.migrate()
    store = JobStore(db)
    job = store.create_job(user_id="tg:9", prompt="How tides work", language="en", fmt="16:9",
                           chat_id="9")
    bucket.put(f"{job.id}/video.mp4", video)
    with FakeTelegram() as tg:
        settings = Settings(data_dir=tmp_path / "data", telegram_bot_token=tg.token,
                            telegram_api_base_url=tg.url)
        channel = TelegramChannel(settings, store, BotRecords(db), BotApi(tg.url, tg.token),
                                  bucket)
        channel.deliver(store.job(job.id), Path(f"{job.id}/video.mp4"))
        (sent,) = tg.calls_to("sendVideo")
    assert sent.files["video"].data == video.read_bytes()
    assert not [p for p in settings.scratch_dir.rglob("*") if p.is_file()]


def test_a_killed_steps_scratch_is_removed_by_the_next_step(tmp_path: Path) -> None:
    """A process killed mid-step leaves its folder; the next step on the machine removes it,
    and leaves alone the folder of a step still running."""
    files = LocalFolderStore(tmp_path / "media")
    root = tmp_path / "scratch"
    code = ("import sys, time; from pathlib import Path\n"
            "from videobot.media.scratch import Scratch\n"
            "from videobot.media.store import LocalFolderStore\n"
            "s = Scratch(LocalFolderStore(Path(sys.argv[1])), Path(sys.argv[2]))\n"
            "s.temp('frame.png').write_bytes(b'frame'); print(s.folder, flush=True)\n"
            "time.sleep(60)\n")
    step = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "media"), str(root)],
                            stdout=subprocess.PIPE, text=True)
    assert step.stdout is not None
    killed = Path(step.stdout.readline().strip())
    with Scratch(files, root) as running:
        assert killed.is_dir()  # its process is alive: not touched
        step.kill()
        step.wait()
        with Scratch(files, root) as later:
            assert not killed.exists()
            assert running.folder.is_dir() and later.folder.is_dir()
    assert not list((root / "steps").iterdir())


def test_steps_starting_at_once_never_remove_each_others_files(tmp_path: Path) -> None:
    """Ten steps starting together (a mapped stage) each clear what killed steps left: none
    takes another's folder, just made and not yet locked, for a dead one."""
    files = LocalFolderStore(tmp_path / "media")
    files.put("job/images/scene-01-r1.png", _file(tmp_path / "a.png", b"picture"))
    root = tmp_path / "scratch"
    lost: list[str] = []

    def steps() -> None:
        for _ in range(150):
            try:
                with Scratch(files, root) as scratch:
                    fetched = scratch.fetch("job/images/scene-01-r1.png")
                    made = scratch.temp("frame.png")
                    made.write_bytes(b"frame")
                    if not (fetched.is_file() and made.is_file()):
                        lost.append(f"files gone from {scratch.folder}")
            except OSError as exc:
                lost.append(repr(exc))

    threads = [threading.Thread(target=steps) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert lost == []
    assert not list((root / "steps").iterdir())
