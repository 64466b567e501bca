"""confluent-kafka 1.7 (Python over librdkafka 2.0.2) writes and reads Quire's records: keys,
values, headers and timestamps come back as produced with every codec and acks setting, the
idempotent producer, LogAppendTime topics and topic-side recompression; list offsets (earliest,
latest, by timestamp); records survive a broker restart at the same offsets; producing to a
deleted topic, oversized batches, and offsets past the end (auto.offset.reset).

A Fetch for a deleted topic is checked in test_kafka_python_records.py: librdkafka 2.0.2's
assign() consumer reports nothing when its partition's topic disappears (it only notes the
partition count going to 0), and its close() then hangs waiting for close events.

The consumer uses assign() only: consumer groups come later. confluent-kafka's Consumer demands a
group.id even so; with assign() and explicit offsets librdkafka sends no group requests that
matter (no offsets are committed: enable.auto.commit is off). check.crcs makes librdkafka verify
the CRC-32C of every batch it fetches."""

import gc
import time

from confluent_kafka import (OFFSET_BEGINNING, OFFSET_END, TIMESTAMP_CREATE_TIME,
                             TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaError, Producer,
                             TopicPartition)

import harness

NO_AUTO_CREATE = ["auto.create.topics.enable=false"]
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
CONSUME_TIMEOUT_S = 30
# A fixed CreateTime in the past (2023-11-14T22:13:20Z), so it cannot be mistaken for "now".
BASE_TS = 1_700_000_000_000


def producer(broker, **conf):
    return Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5,
                     "topic.metadata.propagation.max.ms": 1000, **conf})


def produce(p, messages, flush_timeout_s=30):
    """Produces messages (dicts of produce() arguments) and waits for their delivery reports:
    [(error code or None, partition, offset, (timestamp type, timestamp))] in produce order."""
    reports = [None] * len(messages)

    def report(i):
        def on_delivery(err, msg):
            reports[i] = (err.code() if err else None, msg.partition(), msg.offset(),
                          msg.timestamp())
        return on_delivery

    for i, m in enumerate(messages):
        while True:
            try:
                p.produce(on_delivery=report(i), **m)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(flush_timeout_s)
    assert left == 0, f"{left} messages still undelivered after {flush_timeout_s} s"
    return reports


def produce_all(broker, messages, **conf):
    p = producer(broker, **conf)
    try:
        return produce(p, messages)
    finally:
        del p
        gc.collect()


def consumer(broker, **conf):
    return Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "quire-it-assign",
                     "enable.auto.commit": False, "enable.partition.eof": True,
                     "check.crcs": True, "fetch.wait.max.ms": 100, **conf})


def record(m):
    return (m.partition(), m.offset(), m.key(), m.value(), m.headers(), m.timestamp())


def consume(broker, topic, partition, offset, max_count=None, stop_on_error=False,
            timeout_s=CONSUME_TIMEOUT_S, **conf):
    """Assigns one partition at offset and reads to its end (or max_count records):
    (records as (partition, offset, key, value, headers, (ts type, ts)), [KafkaError])."""
    c = consumer(broker, **conf)
    records, errors = [], []
    try:
        c.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    break
                errors.append(m.error())
                if stop_on_error:
                    break
                continue
            records.append(record(m))
            if max_count and len(records) >= max_count:
                break
        else:
            raise AssertionError(f"no end of {topic} [{partition}] within {timeout_s} s: "
                                 f"{len(records)} records, errors {errors}")
    finally:
        c.close()
    return records, errors


