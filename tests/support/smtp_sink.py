"""A real SMTP server for pwsentry's tests: aiosmtpd (Debian's
python3-aiosmtpd) with this handler writes every message it accepts to a
directory as one JSON file, decoded by Python's email package, so that the
tests can check recipients, headers and body without a MIME parser.

    PYTHONPATH=tests/support python3 -m aiosmtpd -n -l 127.0.0.1:PORT \
        -c smtp_sink.JsonSink OUT_DIR

A recipient whose address starts with "reject" is refused at RCPT
(550), so the tests can see one refused mail among accepted ones.

Run as a script, it serves STARTTLS and requires SMTP AUTH (PLAIN or
LOGIN, only after STARTTLS) with one user and password, which aiosmtpd's
command line cannot set up:

    python3 tests/support/smtp_sink.py PORT OUT_DIR CERT KEY USER PASSWORD
"""

import email
import email.policy
import json
import os
import ssl
import sys
import time
import uuid


class JsonSink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        os.makedirs(out_dir, exist_ok=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("JsonSink needs the output directory")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        )
        record = {
            "peer": list(session.peer),
            "tls": session.ssl is not None,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "content_type": msg.get_content_type(),
            "body": msg.get_content(),
            "header_names": [k.lower() for k in msg.keys()],
        }
        name = "%d-%s.json" % (time.time_ns(), uuid.uuid4().hex)
        tmp = os.path.join(self.out_dir, "." + name)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out_dir, name))
        return "250 Message accepted for delivery"


def main(port, out_dir, cert, key, user, password):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            getattr(auth_data, "login", None) == user.encode()
            and getattr(auth_data, "password", None) == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        JsonSink(out_dir),
        hostname="127.0.0.1",
        port=int(port),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    while True:  # until the test kills it
        time.sleep(3600)


if __name__ == "__main__":
    main(*sys.argv[1:])
