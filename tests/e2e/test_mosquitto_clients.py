"""minibroker driven by the mosquitto command-line clients, mosquitto_sub and mosquitto_pub.

mosquitto_sub cannot say when its subscription is in place, so a test that needs it to be
publishes again every PROBE_INTERVAL until the subscriber has printed something (or the
deadline passes). mosquitto_sub without `-i` connects with an empty client id under MQTT 3.1.1,
which the broker must accept with clean session 1 [MQTT-3.1.3-6].
"""

import queue
import shutil
import signal
import subprocess
import threading
import time

import pytest

TOPIC = "Ergeschoss/Wohnzimmer/Temp"
TIMEOUT = 10.0  # seconds for any one wait
PROBE_INTERVAL = 0.2

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto_sub") is None or shutil.which("mosquitto_pub") is None,
    reason="mosquitto-clients is not installed (make test installs it)",
)


def address(broker):
    return ["-h", broker.host, "-p", str(broker.port)]


def pub(broker, topic, *args, timeout=TIMEOUT):
    """Runs mosquitto_pub to completion and checks it succeeded."""
    done = subprocess.run(
        ["mosquitto_pub", *address(broker), "-t", topic, *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, f"mosquitto_pub failed ({done.returncode}): {done.stderr}"


class Sub:
    """A mosquitto_sub process whose output lines are read in a thread."""

    def __init__(self, broker, *args):
        self.proc = subprocess.Popen(
            ["mosquitto_sub", *address(broker), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines = queue.Queue()
        self.seen = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # end of output

    def next_line(self, timeout=TIMEOUT):
        """The next output line, or None once mosquitto_sub has exited; fails on timeout."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"mosquitto_sub printed nothing for {timeout:g} s") from None
        if line is not None:
            self.seen.append(line)
        return line

    def wait_line(self, expected, timeout=TIMEOUT):
        """Reads lines until one equals `expected`; fails on timeout or exit."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            assert line is not None, f"mosquitto_sub exited before printing {expected!r}: {self.seen}"
            if line == expected:
                return

    def probe(self, broker, topic, *pub_args, timeout=TIMEOUT):
        """Publishes to `topic` every PROBE_INTERVAL until mosquitto_sub prints a line, and
        returns that line (None if it exited without printing)."""
        deadline = time.monotonic() + timeout
        while True:
            pub(broker, topic, *pub_args)
            try:
                line = self.lines.get(timeout=PROBE_INTERVAL)
            except queue.Empty:
                assert time.monotonic() < deadline, (
                    f"mosquitto_sub received nothing on {topic!r} within {timeout:g} s"
                )
                continue
            if line is not None:
                self.seen.append(line)
            return line

    def finish(self, timeout=TIMEOUT):
        """Waits for mosquitto_sub to exit by itself; returns (status, stderr)."""
        try:
            status = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"mosquitto_sub did not exit within {timeout:g} s") from None
        self._reader.join(timeout=TIMEOUT)
        return status, self.proc.stderr.read()

    def kill(self, sig=signal.SIGKILL):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def subs():
    """Starts mosquitto_sub processes; kills any still running when the test ends."""
    started = []

    def start(broker, *args):
        sub = Sub(broker, *args)
        started.append(sub)
        return sub

    yield start
    for sub in started:
        sub.kill()
        sub.proc.stdout.close()
        sub.proc.stderr.close()


@pytest.mark.parametrize("version", ["mqttv311", "mqttv31"])
def test_mosquitto_sub_receives_mosquitto_pub(broker, subs, version):
    """`mosquitto_sub -C 1 -W 10 -v` receives the reading 22 published by mosquitto_pub and
    exits by itself, with MQTT 3.1.1 and with MQTT 3.1 (`-V`) on both sides."""
    sub = subs(broker, "-V", version, "-t", TOPIC, "-C", "1", "-W", "10", "-v")
    first = sub.probe(broker, TOPIC, "-V", version, "-m", "22")
    assert first == f"{TOPIC} 22"
    status, stderr = sub.finish()
    assert status == 0, stderr


def test_mosquitto_qos2_end_to_end(broker, subs):
    """`-q 2` on mosquitto_pub and mosquitto_sub: the message arrives once, at QoS 2, the
    minimum of publish and subscription QoS [MQTT-3.8.4-6], after the PUBLISH, PUBREC, PUBREL,
    PUBCOMP exchange of section 4.3.3 on both legs."""
    sub = subs(broker, "-t", TOPIC, "-q", "2", "-C", "1", "-W", "10", "-F", "%q %t %p")
    first = sub.probe(broker, TOPIC, "-q", "2", "-m", "22")
    assert first == f"2 {TOPIC} 22"
    status, stderr = sub.finish()
    assert status == 0, stderr


def test_mosquitto_retained_message_and_clearing_it(broker, subs):
    """`mosquitto_pub -r` stores a retained message [MQTT-3.3.1-5] which a later mosquitto_sub
    receives with the retained flag [MQTT-3.3.1-6] [MQTT-3.3.1-8]; `mosquitto_pub -r -n`
    removes it, so the next subscriber gets only live messages [MQTT-3.3.1-10]."""
    pub(broker, TOPIC, "-r", "-q", "1", "-m", "22")

    late = subs(broker, "-t", TOPIC, "-q", "1", "-C", "1", "-W", "10", "-F", "%r %t %p")
    assert late.next_line() == f"1 {TOPIC} 22"
    status, stderr = late.finish()
    assert status == 0, stderr

    pub(broker, TOPIC, "-r", "-q", "1", "-n")

    after = subs(broker, "-t", TOPIC, "-q", "1", "-C", "1", "-W", "10", "-F", "%r %t %p")
    # The first thing it prints must be a live probe, not a retained reading.
    first = after.probe(broker, TOPIC, "-q", "1", "-m", "live")
    assert first == f"0 {TOPIC} live"
    status, stderr = after.finish()
    assert status == 0, stderr


def test_mosquitto_will_published_when_client_is_killed(broker, subs):
    """A mosquitto_sub started with `--will-topic/--will-payload gone` and killed with SIGKILL
    (no DISCONNECT) has its will published [MQTT-3.1.2-8]; another mosquitto_sub receives
    `gone`."""
    watcher = subs(broker, "-t", "e2e/status", "-t", "e2e/probe/watcher", "-v", "-W", "30")
    assert watcher.probe(broker, "e2e/probe/watcher", "-m", "ready") == "e2e/probe/watcher ready"

    doomed = subs(broker, "-t", "e2e/probe/doomed", "-v", "-W", "30",
                  "--will-topic", "e2e/status", "--will-payload", "gone")
    assert doomed.probe(broker, "e2e/probe/doomed", "-m", "ready") == "e2e/probe/doomed ready"
    doomed.kill(signal.SIGKILL)

    watcher.wait_line("e2e/status gone")


def test_mosquitto_will_not_published_after_clean_exit(broker, subs):
    """A mosquitto_sub with a will that exits normally (`-C 1`: it sends DISCONNECT) has its
    will discarded [MQTT-3.1.2-10]: the watcher sees a later marker and no `gone`."""
    watcher = subs(broker, "-t", "e2e/status", "-t", "e2e/probe/watcher", "-v", "-W", "30")
    assert watcher.probe(broker, "e2e/probe/watcher", "-m", "ready") == "e2e/probe/watcher ready"

    polite = subs(broker, "-t", "e2e/probe/polite", "-v", "-C", "1", "-W", "10",
                  "--will-topic", "e2e/status", "--will-payload", "gone")
    assert polite.probe(broker, "e2e/probe/polite", "-m", "bye") == "e2e/probe/polite bye"
    status, stderr = polite.finish()
    assert status == 0, stderr

    time.sleep(0.3)  # a DISCONNECT processed late would still publish nothing, but be sure
    pub(broker, "e2e/status", "-m", "marker")
    watcher.wait_line("e2e/status marker")
    assert "e2e/status gone" not in watcher.seen
