"""A local SMTP server for tests: speaks enough of RFC 5321 for smtplib, keeps what it gets."""

from __future__ import annotations

import contextlib
import email
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message


@dataclass
class FakeSmtp:
    """Messages received, and whether to refuse them (a full mailbox, a server in trouble)."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: bool = False


def _handler(fake: FakeSmtp) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def handle(self) -> None:
            sender, recipients = "", list[str]()
            self.reply("220 fake.smtp ESMTP")
            while raw := self.rfile.readline():
                command = raw.decode().strip()
                verb = command.split(" ", 1)[0].upper()
                if verb in {"EHLO", "HELO"}:
                    self.reply("250 fake.smtp")
                elif verb == "MAIL":
                    if fake.refuse:
                        self.reply("451 4.3.0 try again later")
                        continue
                    sender, recipients = command.split(":", 1)[1].strip(" <>"), []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    recipients.append(command.split(":", 1)[1].strip(" <>"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    data = bytearray()
                    while (line := self.rfile.readline()) not in {b".\r\n", b""}:
                        data += line[1:] if line.startswith(b"..") else line
                    fake.messages.append(email.message_from_bytes(bytes(data)))
                    fake.envelopes.append((sender, recipients))
                    self.reply("250 OK queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 OK" if verb in {"RSET", "NOOP"} else "502 not implemented")

    return Handler


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[FakeSmtp, str]]:
    """A running fake and its ``smtp://`` URL."""
    fake = FakeSmtp()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield fake, f"smtp://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
