"""kcat 1.7 (librdkafka 2.0.2) as a group consumer (`kcat -G`) on Quire: two consumers of one
group split a topic's partitions between them (each reports its assignment on stderr), every
message is consumed exactly once across the two, each only from its own partitions and in offset
order; what they consumed is committed (librdkafka's auto-commit, and the final commit when kcat
exits on SIGTERM), as confluent-kafka's committed() reads back; a later `kcat -G ... -e` of the
same group reads only what was produced since."""

import re
import signal
import subprocess
import threading
import time

from confluent_kafka import Consumer, TopicPartition

import harness

TOPIC, GROUP, PARTITIONS = "split", "kcat-group", 4
BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
CONSUMER_CONF = ["session.timeout.ms=3000", "heartbeat.interval.ms=500",
                 "auto.offset.reset=earliest", "auto.commit.interval.ms=200"]
FORMAT = r"%p %o %k %s\n"
WAIT_S = 30
ASSIGNED_RE = re.compile(r"rebalanced \(memberid [^)]*\): (assigned|revoked): ?(.*)$")


def kcat_argv(broker, *args):
    argv = ["kcat", "-b", broker.bootstrap, *args]
    for kv in CONSUMER_CONF:
        argv += ["-X", kv]
    return argv


def parse_records(text):
    out = []
    for line in text.splitlines():
        p, o, k, v = line.split(" ")
        out.append((int(p), int(o), k, v))
    return out


class GroupConsumer:
    """A `kcat -u -G GROUP TOPIC` process (-u: unbuffered output); collects its records (stdout)
    and its assignments (stderr: "% Group G rebalanced (memberid M): assigned: T [0], T [1]")."""

    def __init__(self, broker, name):
        self.name = name
        self.proc = subprocess.Popen(kcat_argv(broker, "-u", "-G", GROUP, TOPIC, "-f", FORMAT),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lock = threading.Lock()
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=self._pump, args=(s, lst), daemon=True)
                        for s, lst in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self.threads:
            t.start()

    def _pump(self, stream, lines):
        for line in stream:
            with self.lock:
                lines.append(line.rstrip("\n"))

    def records(self):
        with self.lock:
            return parse_records("\n".join(self.out))

    def assignment(self):
        """The partitions of the last assigned/revoked line (None before the first)."""
        owned = None
        with self.lock:
            for line in self.err:
                m = ASSIGNED_RE.search(line)
                if m:
                    owned = (frozenset(int(p) for p in re.findall(r"\[(\d+)\]", m.group(2)))
                             if m.group(1) == "assigned" else frozenset())
        return owned

    def stop(self):
        """SIGTERM: kcat closes the consumer (final commit, LeaveGroup) and exits 0."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"kcat {self.name} still running 20 s after SIGTERM\n"
                                 f"{self.transcript()}") from None
        for t in self.threads:
            t.join(5)
        if rc != 0:
            raise AssertionError(f"kcat {self.name} exited {rc}\n{self.transcript()}")

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def transcript(self):
        with self.lock:
            return (f"--- kcat {self.name} stderr ---\n" + "\n".join(self.err[-40:])
                    + f"\n--- kcat {self.name}: {len(self.out)} records ---")


def produce(broker, first, per_partition):
    """per_partition messages to each partition: key "k<i>", value "v<i>" for message i."""
    i = first
    for p in range(PARTITIONS):
        lines = "".join(f"k{n}\tv{n}\n" for n in range(i, i + per_partition))
        proc = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", TOPIC, "-p", str(p),
                               "-K", "\t"], input=lines, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
        i += per_partition
    return [f"v{n}" for n in range(first, i)]


def committed(broker):
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": GROUP,
                  "enable.auto.commit": False})
    try:
        tps = c.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=15)
        assert all(tp.error is None for tp in tps), tps
        return [tp.offset for tp in tps]
    finally:
        c.close()


class KcatGroups(harness.BrokerTestCase):
    def wait_for(self, probe, what, consumers):
        deadline = time.monotonic() + WAIT_S
        while not probe():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {WAIT_S} s\n"
                                     + "\n".join(c.transcript() for c in consumers))
            time.sleep(0.05)

    def test_two_group_consumers_split_partitions_and_commit(self):
        broker = self.start_broker(BROKER_OVERRIDES)
        harness.create_topic(broker, TOPIC, PARTITIONS)
        consumers = []
        for name in ("one", "two"):
            c = GroupConsumer(broker, name)
            self.addCleanup(c.cleanup)
            consumers.append(c)

        def split():
            owned = [c.assignment() for c in consumers]
            return (None not in owned and all(owned) and sum(map(len, owned)) == PARTITIONS
                    and frozenset().union(*owned) == frozenset(range(PARTITIONS)))
        self.wait_for(split, "assignment split between the two", consumers)
        owned = {c.name: c.assignment() for c in consumers}
        self.assertEqual(sorted(len(s) for s in owned.values()), [2, 2], owned)

        values = produce(broker, 0, 100)
        self.wait_for(lambda: sum(len(c.records()) for c in consumers) >= len(values),
                      f"{len(values)} records consumed", consumers)
        time.sleep(1)  # anything consumed twice would arrive now
        records = {c.name: c.records() for c in consumers}
        # The assignment did not change while consuming: each read only its own partitions.
        self.assertEqual({c.name: c.assignment() for c in consumers}, owned)
        for name, recs in records.items():
            self.assertEqual({p for p, _, _, _ in recs}, set(owned[name]), name)
            for p in owned[name]:
                mine = [(o, k, v) for q, o, k, v in recs if q == p]
                self.assertEqual(mine, [(o, f"k{p * 100 + o}", f"v{p * 100 + o}")
                                        for o in range(100)], f"{name} partition {p}")
        consumed = sorted(v for recs in records.values() for _, _, _, v in recs)
        self.assertEqual(consumed, sorted(values))

        for c in consumers:
            c.stop()
        self.assertEqual(committed(broker), [100] * PARTITIONS)

        # The group resumes at its commits: only the new messages.
        new = produce(broker, 400, 5)
        proc = subprocess.run(kcat_argv(broker, "-G", GROUP, TOPIC, "-f", FORMAT, "-e"),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        again = parse_records(proc.stdout)
        self.assertEqual(sorted(v for _, _, _, v in again), sorted(new), proc.stderr)
        self.assertEqual(sorted((p, o) for p, o, _, _ in again),
                         [(p, o) for p in range(PARTITIONS) for o in range(100, 105)])
        self.assertEqual(committed(broker), [105] * PARTITIONS)


if __name__ == "__main__":
    harness.main()