def sample_messages(topic, count, partitions):
    """Messages with explicit partitions, keys (some null), values (some null or empty),
    headers (repeated names, empty and binary values) and CreateTimes BASE_TS + 10 * i.

    No header has a null value: confluent-kafka 1.7 decrements None's reference count for each
    one it consumes (a bug in its C extension) until the interpreter aborts."""
    out = []
    for i in range(count):
        headers = [("n", str(i).encode()), ("dup", b"1"), ("dup", b"2")]
        if i % 7 == 0:
            headers.append(("empty", b""))
        if i % 11 == 0:
            headers.append(("bin", bytes(range(256))))
        out.append({"topic": topic, "partition": i % partitions,
                    "key": None if i % 13 == 0 else f"key-{i}".encode(),
                    "value": None if i % 17 == 0 else (b"" if i % 19 == 0 else
                                                       f"value-{i}-".encode() * (i % 9 + 1)),
                    "headers": headers if i % 5 else None,
                    "timestamp": BASE_TS + 10 * i})
    return out


def expected_records(messages, partition):
    """What a consumer should read from one partition, offsets counted from 0."""
    mine = [m for m in messages if m["partition"] == partition]
    return [(partition, offset, m["key"], m["value"], m["headers"],
             (TIMESTAMP_CREATE_TIME, m["timestamp"])) for offset, m in enumerate(mine)]


def watermarks(broker, topic, partition):
    c = consumer(broker)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
    finally:
        c.close()


def offsets_for_times(broker, topic, partition, stamps):
    """The offset ListOffsets finds for each timestamp (one request each: a partition may appear
    only once in a request)."""
    c = consumer(broker)
    offsets = []
    try:
        for ts in stamps:
            [tp] = c.offsets_for_times([TopicPartition(topic, partition, ts)], timeout=10)
            assert tp.error is None, tp
            offsets.append(tp.offset)
    finally:
        c.close()
    return offsets


