"""Log compaction seen by clients (confluent-kafka over librdkafka): a compacted topic with many
updates per key and tombstones keeps the latest record of each key at its own offset, in order;
tombstones go once delete.retention.ms has passed after the pass that first saw them; a
consumer reading while the cleaner works never misses a key's latest record; a kill -9 in the
middle of a pass loses nothing; __consumer_offsets stays small under a loop of commits and its
offsets survive a restart from the compacted log.

The broker logs one line per pass that rewrote something ("compacted DIR up to offset N: ...
(T tombstones) ..."); the tests wait for it rather than sleep."""

import os
import random
import re
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

import harness
from test_confluent_records import consume, producer, produce

# A pass at most every 100 ms instead of 15 s.
FAST_CLEANER = ["log.cleaner.backoff.ms=100"]
KEYS = 100
VALUE_BYTES = 1000
SEGMENT = 1048576  # the smallest segment.bytes Kafka 4.x accepts
COMPACTED = {"cleanup.policy": "compact", "segment.bytes": str(SEGMENT),
             "min.cleanable.dirty.ratio": "0.01"}
PASS_LINE = r"compacted \S*/{topic}-0 up to offset (\d+): .*?\((\d+) tombstones\)"


def updates(count, first_seq=0, keys=range(KEYS)):
    """count updates cycling over keys, each value naming its key and sequence number."""
    keys = list(keys)
    out = []
    for i in range(count):
        k = keys[i % len(keys)]
        seq = first_seq + i
        value = f"k{k}:{seq}:".encode().ljust(VALUE_BYTES, b"x")
        out.append({"topic": None, "key": f"k{k}".encode(), "value": value})
    return out


def produce_to(broker, topic, messages):
    """Produces messages in order (acks=all) and returns [(offset, key, value)]."""
    for m in messages:
        m["topic"] = topic
    reports = produce(producer(broker, acks="all"), messages)
    assert all(r[0] is None for r in reports), reports
    return [(r[2], m["key"], m.get("value")) for r, m in zip(reports, messages)]


def read_all(broker, topic):
    """Every record of partition 0 as [(offset, key, value)]."""
    records, errors = consume(broker, topic, 0, OFFSET_BEGINNING)
    assert not errors, errors
    return [(r[1], r[2], r[3]) for r in records]


def latest_per_key(written, below=None):
    """The records a compacted log keeps below offset `below` (all when None): the latest one of
    each key; everything from `below` on."""
    last = {}
    for off, key, _ in written:
        if below is None or off < below:
            last[key] = off
    return [r for r in written if (below is not None and r[0] >= below) or last[r[1]] == r[0]]


def passes(broker, topic):
    """The broker's pass lines for topic-0 so far: [(cleaned up to, tombstones removed)]."""
    return [(int(m.group(1)), int(m.group(2)))
            for m in re.finditer(PASS_LINE.format(topic=topic), broker.log_text())]


def settled(broker, topic, after=0, quiet_s=2.0, timeout_s=90):
    """Waits until more than `after` passes of topic-0 were logged and none came for quiet_s
    (nothing is appended meanwhile, so the cleaner has caught up); returns all passes."""
    deadline = time.monotonic() + timeout_s
    seen, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now = passes(broker, topic)
        if len(now) != (len(seen) if seen is not None else -1):
            seen, since = now, time.monotonic()
        elif len(now) > after and time.monotonic() - since >= quiet_s:
            return now
        time.sleep(0.1)
    raise AssertionError(f"the cleaner did not settle on {topic} within {timeout_s} s: {seen}")


def check_view(written, seen):
    """What a reader of a log being compacted may see: records as written at their own offsets,
    in order, and at least every key's latest record that is not a tombstone (a tombstone may go
    once its delete horizon passed)."""
    by_offset = {r[0]: r for r in written}
    offsets = [r[0] for r in seen]
    assert offsets == sorted(set(offsets)), "offsets out of order or repeated"
    for r in seen:
        assert by_offset.get(r[0]) == r, f"record at {r[0]} is not what was written"
    present = set(offsets)
    for off, key, value in latest_per_key(written):
        if value is not None:
            assert off in present, f"the latest record of {key} (offset {off}) is missing"


