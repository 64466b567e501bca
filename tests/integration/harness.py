"""Integration test harness: runs the real quire binary for real clients.

Each Broker gets a fresh temporary data directory and an ephemeral loopback port:

    quire --override log.dirs=<tmp> --override listeners=PLAINTEXT://127.0.0.1:0 [extra...]

The harness reads the broker's output (stdout and stderr, one pipe) until a line contains
"listening on PLAINTEXT://127.0.0.1:<port>" (20 s), then a thread keeps draining it into a log
file so the pipe never fills. A test may pass its own listeners (Broker(listeners="SSL://...")):
the harness then waits for a "listening on NAME://host:port" line of every listener named there,
keeps each bound endpoint in broker.endpoints[NAME], and broker.host/port are the first one's.
Stopping sends SIGTERM, waits 10 s (then SIGKILL) and requires exit status 0: a clean shutdown
is part of every test. The data directory is removed in any case; the broker's log is printed
when a test fails. restart() stops the broker the same way but keeps its data directory and
starts it again there (same name, same overrides, a new ephemeral port), appending to its log;
crash_restart() does the same after a SIGKILL.

The binary comes from $QUIRE_BIN, else from the first command-line argument. Run a test file with
/usr/bin/python3 (the system python can import confluent_kafka and kafka):

    QUIRE_BIN=build-test/broker/quire /usr/bin/python3 tests/integration/test_kcat.py [-v]
"""

import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

START_TIMEOUT_S = 20
LOG_DUMP_LINES_MAX = 2000
STOP_TIMEOUT_S = 10
LISTENING_RE = re.compile(r"listening on ([A-Za-z0-9_-]+)://(\[[^\]]+\]|[^\s:/]+):(\d+)")
DEFAULT_LISTENERS = "PLAINTEXT://127.0.0.1:0"

_quire_bin = None
_log_root = None
# main() prints the logs of a failed test's brokers, so its error messages leave them out.
_logs_in_errors = True
# Brokers started by the running test, so a failure can print their logs.
_test_brokers = []


def quire_bin():
    """Absolute path of the broker binary under test."""
    global _quire_bin
    if _quire_bin is None:
        path = os.environ.get("QUIRE_BIN")
        if not path:
            raise RuntimeError("set QUIRE_BIN or pass the quire binary as the first argument")
        _quire_bin = os.path.abspath(path)
    if not os.access(_quire_bin, os.X_OK):
        raise RuntimeError(f"quire binary not executable: {_quire_bin}")
    return _quire_bin


def _log_dir():
    global _log_root
    if _log_root is None:
        _log_root = tempfile.mkdtemp(prefix="quire-test-logs-")
    return _log_root


class BrokerError(AssertionError):
    pass


