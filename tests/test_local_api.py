"""The flow-run processes of a plain-HTTP Prefect API on this machine get a certificate file
that loads at once and trusts no server; any other API keeps Prefect's settings."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import certifi
import pytest

from orchestration.local_api import (
    CERT_FILE_VARIABLE,
    is_local_plain_http,
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
