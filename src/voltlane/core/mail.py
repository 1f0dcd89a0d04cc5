"""Sending one e-mail over SMTP (stdlib ``smtplib``, in a worker thread).

``VOLTLANE_SMTP_URL`` says where: ``smtp://[user:password@]host[:port]`` (plain, port 25),
``smtp+starttls://…`` (STARTTLS, port 587) or ``smtps://…`` (TLS, port 465). The URL may hold
a password: it is never logged.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server (retried by the caller)."""


@dataclass(frozen=True, slots=True)
class Mail:
    sender_name: str
    sender: str
    recipient: str
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in _PORTS or not parts.hostname:
            raise ValueError("an SMTP URL is smtp://, smtp+starttls:// or smtps:// with a host")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or _PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _message(mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((mail.sender_name, mail.sender))
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    message.set_content(mail.body)
    return message


def _send(server: SmtpServer, mail: Mail, timeout: float) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if server.scheme == "smtps":
        client = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with client:
        if server.scheme == "smtp+starttls":
            client.starttls(context=context)
        if server.username:
            client.login(server.username, server.password or "")
        client.send_message(_message(mail))


SMTP_TIMEOUT = 20.0  # seconds per socket operation


async def send_mail(server: SmtpServer, mail: Mail) -> None:
    """Hand ``mail`` to ``server``; MailError (without the credentials) when it refuses or
    cannot be reached."""
    try:
        await asyncio.to_thread(_send, server, mail, SMTP_TIMEOUT)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}"[:300]) from None
