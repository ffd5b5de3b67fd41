"""Run byte streams through CPython's telnetlib and print what it made of them.

Reads one JSON object from stdin:

    {"cases": [{"chunks": ["hex", ...], "callback": true, "debug": false}, ...]}

Each case is fed to a telnetlib.Telnet whose socket is a stub returning the
chunks in order, one recv() per chunk (a chunk longer than the 50 bytes
telnetlib asks for is returned over several recv() calls), then b"" for the
end of the stream. With "callback", an option negotiation callback records
every call as [cmd, opt] and reads read_sb_data() at each SE; without it,
telnetlib answers negotiations itself. Output, one JSON object on stdout:

    {"results": [{"cooked": "hex", "trace": [[cmd, opt], ...],
                  "sb": ["hex", ...], "writes": "hex",
                  "debug": ["line", ...]}, ...]}

"cooked" is what read_all() returned, "writes" the bytes telnetlib sent,
"debug" its debug lines (when asked for) without the "Telnet(host,port): "
prefix and without the "recv ..." lines.
"""

import contextlib
import io
import json
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import telnetlib


class StubSocket:
    """A socket that returns prepared chunks and records what is sent."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.writes = []

    def recv(self, size):
        if not self.chunks:
            return b""
        c = self.chunks.pop(0)
        if len(c) > size:
            self.chunks.insert(0, c[size:])
            c = c[:size]
        return c

    def sendall(self, data):
        self.writes.append(bytes(data))

    def close(self):
        pass


def run(case):
    tn = telnetlib.Telnet()
    tn.sock = StubSocket(bytes.fromhex(c) for c in case["chunks"])
    trace = []
    sbs = []
    if case.get("callback"):
        def callback(sock, cmd, opt):
            trace.append([cmd[0], opt[0]])
            if cmd == telnetlib.SE:
                sbs.append(tn.read_sb_data().hex())
        tn.set_option_negotiation_callback(callback)
    out = io.StringIO()
    if case.get("debug"):
        tn.set_debuglevel(1)
    with contextlib.redirect_stdout(out):
        cooked = tn.read_all()
    prefix = "Telnet(%s,%d): " % (tn.host, tn.port)
    debug = []
    for line in out.getvalue().splitlines():
        if line.startswith(prefix):
            line = line[len(prefix):]
        if line.startswith("recv "):
            continue
        debug.append(line)
    return {
        "cooked": cooked.hex(),
        "trace": trace,
        "sb": sbs,
        "writes": b"".join(tn.sock.writes).hex(),
        "debug": debug,
    }


def main():
    cases = json.load(sys.stdin)["cases"]
    json.dump({"results": [run(c) for c in cases]}, sys.stdout)


if __name__ == "__main__":
    main()