class Broker:
    """One quire process. Use as a context manager, or call start() and stop()."""

    _count = 0

    def __init__(self, overrides=(), name=None, listeners=DEFAULT_LISTENERS):
        Broker._count += 1
        self.name = name or f"broker{Broker._count}"
        self.overrides = list(overrides)
        self.data_dir = None
        self.log_path = None
        self.proc = None
        self.host = None
        self.port = None
        self.listeners = listeners
        # listener names to wait for, upper-cased as the broker logs them
        self._waiting = [n.upper() for n in re.findall(r"([A-Za-z0-9_-]+)://", listeners)]
        self.endpoints = {}  # listener name -> (host, bound port)
        self.returncode = None
        self._drainer = None
        self._listening = threading.Event()

    @property
    def bootstrap(self):
        return f"{self.host}:{self.port}"

    def start(self):
        restarting = self.data_dir is not None
        if not restarting:
            self.data_dir = tempfile.mkdtemp(prefix=f"quire-{self.name}-")
            self.log_path = os.path.join(_log_dir(), f"{self.name}.log")
        argv = [quire_bin(),
                "--override", f"log.dirs={self.data_dir}",
                "--override", f"listeners={self.listeners}"]
        for kv in self.overrides:
            argv += ["--override", kv]
        if self not in _test_brokers:
            _test_brokers.append(self)
        with open(self.log_path, "a" if restarting else "w", encoding="utf-8") as log:
            if restarting:
                log.write("----- restart -----\n")
            log.write("$ " + " ".join(argv) + "\n")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.data_dir)
        self._drainer = threading.Thread(target=self._drain, name=f"{self.name}-log", daemon=True)
        self._drainer.start()

        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None:
                self._drainer.join(5)
                self._cleanup_dir()
                raise BrokerError(f"{self.name} exited with status {self.proc.returncode} before "
                                  f"listening\n{self._log_for_error()}")
            if time.monotonic() > deadline:
                self._kill()
                self._cleanup_dir()
                raise BrokerError(f"{self.name} did not log 'listening on NAME://...' for "
                                  f"{', '.join(self._waiting)} within {START_TIMEOUT_S} s\n"
                                  f"{self._log_for_error()}")
        return self

    def _drain(self):
        with open(self.log_path, "a", encoding="utf-8", errors="replace") as log:
            for raw in iter(self.proc.stdout.readline, b""):
                line = raw.decode("utf-8", "replace")
                log.write(line)
                log.flush()
                if not self._listening.is_set():
                    m = LISTENING_RE.search(line)
                    if m:
                        self.endpoints[m.group(1)] = (m.group(2).strip("[]"), int(m.group(3)))
                        if all(n in self.endpoints for n in self._waiting):
                            self.host, self.port = self.endpoints[self._waiting[0]]
                            self._listening.set()
        self.proc.stdout.close()

    def stop(self, keep_data=False):
        """SIGTERM, wait, then require exit status 0. Removes the data directory unless keep_data
        (and then only when the broker did not stop cleanly)."""
        if self.proc is None or self.returncode is not None:
            if not keep_data:
                self._cleanup_dir()
            return
        clean = False
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._kill()
                    raise BrokerError(f"{self.name} still running {STOP_TIMEOUT_S} s after "
                                      f"SIGTERM; killed\n{self._log_for_error()}")
            self.returncode = self.proc.returncode
            self._drainer.join(5)
            if self.returncode != 0:
                raise BrokerError(f"{self.name} exited with status {self.returncode} after "
                                  f"SIGTERM (expected 0)\n{self._log_for_error()}")
            clean = True
        finally:
            if not (keep_data and clean):
                self._cleanup_dir()

    def restart(self):
        """Stops the broker cleanly (exit status 0 required) and starts it again on the same data
        directory; host and port are those of the new process."""
        self.stop(keep_data=True)
        self.proc = self.returncode = self._drainer = None
        self.host = self.port = None
        self.endpoints = {}
        self._listening = threading.Event()
        return self.start()

    def crash_restart(self):
        """SIGKILL (no clean shutdown: what was acknowledged must be on disk already), then start
        again on the same data directory; host and port are those of the new process."""
        self._kill()
        self.proc = self.returncode = self._drainer = None
        self.host = self.port = None
        self.endpoints = {}
        self._listening = threading.Event()
        return self.start()

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.returncode = self.proc.returncode
        if self._drainer:
            self._drainer.join(5)

    def _cleanup_dir(self):
        if self.data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def _log_for_error(self):
        return self.log_text(LOG_DUMP_LINES_MAX) if _logs_in_errors else f"(log: {self.log_path})"

    def log_text(self, lines_max=None):
        """The broker's output so far; only the last lines_max lines when given."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                if lines_max is None:
                    return f.read()
                tail = collections.deque(f, maxlen=lines_max + 1)
        except OSError:
            return "(no log)"
        head = "(earlier lines left out)\n" if len(tail) > lines_max else ""
        return head + "".join(list(tail)[-lines_max:])

    def bootstrap_of(self, listener):
        """host:port of the named listener (as bound)."""
        host, port = self.endpoints[listener]
        return f"{host}:{port}"

    def wait_for_log(self, pattern, timeout_s=10):
        """Waits until the broker's log has a line matching the regex pattern; returns the match.
        Fails with the log's tail after timeout_s."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while True:
            m = regex.search(self.log_text())
            if m:
                return m
            if time.monotonic() > deadline:
                raise BrokerError(f"{self.name} did not log /{pattern}/ within {timeout_s} s\n"
                                  f"{self._log_for_error()}")
            time.sleep(0.05)

    def read_meta_properties(self):
        """meta.properties of the (single) log dir as a dict."""
        props = {}
        with open(os.path.join(self.data_dir, "meta.properties"), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith(("#", "!")) and "=" in line:
                    k, v = line.split("=", 1)
                    props[k.strip()] = v.strip()
        return props

    def partition_dirs(self):
        """Names of the partition directories (<topic>-<n>) in the log dir, sorted; the metadata
        log's own __cluster_metadata-0 is left out."""
        return sorted(n for n in os.listdir(self.data_dir)
                      if os.path.isdir(os.path.join(self.data_dir, n))
                      and re.fullmatch(r".+-\d+", n) and n != "__cluster_metadata-0")

    def read_partition_metadata(self, topic, partition):
        """partition.metadata of one partition directory as a dict (Kafka writes "version: 0"
        and "topic_id: <base64url id>")."""
        path = os.path.join(self.data_dir, f"{topic}-{partition}", "partition.metadata")
        props = {}
        with open(path, encoding="utf-8") as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    props[k.strip()] = v.strip()
        return props

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class BrokerTestCase(unittest.TestCase):
    """A test case whose brokers are stopped (and checked for a clean exit) after each test."""

    def start_broker(self, overrides=(), name=None, listeners=DEFAULT_LISTENERS):
        broker = Broker(overrides, name, listeners).start()
        self.addCleanup(broker.stop)
        return broker


def wait_until(probe, timeout_s=10, what="the condition", interval_s=0.05):
    """Calls probe() until it returns something truthy and returns that; fails after timeout_s
    naming what was awaited and the last value probe() returned. For effects Kafka applies
    asynchronously (an auto-created topic appears after the metadata answer that asked for it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s} s (last: {value!r})")
        time.sleep(interval_s)


def create_topic(broker, name, partitions=1, configs=None):
    """Creates a topic through CreateTopics (replication factor 1) and fails unless the broker
    answers NONE for it."""
    import kafka_frames
    errors = kafka_frames.create_topics(broker, [(name, partitions, dict(configs or {}))])
    if errors != {name: 0}:
        raise AssertionError(f"CreateTopics {name} ({partitions} partitions, {configs}): {errors}")


def delete_topic(broker, name):
    """Deletes a topic through DeleteTopics and fails unless the broker answers NONE for it."""
    import kafka_frames
    errors = kafka_frames.delete_topics(broker, [name])
    if errors != {name: 0}:
        raise AssertionError(f"DeleteTopics {name}: {errors}")


def rss_kib(pid):
    """A process's resident set size in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def now_ms():
    """Wall-clock milliseconds since the epoch, as Kafka timestamps count."""
    return time.time_ns() // 1_000_000


def free_port():
    """A loopback port that nothing listens on (for negative tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Result(unittest.TextTestResult):
    def startTest(self, test):
        _test_brokers.clear()
        super().startTest(test)

    def _dump_logs(self, test):
        for broker in list(_test_brokers):
            if broker.log_path and os.path.exists(broker.log_path):
                sys.stderr.write(f"\n----- log of {broker.name} ({test.id()}) -----\n")
                sys.stderr.write(broker.log_text(LOG_DUMP_LINES_MAX))
                sys.stderr.write(f"----- end of {broker.name} log -----\n")
        sys.stderr.flush()

    def addError(self, test, err):
        super().addError(test, err)
        self._dump_logs(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._dump_logs(test)


def main():
    """unittest.main with the binary taken from argv[1] when QUIRE_BIN is not set."""
    global _quire_bin, _logs_in_errors
    _logs_in_errors = False
    argv = list(sys.argv)
    if len(argv) > 1 and not argv[1].startswith("-"):
        if not os.environ.get("QUIRE_BIN"):
            _quire_bin = os.path.abspath(argv[1])
        del argv[1]
    runner = unittest.TextTestRunner(resultclass=_Result, verbosity=2, stream=sys.stderr)
    try:
        prog = unittest.main(module="__main__", argv=argv, testRunner=runner, exit=False)
    finally:
        if _log_root:
            shutil.rmtree(_log_root, ignore_errors=True)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
