"""A plain-HTTP Prefect API on this machine: videobot's own clients load no certificates, and
the flow-run processes get a certificate file that loads at once and trusts no server; any
other API keeps Prefect's settings."""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from orchestration.local_api import (
    CERT_FILE_VARIABLE,
    certificates_skipped,
    client_settings,
    is_local_plain_http,
    plain_http_tls,
    skip_certificates_for_local_api,
)


@pytest.fixture(autouse=True)
def no_cert_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CERT_FILE_VARIABLE, raising=False)  # restored after each test


@pytest.mark.parametrize(("api_url", "local"), [
    ("http://127.0.0.1:4200/api", True),
    ("http://localhost:4200/api", True),
    ("http://[::1]:4200/api", True),
    ("https://127.0.0.1:4200/api", False),
    ("http://prefect.internal:4200/api", False),
    ("https://api.prefect.cloud/api/accounts/a/workspaces/w", False),
    (None, False),
])
def test_only_a_plain_http_api_on_this_machine_counts_as_local(
    api_url: str | None, local: bool, tmp_path: Path
) -> None:
    assert is_local_plain_http(api_url) is local
    assert (client_settings(api_url) is not None) is local
    written = skip_certificates_for_local_api(api_url, tmp_path)
    assert (written is not None) is local
    assert os.environ.get(CERT_FILE_VARIABLE) == (str(written) if local else None)


def test_the_file_holds_one_authority_none_of_the_public_ones(tmp_path: Path) -> None:
    path = skip_certificates_for_local_api("http://127.0.0.1:4200/api", tmp_path)
    assert path is not None and path.parent == tmp_path
    context = ssl.create_default_context(cafile=path)  # as Prefect loads it
    (authority,) = context.get_ca_certs()
    assert authority["subject"] == ((("commonName",
                                      "videobot: no TLS to a plain-HTTP Prefect API"),),)
    public = ssl.create_default_context(cafile=certifi.where()).get_ca_certs()
    assert len(public) > 100 and authority not in public


def test_an_operators_file_and_an_existing_one_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = skip_certificates_for_local_api("http://127.0.0.1:4200/api", tmp_path)
    assert first is not None
    written = first.read_bytes()
    monkeypatch.delenv(CERT_FILE_VARIABLE)
    again = skip_certificates_for_local_api("http://127.0.0.1:4200/api", tmp_path)
    assert again == first and first.read_bytes() == written  # a second process reuses it
    monkeypatch.setenv(CERT_FILE_VARIABLE, "/etc/ssl/our-ca.pem")
    assert skip_certificates_for_local_api("http://127.0.0.1:4200/api", tmp_path) is None
    assert os.environ[CERT_FILE_VARIABLE] == "/etc/ssl/our-ca.pem"


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def local_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The certificate files TLS contexts are made from (None: the default bundle), in order."""
    files: list[object] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        files.append(kwargs.get("cafile"))
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counting)
    return files


def test_prefect_loads_certificates_for_every_client_and_a_local_one_for_none(
    loaded: list[object], local_url: str
) -> None:
    """Prefect's behaviour the unused TLS context is for: every client it builds without
    one loads a certificate bundle (`ssl.create_default_context`, 25 ms of CPU), even for
    a plain-HTTP API. Should it stop, this fails, and `plain_http_tls` can go. A client for
    an API on this machine loads none, and still gets its answers."""
    with temporary_settings({PREFECT_API_URL: local_url}):
        get_client(sync_client=True)
        get_client(sync_client=True)
        assert len(loaded) == 2
        settings = client_settings(local_url)
        assert settings is not None
        get_client(sync_client=True, httpx_settings=settings)
    assert len(loaded) == 2
    with httpx.Client(**settings) as client:
        assert client.get(f"{local_url}/health").text == "ok"


def test_the_local_tls_context_trusts_no_certificate() -> None:
    """Were it ever handed a TLS connection, it would refuse it rather than skip the check."""
    context = plain_http_tls()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 0


def test_a_flow_in_this_process_loads_the_file_while_the_block_runs(
    loaded: list[object], local_url: str, tmp_path: Path
) -> None:
    """`videobot make` runs its flow in its own process: every Prefect client the flow builds
    (a provider slot's among them) loads the file that trusts no server, not a bundle of
    public authorities (18 ms of CPU each, measured); after the block, Prefect's settings
    are back."""
    with temporary_settings({PREFECT_API_URL: local_url}):
        with certificates_skipped(local_url, tmp_path):
            get_client(sync_client=True)
        get_client(sync_client=True)
    written = str(tmp_path / "videobot-plain-http-api-ca.pem")
    assert len(loaded) == 2 and loaded[0] == written
    assert loaded[1] not in (written, None)  # Prefect's own bundle again
