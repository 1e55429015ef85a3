"""End-to-end test fixtures: a real minibroker process on an ephemeral port, and MQTT clients.

Each test gets its own broker (`target/debug/minibroker -b 127.0.0.1 -p 0 -v`, built by
`cargo build`), so retained messages and sessions never leak from one test into another. The
broker's log is read in a thread for the whole run, so the pipe never fills; tests can look at
it, and a failing test shows it in its report.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from paho_client import PAHO_VERSION, TestClient

REPO_ROOT = Path(__file__).resolve().parents[2]
#: The binary under test; `MINIBROKER_BIN` points the tests at another build (e.g. release).
BROKER_BIN = Path(os.environ.get("MINIBROKER_BIN", REPO_ROOT / "target" / "debug" / "minibroker"))

START_TIMEOUT = 10.0  # seconds until the "listening on" line
STOP_TIMEOUT = 5.0  # seconds from SIGTERM to exit
LISTENING = re.compile(r"listening on (\S+)")
#: The TLS listener's line: `listening on 127.0.0.1:PORT (TLS)`, logged after the plain ones.
TLS_LISTENING = re.compile(r"listening on (\S+) \(TLS\)")
#: Log lines a failing test's report shows (the end of the log).
REPORT_LOG_LINES = 300


def pytest_report_header(config):
    return [f"paho-mqtt {PAHO_VERSION}", f"broker under test: {BROKER_BIN}"]


_HANDED_OUT = set()


def free_port():
    """A loopback port that was free a moment ago, for a configuration file's listener; never
    the same one twice in a run, since one handed out for a broker that starts later is free
    until then and the kernel may give it out again."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def _host_port(address):
    found = re.fullmatch(r"\[?([^\]]*?)\]?:(\d+)\W*", address)
    assert found, f"cannot read an address from 'listening on {address}'"
    return found.group(1), int(found.group(2))


class Broker:
    """A running minibroker process and everything it has logged so far."""

    def __init__(self, args, program=None):
        program = BROKER_BIN if program is None else program
        if not program.exists():
            pytest.fail(f"{program} does not exist; build it with `cargo build --examples`",
                        pytrace=False)
        env = dict(os.environ)
        env.pop("RUST_LOG", None)  # -v decides the log level, whatever the caller's shell says
        self.args = [str(program), *args]
        self.host = None
        self.port = None
        self.tls_port = None
        self._lines = []
        self._eof = False
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._reader = threading.Thread(target=self._read, name="minibroker-log", daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    @property
    def lines(self):
        """The log lines so far (stderr and stdout interleaved)."""
        with self._cond:
            return list(self._lines)

    def log_text(self, last=None):
        lines = self.lines
        if last is not None and len(lines) > last:
            lines = [f"... {len(lines) - last} earlier lines left out ..."] + lines[-last:]
        return "\n".join(lines) if lines else "(nothing logged)"

    def wait_for_log(self, pattern, timeout=5.0):
        """Waits for a log line matching the regular expression `pattern`; returns the match.
        Fails after `timeout` seconds, or at once when the broker has exited."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    found = regex.search(line)
                    if found:
                        return found
                seen = len(self._lines)
                if self._eof:
                    raise AssertionError(
                        f"the broker exited (status {self.proc.poll()}) before logging "
                        f"/{pattern}/; its log:\n{self.log_text(REPORT_LOG_LINES)}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no log line matched /{pattern}/ within {timeout:g} s; "
                        f"the log:\n{self.log_text(REPORT_LOG_LINES)}"
                    )
                self._cond.wait(remaining)

    def wait_listening(self):
        address = self.wait_for_log(LISTENING.pattern, START_TIMEOUT).group(1)
        self.host, self.port = _host_port(address)

    def wait_tls_listening(self):
        address = self.wait_for_log(TLS_LISTENING.pattern, START_TIMEOUT).group(1)
        self.tls_port = _host_port(address)[1]

    def stop(self):
        """SIGTERM, then expects exit status 0 within STOP_TIMEOUT (else SIGKILL and fail)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
            raise AssertionError(f"the broker did not exit within {STOP_TIMEOUT:g} s of SIGTERM")
        finally:
            self._reader.join(timeout=STOP_TIMEOUT)
        assert status == 0, f"the broker exited with status {status} after SIGTERM"

    def panics(self):
        return [line for line in self.lines if "panicked at" in line]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Adds the broker's log to the report of a failed test."""
    outcome = yield
    report = outcome.get_result()
    broker = getattr(item, "minibroker", None)
    if broker is not None and report.failed:
        report.sections.append(("minibroker log", broker.log_text(REPORT_LOG_LINES)))


def _run_broker(request, args, tls=False, program=None):
    """Starts a broker (`program`, the minibroker binary unless given), waits for its
    listeners, yields it, and stops it with SIGTERM, which must end it with status 0 and
    without a panic in its log."""
    b = Broker(args, program)
    request.node.minibroker = b
    try:
        b.wait_listening()
        if tls:
            b.wait_tls_listening()
    except BaseException:
        if b.proc.poll() is None:
            b.proc.kill()
        b.proc.wait(timeout=STOP_TIMEOUT)
        raise
    yield b
    b.stop()
    assert not b.panics(), "the broker panicked:\n" + "\n".join(b.panics())


@pytest.fixture
def broker(request):
    """A minibroker on 127.0.0.1 and an ephemeral port."""
    yield from _run_broker(request, ["-b", "127.0.0.1", "-p", "0", "-v"])


class TlsCerts:
    """A CA and a server certificate for localhost and 127.0.0.1, made with the openssl
    command in a temporary directory (no key is kept in the repository)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.ca = self.dir / "ca.crt"
        self.cert = self.dir / "server.crt"
        self.key = self.dir / "server.key"
        (self.dir / "server.ext").write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        )
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=minibroker e2e CA",
                      "-keyout", "ca.key", "-out", "ca.crt")
        self._openssl("req", *ec, "-subj", "/CN=localhost", "-keyout", "server.key",
                      "-out", "server.csr")
        self._openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                      "-set_serial", "1", "-days", "2", "-extfile", "server.ext",
                      "-out", "server.crt")

    def _openssl(self, *args):
        done = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True, text=True)
        assert done.returncode == 0, f"openssl {' '.join(args)} failed: {done.stderr}"


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory):
    """The test CA and server certificate, made once per test run."""
    return TlsCerts(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_broker(request, tls_certs):
    """A minibroker with a plain listener (`.port`) and a TLS listener (`.tls_port`), both on
    127.0.0.1 and ephemeral ports, presenting `tls_certs`' server certificate."""
    yield from _run_broker(request, [
        "-b", "127.0.0.1", "-p", "0", "--tls-bind", "127.0.0.1", "--tls-port", "0",
        "--cert", str(tls_certs.cert), "--key", str(tls_certs.key), "-v",
    ], tls=True)


def client_factory(build):
    """Yields `make(...)`, which builds a client with `build` and remembers it; every client
    made is closed when the test ends. For fixtures that make `TestClient`s."""
    made = []

    def make(*args, **kwargs):
        client = build(*args, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        try:
            client.close()
        except Exception:  # cleanup must not hide the test's own result
            pass


@pytest.fixture
def mqtt_client(broker):
    """Makes `TestClient`s connected to the test's broker (call `.connect()`); all are
    disconnected and their network threads stopped when the test ends."""

    def build(client_id="", **kwargs):
        return TestClient(broker.host, broker.port, client_id=client_id, **kwargs)

    yield from client_factory(build)
