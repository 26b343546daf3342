#!/usr/bin/env python3
"""Captures and verifies the crash reports of the orders API fixture (testdata/nativeaot/webapi).

The fixture is an ASP.NET Core server, not a command-line program: each case is an
HTTP request whose 500 answer carries the same report the scenario program prints
(see webapi/README.md). Standard library only; it talks to 127.0.0.1 and nothing else.

Commands:
  capture DIR --executable PATH [--kind out|jit]
      start PATH on a free 127.0.0.1 port, wait until it answers, send every case's
      request (the server lists them at GET /cases/requests), and write
      DIR/KIND/CASE.stdout (the answer's body, bytes as received),
      DIR/KIND/CASE.request (the request, one line: METHOD PATH[ BODY]),
      DIR/KIND/list.stdout (GET /cases) and DIR/KIND/server.log (the server's own
      stdout: its build-id and runtime lines); then stop the server.
  verify DIR
      capture again from DIR/bootstrap into a temporary directory and compare with
      DIR/out/ byte for byte, check that the logged build ID is the ELF build ID of
      the executable and of its .dbg, then run `aotcases.py verify DIR --no-run`.

Every wait is bounded: a server that does not start, answer or stop in time fails
the command, and the server is always killed.
"""

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the committed tools
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aotcases  # noqa: E402

START_TIMEOUT_SECONDS = 30      # until the server answers GET /cases/requests
REQUEST_TIMEOUT_SECONDS = 15    # one request's socket operations
CAPTURE_TIMEOUT_SECONDS = 120   # every request of one capture together
STOP_TIMEOUT_SECONDS = 10       # after SIGTERM, before SIGKILL
START_ATTEMPTS = 3              # a free port can be taken before the server binds it
CAPTURED_SUFFIXES = (".stdout", ".request")
SERVER_LOG = "server.log"
LIST = "list.stdout"


class CaptureError(Exception):
    """The server did not behave; the message says how."""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env():
    """The caller's environment without settings that would change the server."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("ASPNETCORE_", "DOTNET_", "COMPlus_"))}


class Server:
    """One run of the server executable, its stdout and stderr in files."""

    def __init__(self, executable, workdir):
        self.executable = os.path.abspath(executable)
        self.stdout_path = os.path.join(workdir, "server.stdout")
        self.stderr_path = os.path.join(workdir, "server.stderr")
        self.proc = None
        self.port = None

    def start(self):
        last = None
        for _ in range(START_ATTEMPTS):
            self.port = free_port()
            with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                self.proc = subprocess.Popen(
                    [self.executable, "--urls", f"http://127.0.0.1:{self.port}"],
                    cwd=os.path.dirname(self.executable), stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, env=server_env(), preexec_fn=aotcases.no_core_dumps)
            try:
                self._wait_ready()
                return
            except CaptureError as e:
                last = e
                self.stop()
                if "exited" not in str(e):
                    break  # it ran but did not answer: another attempt would not help
        raise last

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            code = self.proc.poll()
            if code is not None:
                raise CaptureError(f"{self.executable} exited with {code} before answering; "
                                   f"stderr: {self._tail(self.stderr_path)}")
            try:
                status, _, _ = self.request("GET", "/cases/requests", timeout=2)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise CaptureError(f"{self.executable} did not answer on 127.0.0.1:{self.port} "
                                   f"within {START_TIMEOUT_SECONDS}s")
            time.sleep(0.1)

    def request(self, method, path, body=None, timeout=REQUEST_TIMEOUT_SECONDS):
        """(status, content type, body bytes) of one request on a new connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body.encode("utf-8") if body is not None else None,
                         headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type", ""), resp.read()
        finally:
            conn.close()

    def stop(self):
        """SIGTERM, then SIGKILL after a bound; returns the exit code (None if unkillable)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            try:
                return self.proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                return None

    @staticmethod
    def _tail(path, n=800):
        try:
            with open(path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace").strip() or "(empty)"
        except OSError:
            return "(none)"


def parse_requests(text):
    """[(case, method, path, body or None)] from GET /cases/requests."""
    out = []
    for line in text.splitlines():
        if not line:
            continue
        name, tab, request = line.partition("\t")
        parts = request.split(" ", 2)
        if not tab or len(parts) < 2:
            raise CaptureError(f"GET /cases/requests: unexpected line {line!r}")
        out.append((name, parts[0], parts[1], parts[2] if len(parts) == 3 else None))
    if not out:
        raise CaptureError("GET /cases/requests listed no cases")
    return out


def check_server_log(data):
    """The server's stdout must be its two startup lines and nothing that varies."""
    lines = data.decode("utf-8", "replace").split("\n")
    if len(lines) != 3 or lines[2] != "" or not lines[0].startswith("build-id: ") \
            or not lines[1].startswith("runtime: "):
        raise CaptureError("the server's stdout is not just its 'build-id:' and 'runtime:' "
                           f"lines, so it cannot be compared: {data[:300]!r}")


