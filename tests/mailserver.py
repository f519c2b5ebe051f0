"""A real SMTP server for tests: aiosmtpd on loopback, started by the test, collecting what it
receives. It can be stopped and started again on the same port (a mail server outage), and can
speak STARTTLS with a throw-away certificate and ask for a password.

A test module says `pytest_plugins = ["tests.mailserver"]` and asks for `smtp` (a server with
SLRT_SMTP_URL pointing at it).

PYTEST_DONT_REWRITE: imported by test modules before pytest loads it as their plugin.
"""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import re
import ssl
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from slrt.platform.commands.embedded import free_port


class _Collector:
    def __init__(self, inbox: list[EmailMessage], lock: threading.Lock) -> None:
        self.inbox = inbox
        self.lock = lock

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.inbox.append(message)
        return "250 OK"


class MailServer:
    """aiosmtpd on 127.0.0.1:<port>; `inbox` holds every message received, in order."""

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.inbox: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.tls_context = tls_context
        self.credentials = credentials
        self.controller: Controller | None = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok)

    def start(self) -> MailServer:
        kw = {}
        if self.tls_context is not None:
            kw.update(tls_context=self.tls_context, require_starttls=True)
        if self.credentials is not None:
            kw.update(authenticator=self._authenticate, auth_required=True)
        self.controller = Controller(
            _Collector(self.inbox, self._lock), hostname="127.0.0.1", port=self.port, **kw
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """The inbox once it holds `count` messages (fails after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.inbox) >= count:
                    return list(self.inbox)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s), got {len(self.inbox)}")


def body_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage, path_start: str) -> str:
    """The first link in a mail whose path starts with `path_start`."""
    found = re.search(r"https?://[^\s]+" + re.escape(path_start) + r"[^\s]*", body_of(message))
    assert found, body_of(message)
    return found.group(0)


def self_signed(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 with a throw-away certificate, and that certificate's
    file for the client to trust (SLRT_SMTP_URL's cafile=)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@pytest.fixture
def smtp(monkeypatch) -> Iterator[MailServer]:
    """A plain SMTP server on loopback, with SLRT_SMTP_URL pointing at it."""
    server = MailServer().start()
    monkeypatch.setenv("SLRT_SMTP_URL", server.url)
    monkeypatch.setenv("SLRT_MAIL_FROM", "SLRT Uji <noreply@slrt.test>")
    try:
        yield server
    finally:
        server.stop()
