#!/usr/bin/env python3
"""Loads the benchmark's points into a running Redis and answers the same queries with
GEOSEARCH ... BYRADIUS, timing Redis's own work per command from SLOWLOG (all commands are
logged with slowlog-log-slower-than 0; the duration excludes network and client time).

    redis-geo-baseline.py PORT DIR   (DIR holds points.txt and queries.txt of bench-matching)

Prints one JSON object: per query label the median server time in microseconds and the mean
number of members returned. Standard library only: a minimal RESP client.
"""
import json
import socket
import statistics
import sys


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = self.sock.makefile("rb")

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def reply(self):
        line = self.buf.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.buf.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def call(self, *args):
        self.send(*args)
        return self.reply()


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    r = Redis(port)
    r.call("FLUSHALL")
    batch, pending = [], 0
    with open(folder + "/points.txt") as f:
        for k, line in enumerate(f):
            lon, lat = line.split()
            batch += [lon, lat, str(k)]
            if len(batch) >= 3000:
                r.send("GEOADD", "v", *batch)
                batch, pending = [], pending + 1
                if pending >= 50:
                    for _ in range(pending):
                        r.reply()
                    pending = 0
    if batch:
        r.send("GEOADD", "v", *batch)
        pending += 1
    for _ in range(pending):
        r.reply()
    loaded = r.call("ZCARD", "v")

    queries = [line.split() for line in open(folder + "/queries.txt")]
    r.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    r.call("CONFIG", "SET", "slowlog-max-len", "1000")
    times, found = {}, {}
    for label, lon, lat, radius in queries:
        r.call("SLOWLOG", "RESET")
        members = r.call("GEOSEARCH", "v", "FROMLONLAT", lon, lat, "BYRADIUS", radius, "km")
        entries = r.call("SLOWLOG", "GET", "10")
        durations = [e[2] for e in entries if e[3][0].upper() == b"GEOSEARCH"]
        times.setdefault(label, []).append(durations[0])
        found.setdefault(label, []).append(len(members))
    r.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    memory = dict(l.split(":", 1) for l in r.call("INFO", "memory").decode().splitlines() if ":" in l)
    out = {"redis_loaded": loaded, "redis_used_memory_bytes": int(memory["used_memory"])}
    for label in times:
        out["redis_server_%s_p50_us" % label] = statistics.median(times[label])
        out["redis_%s_found" % label] = statistics.mean(found[label])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
