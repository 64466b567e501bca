"""kafka-python 2.0.2 (an independent pure-Python client) writes and reads Quire's records with its
own encoder and decoder: Produce v7 batches in every codec (its snappy uses the Java client's
xerial block framing), Fetch v4, ListOffsets (beginning, end, by timestamp), a consumer without a
group (assign and seek), offsets past the end, and a Fetch for a deleted topic sent through its
low-level client. Codecs other than gzip need python3-snappy, python3-lz4 and python3-zstandard."""

import contextlib
import time

from kafka import KafkaClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import OffsetOutOfRangeError
from kafka.protocol.fetch import FetchRequest
from kafka.protocol.offset import OffsetRequest

import harness

TIMEOUT_MS = 10000
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]
UNKNOWN_TOPIC_OR_PARTITION = 3
BASE_TS = 1_700_000_000_000
CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


@contextlib.contextmanager
def producer(broker, **conf):
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version_auto_timeout_ms=TIMEOUT_MS,
                      acks="all", linger_ms=5, **conf)
    try:
        yield p
    finally:
        p.close(timeout=10)


@contextlib.contextmanager
def consumer(broker, **conf):
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, api_version_auto_timeout_ms=TIMEOUT_MS,
                      check_crcs=True, fetch_max_wait_ms=100, **conf)
    try:
        yield c
    finally:
        c.close()


def send_all(p, messages):
    """[(partition, offset, timestamp)] of each message's RecordMetadata, in send order."""
    futures = [p.send(**m) for m in messages]
    p.flush(timeout=30)
    return [(md.partition, md.offset, md.timestamp)
            for md in (f.get(timeout=30) for f in futures)]


def read(c, tp, count, timeout_s=30):
    """Polls the assigned consumer until count records of tp arrived (or the timeout)."""
    records = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in c.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def sample(topic, partition, count, first=0):
    return [{"topic": topic, "partition": partition,
             "key": None if i % 10 == 0 else f"key-{i}".encode(),
             "value": f"value-{i}-".encode() * (i % 7 + 1),
             "headers": [("n", str(i).encode()), ("dup", b"a"), ("dup", b"")],
             "timestamp_ms": BASE_TS + 10 * i} for i in range(first, first + count)]


class KafkaPythonRecords(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def test_every_codec_round_trips_keys_values_headers_and_timestamps(self):
        for codec in CODECS:
            with self.subTest(codec=codec):
                topic = f"codec-{codec or 'none'}"
                harness.create_topic(self.broker, topic, 2)
                messages = sample(topic, 1, 300)
                with producer(self.broker, compression_type=codec) as p:
                    sent = send_all(p, messages)
                self.assertEqual(sent, [(1, i, BASE_TS + 10 * i) for i in range(300)])
                tp = TopicPartition(topic, 1)
                with consumer(self.broker) as c:
                    c.assign([tp])
                    c.seek_to_beginning(tp)
                    records = read(c, tp, 300)
                self.assertEqual(
                    [(r.offset, r.key, r.value, r.headers, r.timestamp, r.timestamp_type)
                     for r in records],
                    [(i, m["key"], m["value"], m["headers"], m["timestamp_ms"], 0)
                     for i, m in enumerate(messages)])

    def test_list_offsets_beginning_end_and_by_timestamp(self):
        harness.create_topic(self.broker, "offsets", 2)
        with producer(self.broker) as p:
            send_all(p, sample("offsets", 0, 100))
        tps = [TopicPartition("offsets", 0), TopicPartition("offsets", 1)]
        with consumer(self.broker) as c:
            self.assertEqual(c.beginning_offsets(tps), {tps[0]: 0, tps[1]: 0})
            self.assertEqual(c.end_offsets(tps), {tps[0]: 100, tps[1]: 0})
            found = c.offsets_for_times({tps[0]: BASE_TS + 255})
            self.assertEqual((found[tps[0]].offset, found[tps[0]].timestamp),
                             (26, BASE_TS + 260))
            found = c.offsets_for_times({tps[0]: BASE_TS + 10 * 50})
            self.assertEqual((found[tps[0]].offset, found[tps[0]].timestamp),
                             (50, BASE_TS + 500))
            found = c.offsets_for_times({tps[0]: 0})
            self.assertEqual(found[tps[0]].offset, 0)
            # no record at or after the timestamp, or none at all: None
            self.assertEqual(c.offsets_for_times({tps[0]: BASE_TS + 10_000, tps[1]: 0}),
                             {tps[0]: None, tps[1]: None})

    def test_consumer_seeks_and_resets_an_offset_past_the_end(self):
        harness.create_topic(self.broker, "short", 1)
        with producer(self.broker) as p:
            send_all(p, sample("short", 0, 20))
        tp = TopicPartition("short", 0)
        with consumer(self.broker) as c:
            c.assign([tp])
            c.seek(tp, 15)
            self.assertEqual([r.offset for r in read(c, tp, 5)], list(range(15, 20)))
        with consumer(self.broker, auto_offset_reset="earliest") as c:
            c.assign([tp])
            c.seek(tp, 1000)
            self.assertEqual([r.offset for r in read(c, tp, 20)], list(range(20)))
        with consumer(self.broker, auto_offset_reset="none") as c:
            c.assign([tp])
            c.seek(tp, 1000)
            with self.assertRaises(OffsetOutOfRangeError):
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    c.poll(timeout_ms=200)

    def test_fetch_and_list_offsets_for_a_deleted_topic_answer_unknown_topic(self):
        harness.create_topic(self.broker, "gone", 1)
        with producer(self.broker) as p:
            send_all(p, sample("gone", 0, 3))
        harness.delete_topic(self.broker, "gone")
        client = KafkaClient(bootstrap_servers=self.broker.bootstrap,
                             api_version_auto_timeout_ms=TIMEOUT_MS)
        try:
            node = harness.wait_until(lambda: client.least_loaded_node(), what="a node")
            harness.wait_until(lambda: (client.poll(timeout_ms=50) or True)
                               and client.ready(node), what="a connection")
            fetch = FetchRequest[4](-1, 100, 1, 1 << 20, 0,
                                    [("gone", [(0, 0, 1 << 20)])])
            response = self.call(client, node, fetch)
            [(topic, [partition])] = response.topics
            self.assertEqual((topic, partition[0], partition[1]),
                             ("gone", 0, UNKNOWN_TOPIC_OR_PARTITION), response)
            listing = OffsetRequest[1](-1, [("gone", [(0, -1)])])
            response = self.call(client, node, listing)
            [(topic, [partition])] = response.topics
            self.assertEqual((topic, partition[0], partition[1]),
                             ("gone", 0, UNKNOWN_TOPIC_OR_PARTITION), response)
        finally:
            client.close()

    @staticmethod
    def call(client, node, request):
        future = client.send(node, request)
        client.poll(future=future, timeout_ms=TIMEOUT_MS)
        assert future.is_done, f"no answer to {request}"
        if future.failed():
            raise future.exception
        return future.value


if __name__ == "__main__":
    harness.main()
