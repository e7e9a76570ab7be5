#!/usr/bin/python3
"""A real SMTP server (aiosmtpd, from Debian's python3-aiosmtpd) on 127.0.0.1 for the relay
probe tests. Prints the port it listens on, then serves until stdin closes.

--tls none|starttls|implicit   how TLS is offered
--cert/--key                   PEM files (needed unless --tls none)
--auth                         offer AUTH LOGIN PLAIN (after STARTTLS when TLS is offered)
--max-tls 1.2|1.3              newest TLS version offered
"""
import argparse
import asyncio
import logging
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


def refuse_all(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


async def main():
    # Handshakes the probe aborts on purpose (certificate checks) are not news in a test log.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    p = argparse.ArgumentParser()
    p.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", action="store_true")
    p.add_argument("--max-tls", choices=["1.2", "1.3"], default="1.3")
    a = p.parse_args()

    ctx = None
    if a.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.max_tls == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    def factory():
        return SMTP(
            Sink(),
            hostname="relay.test",
            ident="maildrift test relay",
            tls_context=ctx if a.tls == "starttls" else None,
            require_starttls=False,
            authenticator=refuse_all if a.auth else None,
            # Without --auth, no mechanism is left to announce: no AUTH line at all.
            auth_exclude_mechanism=None if a.auth else ["LOGIN", "PLAIN"],
            # Without TLS, AUTH is offered only when the server is told it may be.
            auth_require_tls=a.tls == "starttls",
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, host="127.0.0.1", port=0, ssl=ctx if a.tls == "implicit" else None
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    # Serve until the test closes our stdin (or kills us).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
