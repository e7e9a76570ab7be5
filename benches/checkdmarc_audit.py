#!/usr/bin/env python3
"""checkdmarc's side of the DNS-audit benchmark (benches/dns_audit.rs runs it).

Audits the given domains with checkdmarc 6.0.4 against one DNS server (the bench's
loopback hickory server) and prints one JSON line: wall seconds measured in Python around
check_domains(), the number of domains, how many got an SPF or DMARC error, and how many
questions checkdmarc sent by record type.

Every question must reach the bench server: check_domains() takes the `resolver` for most
lookups but the DNSSEC check (DS/DNSKEY over TCP) only takes `nameservers`, so both are
given, each pointing at 127.0.0.1:PORT. MX TLS checks are off (the default).

usage: checkdmarc_audit.py PORT DOMAINS_FILE [TIMEOUT_SECONDS]
"""

import collections
import json
import sys
import time

import checkdmarc
import dns.nameserver
import dns.resolver


def main() -> None:
    port = int(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        domains = [line.strip() for line in f if line.strip()]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0

    # Count questions by type where dnspython sends them (UDP and TCP alike); one dict
    # increment per question, negligible next to the question itself.
    asked: collections.Counter = collections.Counter()
    original = dns.nameserver.Do53Nameserver.query

    def counting(self, request, *args, **kwargs):
        asked[dns.rdatatype.to_text(request.question[0].rdtype)] += 1
        return original(self, request, *args, **kwargs)

    dns.nameserver.Do53Nameserver.query = counting

    server = dns.nameserver.Do53Nameserver("127.0.0.1", port=port)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [server]
    resolver.port = port
    resolver.timeout = timeout
    resolver.lifetime = timeout

    started = time.perf_counter()
    results = checkdmarc.check_domains(
        domains,
        resolver=resolver,
        nameservers=[server],
        timeout=timeout,
        check_mx_tls=False,
    )
    seconds = time.perf_counter() - started
    if isinstance(results, dict):
        results = [results]

    def failed(part) -> bool:
        return isinstance(part, dict) and part.get("valid") is False

    spf_errors = sum(1 for r in results if failed(r.get("spf")))
    dmarc_errors = sum(1 for r in results if failed(r.get("dmarc")))
    print(
        json.dumps(
            {
                "checkdmarc": checkdmarc.__version__,
                "seconds": seconds,
                "domains": len(results),
                "spf_errors": spf_errors,
                "dmarc_errors": dmarc_errors,
                # What checkdmarc made of the first domain's SPF record (record, lookups).
                "spf_example": {
                    k: results[0]["spf"].get(k)
                    for k in ("record", "valid", "dns_lookups", "void_dns_lookups")
                }
                if results
                else None,
                "questions": dict(sorted(asked.items())),
            }
        )
    )


if __name__ == "__main__":
    main()
