"""Media in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Ceph...) through boto3.

Keys and region come from the environment under AWS's usual names (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` or `AWS_DEFAULT_REGION`), read by
boto3 itself, so no credential passes through this program's settings or messages. A server
other than AWS is named by `MEDIA_STORE_ENDPOINT_URL` (or boto3's own `AWS_ENDPOINT_URL_S3` /
`AWS_ENDPOINT_URL`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from videobot.media.store import MediaStoreError, clean_key, legacy_file

# S3 deletes at most 1000 keys per request.
_DELETE_BATCH = 1000


def _reason(exc: Exception) -> str:
    """A short reason from a boto3 error: the service's error code and message, or the
    connection failure's kind; never a URL with a signature or a key."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error") or {}
        code, message = error.get("Code"), error.get("Message")
        if code or message:
            return " ".join(str(part) for part in (code, message) if part)
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return "no credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set)"
    if isinstance(exc, EndpointConnectionError):
        return "its server does not answer"
    return type(exc).__name__


def _missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    code = str(((response or {}).get("Error") or {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class BucketStore:
    """One bucket and a prefix inside it; every key lives at `prefix/key`."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")
        self.where = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"

    @classmethod
    def from_environment(cls, bucket: str, prefix: str, endpoint_url: str | None) -> BucketStore:
        import boto3
        from botocore.config import Config

        endpoint = (
            endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        config = Config(
            # boto3's own retry layer, the one this client has: throttling and 5xx answers
            # are retried with backoff before a step sees an error.
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=10,
            read_timeout=60,
            # Servers other than AWS (MinIO, moto, most on-premises ones) answer path-style
            # requests; bucket host names under a custom endpoint rarely resolve.
            s3={"addressing_style": "path" if endpoint else "auto"},
        )
        client = boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)
        return cls(client, bucket, prefix)

    def _name(self, key: str) -> str:
        key = clean_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def exists(self, key: str) -> bool:
        if (local := legacy_file(key)) is not None:
            return local.is_file()
        name = self._name(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _missing(exc):
                return False
            raise MediaStoreError(f"cannot read {key} from {self.where}: {_reason(exc)}") from exc
        return True

    def put(self, key: str, source: Path) -> None:
        name = self._name(key)
        try:
            # A single PUT (or a multipart upload completed at the end) is atomic in S3:
            # readers see the whole object or none.
            self.client.upload_file(str(source), self.bucket, name)
        except Exception as exc:
            raise MediaStoreError(f"cannot store {key} in {self.where}: {_reason(exc)}") from exc

    def get(self, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if (local := legacy_file(key)) is not None:
            if not local.is_file():
                raise FileNotFoundError(f"no media at {key} on this machine")
            dest.write_bytes(local.read_bytes())
            return dest
        # boto3 downloads to a temporary name and renames it when complete; the temporary
        # file sits beside `dest`, inside the step's scratch folder.
        name = self._name(key)
        try:
            self.client.download_file(self.bucket, name, str(dest))
        except Exception as exc:
            if _missing(exc):
                raise FileNotFoundError(f"no media at {key} in {self.where}") from None
            raise MediaStoreError(f"cannot read {key} from {self.where}: {_reason(exc)}") from exc
        return dest

    def delete(self, key: str) -> None:
        if (local := legacy_file(key)) is not None:
            local.unlink(missing_ok=True)
            return
        name = self._name(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            raise MediaStoreError(f"cannot delete {key} in {self.where}: {_reason(exc)}") from exc

    def _objects(self, prefix: str) -> list[tuple[str, int]]:
        """(full name, size) of every object under `prefix/`."""
        found: list[tuple[str, int]] = []
        name = self._name(prefix) + "/"
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=name
            )
            for page in pages:
                found += [(o["Key"], int(o["Size"])) for o in page.get("Contents", [])]
        except Exception as exc:
            raise MediaStoreError(f"cannot list {prefix} in {self.where}: {_reason(exc)}") from exc
        return found

    def delete_prefix(self, prefix: str) -> tuple[int, int]:
        objects = self._objects(prefix)
        for start in range(0, len(objects), _DELETE_BATCH):
            batch = [{"Key": name} for name, _ in objects[start:start + _DELETE_BATCH]]
            try:
                reply = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except Exception as exc:
                raise MediaStoreError(
                    f"cannot delete {prefix} in {self.where}: {_reason(exc)}"
                ) from exc
            if reply.get("Errors"):
                first = reply["Errors"][0]
                raise MediaStoreError(f"cannot delete {first.get('Key')} in {self.where}: "
                                      f"{first.get('Code')} {first.get('Message')}")
        return len(objects), sum(size for _, size in objects)

    def keys(self, prefix: str) -> list[str]:
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(name[cut:] for name, _ in self._objects(prefix))

    def locate(self, key: str) -> str:
        if legacy_file(key) is not None:
            return key
        return f"s3://{self.bucket}/{self._name(key)}"

    def check(self) -> None:
        """The bucket answers, and lets this machine write and delete under the prefix."""
        probe = f".check/{os.getpid()}"
        try:
            self.client.head_bucket(Bucket=self.bucket)
            with tempfile.NamedTemporaryFile(prefix="videobot-check-") as empty:
                self.client.upload_file(empty.name, self.bucket, self._name(probe))
            self.client.delete_object(Bucket=self.bucket, Key=self._name(probe))
        except Exception as exc:
            raise MediaStoreError(f"cannot use the media store {self.where}: "
                                  f"{_reason(exc)}") from exc
