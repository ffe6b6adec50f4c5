"""A Prefect API on this machine over plain HTTP, and what its clients can skip.

Prefect builds a TLS context for every API client it makes, loading the certificates it
trusts for the API (certifi's bundle, about 150 authorities, unless `PREFECT_API_SSL_CERT_FILE`
names a file): 25 ms of CPU each, even for http://, where no TLS ever happens
(`prefect.client.orchestration`, also its version check and websockets). A flow-run process
makes eight (its own, the events and log workers, the slot service, the suspension
observer...): measured over the flow-run processes of `benchmarks/gates.py`, 226 ms of CPU
each on certificates it never used, at every start and resume; 8 ms with the file below.

A client videobot makes itself (`orchestration.runs.api_client`: the bot, the CLI, a flow's
start) gets, for such an API, a TLS context that is never used and loads nothing
(`plain_http_tls`): building a client went from 52 ms of CPU to 1.4 ms. A process that starts
flow-run processes (`python -m deployments.serve`, `videobot worker`) hands them, when the API
is plain HTTP on this machine, a certificate file holding one authority whose key was thrown
away as soon as it signed: it loads in microseconds and vouches for no server. `videobot make`,
whose flow runs in its own process, uses the same file for its own clients
(`certificates_skipped`): there, nine image tasks start at once and taking a provider slot
cost each about 60 ms of CPU, most of it certificates; with the file, the image stage at a
cap of 10 went from 1.21-1.25 to 1.17-1.18 times its ideal time (benchmarks/providers.py).
Any other API (TLS, or another machine, where a proxy or TLS may be set up) keeps Prefect's
settings, and so does a file the operator chose.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

CERT_FILE_VARIABLE = "PREFECT_API_SSL_CERT_FILE"
CERT_FILE_NAME = "videobot-plain-http-api-ca.pem"


def is_local_plain_http(api_url: str | None) -> bool:
    """The API is reached over plain HTTP on a loopback address."""
    if not api_url:
        return False
    url = httpx.URL(api_url)
    return url.scheme == "http" and _loopback(url.host)


def client_settings(api_url: str | None) -> dict[str, Any] | None:
    """`httpx_settings` for Prefect's `get_client`: an unused TLS context for a plain-HTTP
    API on this machine; None (Prefect's own settings) for any other."""
    return {"verify": plain_http_tls()} if is_local_plain_http(api_url) else None


def plain_http_tls() -> ssl.SSLContext:
    """A TLS context for a client that speaks only plain HTTP: verifying, with no
    certificate authority loaded, so it could never carry a connection that is not checked.
    Made in microseconds; a default one loads certifi's bundle (25 ms of CPU)."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def skip_certificates_for_local_api(api_url: str | None, folder: Path) -> Path | None:
    """For a plain-HTTP API on this machine, point `PREFECT_API_SSL_CERT_FILE` of this
    process's environment (which the flow-run processes it starts inherit) at a file that
    trusts no server, written in `folder`. Returns the file; None where nothing changed."""
    if not is_local_plain_http(api_url) or os.environ.get(CERT_FILE_VARIABLE):
        return None
    path = folder / CERT_FILE_NAME
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_bytes(orphan_authority_pem())
        partial.replace(path)  # atomic: two processes starting at once write alike
    os.environ[CERT_FILE_VARIABLE] = str(path)
    return path


@contextmanager
def certificates_skipped(api_url: str | None, folder: Path) -> Iterator[None]:
    """`skip_certificates_for_local_api` for the Prefect clients of this very process too
    (a flow run in it: `videobot make`), while the block runs."""
    from prefect.settings import PREFECT_API_SSL_CERT_FILE, temporary_settings

    path = skip_certificates_for_local_api(api_url, folder)
    if path is None:
        yield
        return
    with temporary_settings({PREFECT_API_SSL_CERT_FILE: str(path)}):
        yield


def orphan_authority_pem() -> bytes:
    """A self-signed certificate authority whose private key is discarded here: nothing it
    could sign exists, so a client trusting only it trusts no server."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, "videobot: no TLS to a plain-HTTP Prefect API"),
    ])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