class ConfluentRecords(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def assert_partitions(self, topic, messages, partitions):
        for p in range(partitions):
            records, errors = consume(self.broker, topic, p, OFFSET_BEGINNING)
            self.assertEqual(errors, [])
            expected = expected_records(messages, p)
            self.assertEqual(len(records), len(expected), f"{topic} [{p}]")
            self.assertEqual(records, expected, f"{topic} [{p}]")

    def test_records_round_trip_and_list_offsets(self):
        topic, partitions, count = "orders", 3, 600
        harness.create_topic(self.broker, topic, partitions)
        messages = sample_messages(topic, count, partitions)
        reports = produce_all(self.broker, messages, **{"compression.codec": "gzip"})
        # Delivery reports: no errors, offsets 0.. per partition in produce order, CreateTime.
        self.assertEqual({r[0] for r in reports}, {None})
        for p in range(partitions):
            mine = [r for r in reports if r[1] == p]
            self.assertEqual([r[2] for r in mine], list(range(count // partitions)))
        self.assertEqual(reports[4][3], (TIMESTAMP_CREATE_TIME, BASE_TS + 40))
        self.assert_partitions(topic, messages, partitions)

        # ListOffsets: earliest and latest
        for p in range(partitions):
            self.assertEqual(watermarks(self.broker, topic, p), (0, count // partitions))
        # ListOffsets by timestamp: partition 1 holds messages 1, 4, 7, ... (CreateTime
        # BASE_TS + 10 i) at offsets 0, 1, 2, ...
        stamps = [0, BASE_TS + 10, BASE_TS + 11, BASE_TS + 40, BASE_TS + 10 * (count - 2),
                  BASE_TS + 10 * count]
        self.assertEqual(offsets_for_times(self.broker, topic, 1, stamps),
                         [0, 0, 1, 1, count // partitions - 1, OFFSET_END])
        # a start offset found by timestamp, then consumed from
        records, _ = consume(self.broker, topic, 1, offsets_for_times(
            self.broker, topic, 1, [BASE_TS + 10 * 301])[0])
        self.assertEqual(records[0][1:4], (100, b"key-301", messages[301]["value"]))

    def test_every_codec_with_the_idempotent_producer(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                topic = f"codec-{codec}"
                harness.create_topic(self.broker, topic, 2)
                messages = sample_messages(topic, 400, 2)
                reports = produce_all(self.broker, messages, **{
                    "compression.codec": codec, "enable.idempotence": True})
                self.assertEqual({r[0] for r in reports}, {None})
                self.assert_partitions(topic, messages, 2)

    def test_acks_none_leader_and_all(self):
        topic = "acks"
        harness.create_topic(self.broker, topic, 1)
        sent = []
        for acks in ("0", "1", "all"):
            messages = [{"topic": topic, "partition": 0, "key": f"{acks}-{i}".encode(),
                         "value": b"x" * i, "timestamp": BASE_TS + i} for i in range(200)]
            reports = produce_all(self.broker, messages, acks=acks)
            self.assertEqual({r[0] for r in reports}, {None}, acks)
            if acks != "0":  # acks=0 gets no response, so no offsets
                self.assertEqual([r[2] for r in reports], list(range(len(sent), len(sent) + 200)))
            sent += messages
        records, errors = consume(self.broker, topic, 0, OFFSET_BEGINNING)
        self.assertEqual(errors, [])
        self.assertEqual([(r[1], r[2], r[3]) for r in records],
                         [(i, m["key"], m["value"]) for i, m in enumerate(sent)])

    def test_log_append_time_topic_stamps_records_when_appended(self):
        topic = "stamped"
        harness.create_topic(self.broker, topic, 1,
                             {"message.timestamp.type": "LogAppendTime"})
        for codec in ("none", "lz4"):
            messages = [{"topic": topic, "partition": 0, "key": b"k", "value": b"v" * 100,
                         "timestamp": BASE_TS} for _ in range(50)]
            before = harness.now_ms()
            reports = produce_all(self.broker, messages, **{"compression.codec": codec})
            after = harness.now_ms()
            self.assertEqual({r[0] for r in reports}, {None})
            # The Produce response carries the broker's append time (log_append_time_ms).
            for r in reports:
                self.assertEqual(r[3][0], TIMESTAMP_LOG_APPEND_TIME, (codec, r))
                self.assertTrue(before <= r[3][1] <= after, (codec, before, r, after))
        records, errors = consume(self.broker, topic, 0, OFFSET_BEGINNING)
        self.assertEqual((errors, len(records)), ([], 100))
        for r in records:
            self.assertEqual(r[5][0], TIMESTAMP_LOG_APPEND_TIME, r)
            self.assertGreater(r[5][1], BASE_TS, r)

    def test_topic_compression_type_recompresses_what_producers_send(self):
        topic = "recompressed"
        harness.create_topic(self.broker, topic, 1, {"compression.type": "zstd"})
        messages = sample_messages(topic, 300, 1)
        reports = produce_all(self.broker, messages, **{"compression.codec": "gzip"})
        self.assertEqual({r[0] for r in reports}, {None})
        # check.crcs: the rewritten batches carry a correct CRC; the records are unchanged
        self.assert_partitions(topic, messages, 1)

    def test_records_survive_a_restart_at_the_same_offsets(self):
        topic, partitions = "durable", 2
        harness.create_topic(self.broker, topic, partitions)
        messages = sample_messages(topic, 500, partitions)
        produce_all(self.broker, messages, **{"compression.codec": "snappy",
                                              "enable.idempotence": True})
        before = [consume(self.broker, topic, p, OFFSET_BEGINNING)[0] for p in range(partitions)]
        self.assertEqual(before, [expected_records(messages, p) for p in range(partitions)])

        self.broker.restart()
        after = [consume(self.broker, topic, p, OFFSET_BEGINNING)[0] for p in range(partitions)]
        self.assertEqual(after, before)
        self.assertEqual([watermarks(self.broker, topic, p) for p in range(partitions)],
                         [(0, 250), (0, 250)])
        self.assertEqual(offsets_for_times(self.broker, topic, 0, [BASE_TS + 10 * 100]), [50])
        # New records continue where the old ones ended.
        more = [{"topic": topic, "partition": 0, "value": f"after-{i}".encode()}
                for i in range(10)]
        reports = produce_all(self.broker, more, **{"enable.idempotence": True})
        self.assertEqual([(r[0], r[2]) for r in reports], [(None, 250 + i) for i in range(10)])
        records, _ = consume(self.broker, topic, 0, 245)
        self.assertEqual([(r[1], r[3]) for r in records],
                         [(245 + i, messages[2 * (245 + i)]["value"]) for i in range(5)]
                         + [(250 + i, f"after-{i}".encode()) for i in range(10)])

    def test_producing_to_a_deleted_topic_fails_and_leaves_nothing_behind(self):
        topic = "doomed"
        harness.create_topic(self.broker, topic, 1)
        p = producer(self.broker, **{"message.timeout.ms": 15000})
        try:
            first = produce(p, [{"topic": topic, "partition": 0, "value": b"before"}])
            self.assertEqual([(r[0], r[2]) for r in first], [(None, 0)])
            harness.delete_topic(self.broker, topic)
            late = produce(p, [{"topic": topic, "partition": 0, "value": b"after"}])
        finally:
            del p
            gc.collect()
        # Kafka answers UNKNOWN_TOPIC_OR_PARTITION; librdkafka refreshes its metadata, finds the
        # topic gone and fails the message (as the broker's error, or its own _UNKNOWN_TOPIC or
        # _UNKNOWN_PARTITION once the partition count dropped to 0).
        self.assertIn(late[0][0], (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC,
                                   KafkaError._UNKNOWN_PARTITION), late)
        self.assertEqual(late[0][2], None if late[0][0] else 0, late)
        # A topic created again under the name starts empty.
        harness.create_topic(self.broker, topic, 1)
        records, errors = consume(self.broker, topic, 0, OFFSET_BEGINNING)
        self.assertEqual((records, errors), ([], []))
        self.assertEqual(watermarks(self.broker, topic, 0), (0, 0))

    def test_a_batch_over_max_message_bytes_is_rejected_and_not_appended(self):
        topic = "small"
        harness.create_topic(self.broker, topic, 1, {"max.message.bytes": "2048"})
        p = producer(self.broker, **{"linger.ms": 0, "message.timeout.ms": 15000})
        try:
            small = produce(p, [{"topic": topic, "partition": 0, "value": b"s" * 100}])
            big = produce(p, [{"topic": topic, "partition": 0, "value": b"b" * 8000}])
            after = produce(p, [{"topic": topic, "partition": 0, "value": b"t" * 100}])
        finally:
            del p
            gc.collect()
        self.assertEqual([(r[0], r[2]) for r in small], [(None, 0)])
        # Kafka: MESSAGE_TOO_LARGE (10) for a batch larger than the topic's max.message.bytes
        self.assertEqual(big[0][0], KafkaError.MSG_SIZE_TOO_LARGE, big)
        self.assertEqual([(r[0], r[2]) for r in after], [(None, 1)])
        records, errors = consume(self.broker, topic, 0, OFFSET_BEGINNING)
        self.assertEqual(([r[3] for r in records], errors), ([b"s" * 100, b"t" * 100], []))

    def test_offset_past_the_end_follows_auto_offset_reset(self):
        topic = "short"
        harness.create_topic(self.broker, topic, 1)
        produce_all(self.broker, [{"topic": topic, "partition": 0, "value": str(i).encode()}
                                  for i in range(10)])
        records, _ = consume(self.broker, topic, 0, 1000, **{"auto.offset.reset": "earliest"})
        self.assertEqual([r[1] for r in records], list(range(10)))
        records, _ = consume(self.broker, topic, 0, 1000, **{"auto.offset.reset": "latest"})
        self.assertEqual(records, [])
        records, errors = consume(self.broker, topic, 0, 1000, stop_on_error=True,
                                  **{"auto.offset.reset": "error"})
        self.assertEqual(records, [])
        self.assertEqual([e.code() for e in errors], [KafkaError._AUTO_OFFSET_RESET])
        self.assertIn("out of range", errors[0].str().lower())


if __name__ == "__main__":
    harness.main()
