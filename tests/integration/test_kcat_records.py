"""kcat 1.7 (librdkafka 2.0.2) writes and reads Quire's records: keyed messages with headers and
(producer-assigned) timestamps produced with `kcat -P` and consumed back identical with `kcat -C`,
with every codec; `-Q` and `-o s@TS` find offsets by timestamp; relative and end offsets.

kcat 1.7's producer has no option to set a message timestamp: librdkafka stamps each message with
its CreateTime when kcat hands it over. The tests produce in chunks separated by a pause, so each
chunk's timestamps lie in a known window, and look those windows up by timestamp.

Each codec's test writes and reads 100k messages (the whole suite takes about 15 s on 2 cores
with the broker under ASan)."""

import subprocess
import time

import harness

KCAT_TIMEOUT_S = 60
CONSUME_FORMAT = r"%o\t%k\t%s\t%T\t%h\n"
COUNT = 100_000
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]


def kcat(broker, *args, stdin=None, timeout_s=KCAT_TIMEOUT_S):
    """Runs kcat against broker; returns stdout, failing on a non-zero exit or on a delivery
    error reported on stderr."""
    argv = ["kcat", "-b", broker.bootstrap, "-m", "15", *args]
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0 or "ERROR" in proc.stderr:
        raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}")
    return proc.stdout


def key_of(i):
    return f"k{i:06d}"


def value_of(i):
    # Varying lengths and some repetition, so every codec has something to do.
    return f"v{i:06d}-" + "abcdefghij"[i % 10] * (i % 61)


def produce_chunk(broker, topic, first, count, codec, headers, partition=0):
    """kcat -P of messages first..first+count-1 ("key<TAB>value" lines); returns the wall-clock
    window [start, end] in ms around the producing process."""
    lines = "".join(f"{key_of(i)}\t{value_of(i)}\n" for i in range(first, first + count))
    args = ["-P", "-t", topic, "-p", str(partition), "-K", "\t",
            "-X", f"compression.codec={codec}", "-X", "linger.ms=20"]
    for name, value in headers:
        args += ["-H", f"{name}={value}"]
    start = harness.now_ms()
    kcat(broker, *args, stdin=lines)
    return start, harness.now_ms()


def consume_all(broker, topic, partition=0, offset="beginning", *extra):
    """kcat -C ... -e: [(offset, key, value, timestamp, headers)] up to the end of the partition."""
    out = kcat(broker, "-C", "-t", topic, "-p", str(partition), "-o", str(offset), "-e",
               "-f", CONSUME_FORMAT, *extra)
    records = []
    for line in out.splitlines():
        o, k, v, ts, h = line.split("\t")
        records.append((int(o), k, v, int(ts), h))
    return records


def offset_for_time(broker, topic, partition, ts):
    """kcat -Q: the offset ListOffsets returns for a timestamp."""
    out = kcat(broker, "-Q", "-t", f"{topic}:{partition}:{ts}").strip()
    prefix = f"{topic} [{partition}] offset "
    if not out.startswith(prefix):
        raise AssertionError(f"unexpected kcat -Q output: {out!r}")
    return int(out[len(prefix):])


class KcatRecords(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def check_round_trip(self, codec, count):
        topic = f"records-{codec}"
        harness.create_topic(self.broker, topic, 1)
        half = count // 2
        headers_a = [("codec", codec), ("chunk", "a"), ("empty", "")]
        headers_b = [("codec", codec), ("chunk", "b"), ("chunk", "b2")]
        start_a, end_a = produce_chunk(self.broker, topic, 0, half, codec, headers_a)
        time.sleep(0.005)
        middle = harness.now_ms()
        time.sleep(0.005)
        start_b, end_b = produce_chunk(self.broker, topic, half, count - half, codec, headers_b)

        records = consume_all(self.broker, topic)
        self.assertEqual(len(records), count, f"{codec}: consumed {len(records)} of {count}")
        hdr_a = ",".join(f"{n}={v}" for n, v in headers_a)
        hdr_b = ",".join(f"{n}={v}" for n, v in headers_b)
        wrong = []
        for i, (offset, key, value, ts, headers) in enumerate(records):
            window = (start_a, end_a) if i < half else (start_b, end_b)
            expected = (i, key_of(i), value_of(i), hdr_a if i < half else hdr_b)
            if ((offset, key, value, headers) != expected
                    or not window[0] <= ts <= window[1]):
                wrong.append((records[i], expected, window))
                if len(wrong) >= 5:
                    break
        self.assertEqual(wrong, [], f"{codec}: records differ (got, expected, ts window)")
        # Producer timestamps come back as sent: non-decreasing within a partition here.
        stamps = [r[3] for r in records]
        self.assertEqual(stamps, sorted(stamps), codec)

        # ListOffsets by timestamp: the first offset whose timestamp is >= the one asked for.
        self.assertEqual(offset_for_time(self.broker, topic, 0, start_a - 1000), 0, codec)
        self.assertEqual(offset_for_time(self.broker, topic, 0, middle), half, codec)
        self.assertEqual(offset_for_time(self.broker, topic, 0, stamps[-1]),
                         stamps.index(stamps[-1]), codec)
        # No record at or after the timestamp: Kafka answers offset -1.
        self.assertEqual(offset_for_time(self.broker, topic, 0, end_b + 60_000), -1, codec)

    def test_keyed_messages_with_headers_round_trip_uncompressed(self):
        self.check_round_trip("none", COUNT)

    def test_keyed_messages_with_headers_round_trip_gzip(self):
        self.check_round_trip("gzip", COUNT)

    def test_keyed_messages_with_headers_round_trip_snappy(self):
        self.check_round_trip("snappy", COUNT)

    def test_keyed_messages_with_headers_round_trip_lz4(self):
        self.check_round_trip("lz4", COUNT)

    def test_keyed_messages_with_headers_round_trip_zstd(self):
        self.check_round_trip("zstd", COUNT)

    def test_consumer_start_offsets_by_timestamp_relative_and_absolute(self):
        topic = "starts"
        harness.create_topic(self.broker, topic, 2)
        windows = []
        for chunk in range(3):
            windows.append(produce_chunk(self.broker, topic, chunk * 10, 10, "lz4",
                                         [("chunk", str(chunk))], partition=1))
            time.sleep(0.01)
        # -o s@TS starts at the first record with a timestamp >= TS (ListOffsets by timestamp)
        from_second = consume_all(self.broker, topic, 1, f"s@{windows[1][0]}")
        self.assertEqual([r[0] for r in from_second], list(range(10, 30)))
        self.assertEqual({r[4] for r in from_second}, {"chunk=1", "chunk=2"})
        # -o -5: five before the end (ListOffsets latest)
        self.assertEqual([(r[0], r[1]) for r in consume_all(self.broker, topic, 1, -5)],
                         [(i, key_of(i)) for i in range(25, 30)])
        # an absolute offset
        self.assertEqual([r[0] for r in consume_all(self.broker, topic, 1, 17)],
                         list(range(17, 30)))
        # at the end there is nothing to read; the other partition is empty
        self.assertEqual(consume_all(self.broker, topic, 1, "end"), [])
        self.assertEqual(consume_all(self.broker, topic, 0), [])
        self.assertEqual(offset_for_time(self.broker, topic, 0, windows[0][0]), -1)
        self.assertEqual(offset_for_time(self.broker, topic, 1, windows[2][0]), 20)


if __name__ == "__main__":
    harness.main()