def capture(dest_dir, executable, kind="out"):
    """Runs one capture into dest_dir/kind/; returns the case names."""
    target = os.path.join(dest_dir, kind)
    os.makedirs(target, exist_ok=True)
    for old in os.listdir(target):
        if old.endswith(CAPTURED_SUFFIXES) or old == SERVER_LOG:
            os.remove(os.path.join(target, old))
    with tempfile.TemporaryDirectory(prefix="webapi-") as work:
        server = Server(executable, work)
        try:
            server.start()
            deadline = time.monotonic() + CAPTURE_TIMEOUT_SECONDS
            files = {}
            status, _, body = server.request("GET", "/cases")
            if status != 200:
                raise CaptureError(f"GET /cases answered {status}")
            files[LIST] = body
            status, _, body = server.request("GET", "/cases/requests")
            if status != 200:
                raise CaptureError(f"GET /cases/requests answered {status}")
            cases = parse_requests(body.decode("utf-8"))
            for name, method, path, payload in cases:
                if time.monotonic() > deadline:
                    raise CaptureError(f"the capture took more than {CAPTURE_TIMEOUT_SECONDS}s")
                try:
                    status, ctype, body = server.request(method, path, payload)
                except (OSError, http.client.HTTPException) as e:
                    raise CaptureError(f"{name}: {method} {path} failed: {e!r}")
                if status != 500 or not ctype.startswith("text/plain"):
                    raise CaptureError(f"{name}: {method} {path} answered {status} {ctype!r}, "
                                       f"expected a 500 text/plain crash report: {body[:300]!r}")
                files[f"{name}.stdout"] = body
                line = f"{method} {path}" + (f" {payload}" if payload is not None else "")
                files[f"{name}.request"] = (line + "\n").encode("utf-8")
        finally:
            code = server.stop()
        if code is None:
            raise CaptureError(f"{executable} could not be stopped")
        if code != 0:
            print(f"webapi: warning: {executable} exited with {code} after SIGTERM "
                  f"(0 is a graceful stop); stderr: {Server._tail(server.stderr_path, 300)}",
                  file=sys.stderr)
        with open(server.stdout_path, "rb") as f:
            log = f.read()
        check_server_log(log)
        files[SERVER_LOG] = log
        for name, data in files.items():
            with open(os.path.join(target, name), "wb") as f:
                f.write(data)
    return [c[0] for c in cases]


def cmd_capture(args):
    names = capture(args.dir, args.executable, args.kind)
    print(f"{args.dir}/{args.kind}: captured {len(names)} cases from {args.executable}")
    return 0


def captured_files(directory):
    return sorted(n for n in os.listdir(directory)
                  if n.endswith(CAPTURED_SUFFIXES) or n == SERVER_LOG)


def cmd_verify(args):
    d = args.dir
    info = aotcases.load_json(os.path.join(d, "build-info.json"))
    exe = os.path.join(d, info["executable"])
    dbg = os.path.join(d, info["debug_file"])
    failures = []
    with tempfile.TemporaryDirectory(prefix="webapi-verify-") as tmp:
        started = time.monotonic()
        names = capture(tmp, exe, "out")
        elapsed = time.monotonic() - started
        want_dir, got_dir = os.path.join(d, "out"), os.path.join(tmp, "out")
        want, got = captured_files(want_dir), captured_files(got_dir)
        if want != got:
            failures.append(f"captured files differ: only committed {sorted(set(want) - set(got))}, "
                            f"only now {sorted(set(got) - set(want))}")
        for name in sorted(set(want) & set(got)):
            a = open(os.path.join(want_dir, name), "rb").read()
            b = open(os.path.join(got_dir, name), "rb").read()
            if a != b:
                failures.append(f"out/{name} differs from a new capture\n" + aotcases.diff_text(
                    a.decode("utf-8", "replace"), b.decode("utf-8", "replace"), name))
        log = open(os.path.join(got_dir, SERVER_LOG), encoding="utf-8").read()
    logged = log.split("\n")[0].removeprefix("build-id: ")
    exe_id, dbg_id = aotcases.Elf(exe).build_id(), aotcases.Elf(dbg).build_id()
    if not (logged == exe_id == dbg_id):
        failures.append(f"build IDs differ: logged {logged}, {info['executable']} {exe_id}, "
                        f"{info['debug_file']} {dbg_id}")
    print(f"{d}: captured {len(names)} cases in {elapsed:.1f}s; build ID {logged} "
          f"(logged = executable = .dbg: {logged == exe_id == dbg_id})")
    for f in failures:
        print(f"FAIL {d}: {f}", file=sys.stderr)
    code = aotcases.main(["verify", d, "--no-run"])
    return 1 if failures or code else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("capture")
    p.add_argument("dir")
    p.add_argument("--executable", required=True, help="the server executable (bootstrap)")
    p.add_argument("--kind", choices=("out", "jit"), default="out")
    p.set_defaults(func=cmd_capture)
    p = sub.add_parser("verify")
    p.add_argument("dir")
    p.set_defaults(func=cmd_verify)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except (CaptureError, aotcases.CorpusError) as e:
        print(f"webapi: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