class CompactionTest(harness.BrokerTestCase):

    def test_latest_per_key_survives_and_tombstones_go_after_delete_retention(self):
        broker = self.start_broker(FAST_CLEANER)
        harness.create_topic(broker, "table", configs={**COMPACTED, "delete.retention.ms": "2000"})
        written = produce_to(broker, "table", updates(5500))
        tombstoned = [f"k{k}".encode() for k in range(10)]
        written += produce_to(broker, "table", [{"key": k, "value": None} for k in tombstoned])
        # more updates of the other keys, so that the tombstones are in a closed segment
        written += produce_to(broker, "table", updates(1200, 5500, range(10, KEYS)))
        # readers while the cleaner works: never a gap where a latest record should be
        stop = threading.Event()
        views = []

        def reader():
            while not stop.is_set():
                views.append(read_all(broker, "table"))

        t = threading.Thread(target=reader)
        t.start()
        try:
            first = settled(broker, "table")
        finally:
            stop.set()
            t.join(60)
        self.assertGreater(len(views), 0)
        for seen in views:
            check_view(written, seen)
        cleaned_to = first[-1][0]
        self.assertGreater(cleaned_to, 5 * SEGMENT // VALUE_BYTES)  # 5 of 6 closed segments
        # offsets and order unchanged; below the cleaned offset only the latest of each key
        self.assertEqual(read_all(broker, "table"), latest_per_key(written, cleaned_to))

        self.assertEqual(sum(t for _, t in first), 0)
        # the tombstones outlive the passes that saw them first, then go at a pass after
        # delete.retention.ms (new updates make the log dirty again)
        time.sleep(2.5)
        written += produce_to(broker, "table", updates(1200, 6700, range(10, KEYS)))
        later = settled(broker, "table", after=len(first))[len(first):]
        self.assertGreater(sum(t for _, t in later), 0, "no later pass removed a tombstone")
        seen = read_all(broker, "table")
        check_view(written, seen)
        below = [r for r in seen if r[0] < later[-1][0]]
        self.assertFalse([r for r in below if r[1] in tombstoned],
                         "a tombstoned key still has records below the cleaned offset")
        self.assertEqual(len(below), KEYS - len(tombstoned))

    def test_kill_9_during_a_pass_loses_nothing(self):
        # 1 MB/s: a pass over this topic takes several seconds, so the kill lands inside it; the
        # compaction lag holds the segments back until all of them are written (one long pass)
        broker = self.start_broker(FAST_CLEANER + ["log.cleaner.io.max.bytes.per.second=1000000"])
        harness.create_topic(broker, "crashy", configs={**COMPACTED,
                                                        "min.compaction.lag.ms": "4000"})
        written = produce_to(broker, "crashy", updates(5500))
        part_dir = os.path.join(broker.data_dir, "crashy-0")
        harness.wait_until(lambda: any(n.endswith(".cleaned") for n in os.listdir(part_dir)),
                           timeout_s=60, what="a rewrite in progress (.cleaned file)")
        time.sleep(random.uniform(0, 2))
        self.assertEqual(passes(broker, "crashy"), [], "the pass ended before the kill")
        broker.overrides = FAST_CLEANER  # unthrottled after the restart
        broker.crash_restart()
        check_view(written, read_all(broker, "crashy"))
        cleaned_to = settled(broker, "crashy")[-1][0]
        self.assertEqual(read_all(broker, "crashy"), latest_per_key(written, cleaned_to))
        # and the log goes on
        more = produce_to(broker, "crashy", updates(10, 5500))
        self.assertEqual(more[0][0], written[-1][0] + 1)

    def test_consumer_offsets_stay_bounded_under_a_commit_loop(self):
        broker = self.start_broker(FAST_CLEANER + [f"offsets.topic.segment.bytes={SEGMENT}"])
        harness.create_topic(broker, "events", partitions=50)
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer",
                      "enable.auto.commit": False})
        try:
            for i in range(1, 2501):
                c.commit(offsets=[TopicPartition("events", p, i * 10 + p) for p in range(50)],
                         asynchronous=False)
        finally:
            c.close()

        def offsets_bytes():
            total = 0
            for d in broker.partition_dirs():
                if d.startswith("__consumer_offsets-"):
                    path = os.path.join(broker.data_dir, d)
                    total += sum(os.path.getsize(os.path.join(path, n))
                                 for n in os.listdir(path) if n.endswith(".log"))
            return total

        # 2,500 commits of 50 partitions wrote about 7 MB; compacted, the closed segments shrink to
        # the latest 50 offsets and the log to about its active segment
        harness.wait_until(lambda: offsets_bytes() < 2 * SEGMENT, timeout_s=60,
                           what="__consumer_offsets compacted below 2 MiB")
        broker.restart()
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer",
                      "enable.auto.commit": False})
        try:
            got = c.committed([TopicPartition("events", p) for p in range(50)], timeout=30)
        finally:
            c.close()
        self.assertEqual([tp.offset for tp in got], [25000 + p for p in range(50)])


if __name__ == "__main__":
    harness.main()
