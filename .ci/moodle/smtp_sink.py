#!/usr/bin/python3
"""An SMTP server on 127.0.0.1 for the end-to-end suite: Debian's aiosmtpd (python3-aiosmtpd)
speaks SMTP; each message is stored byte for byte (so a DKIM signature can be verified) as a
Maildir file in DIR/new, with its envelope beside it as DIR/envelopes/<name>.json.

Usage: smtp_sink.py DIR   (prints the port it listens on, then serves until killed)
"""
import asyncio
import json
import os
import socket
import sys
import time

from aiosmtpd.smtp import SMTP


class MaildirHandler:
    def __init__(self, root):
        self.root = root
        for sub in ("tmp", "new", "cur", "envelopes"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%d.%d_%d.maildrift" % (time.time(), os.getpid(), self.count)
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos)}
        with open(os.path.join(self.root, "envelopes", name + ".json"), "w") as f:
            json.dump(meta, f)
        tmp = os.path.join(self.root, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        # Maildir delivery: complete in tmp/, then one rename makes it visible in new/.
        os.rename(tmp, os.path.join(self.root, "new", name))
        return "250 OK stored " + name


async def main(root):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    handler = MaildirHandler(root)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.maildrift.test", decode_data=False), sock=sock
    )
    print(sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1]))
