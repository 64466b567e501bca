"""sarama 1.22 (Go) writes and reads Quire's records: a SyncProducer (acks=all, plain and
idempotent) with keys, headers and timestamps in each codec; a partition consumer without a group
reads them back; client.GetOffset lists the oldest, newest and by-timestamp offsets; a consumer
started past the end gets OFFSET_OUT_OF_RANGE. config.Version is V2_2_0_0, so sarama sends
Produce v3, Fetch v4 and ListOffsets v1.

zstd needs Produce v7 (KIP-110), which sarama 1.22 never sends: Kafka rejects zstd batches in older
Produce versions with UNSUPPORTED_COMPRESSION_TYPE, and so must Quire.

tests/clients/sarama_records/main.go is built once per run like test_sarama.py's program."""

import shutil

import client_programs
import harness

NO_AUTO_CREATE = "auto.create.topics.enable=false"
BASE_TS = 1_700_000_000_000
UNSUPPORTED_COMPRESSION_TYPE = 76
OUT_OF_RANGE = ("kafka server: The requested offset is outside the range of offsets maintained "
                "by the server for the given topic/partition.")
_work_dir = None
_binary = None


def setUpModule():
    global _work_dir, _binary
    _work_dir, _binary = client_programs.build_sarama_program("sarama_records")


def tearDownModule():
    if _work_dir:
        shutil.rmtree(_work_dir, ignore_errors=True)


def sarama_records(broker, topic, count, codec, idempotent=False):
    argv = [_binary, broker.bootstrap, topic, str(count), codec]
    return client_programs.run_json(argv + (["idempotent"] if idempotent else []))


class SaramaRecords(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker([NO_AUTO_CREATE])

    def check(self, codec, idempotent=False, count=300):
        topic = f"{codec}-{'idempotent' if idempotent else 'plain'}"
        harness.create_topic(self.broker, topic, 1)
        out = sarama_records(self.broker, topic, count, codec, idempotent)
        self.assertIsNone(out["produce_error"], out["produce_error"])
        self.assertEqual(out["produced"], [[0, i] for i in range(count)])
        self.assertEqual((out["oldest"], out["newest"]), (0, count))
        self.assertEqual(out["consumed"],
                         [{"offset": i, "key": f"key-{i}", "value": f"value-{i}",
                           "timestamp": BASE_TS + 10 * i,
                           "headers": {"n": str(i), "codec": codec}} for i in range(count)])
        self.assertEqual(out["past_end_error"], OUT_OF_RANGE)
        # GetOffset by time: before everything -> 0; between i-1 and i -> i; after all -> -1.
        # sarama 1.22 leaves the batch header's maxTimestamp at -1; Kafka's broker sets it to
        # the largest record timestamp when it validates the batch (LogValidator), so lookups
        # by time still find these records.
        self.assertEqual(out["by_time"], [0, count // 2, -1])

    def test_uncompressed(self):
        self.check("none")

    def test_gzip(self):
        self.check("gzip")

    def test_snappy(self):
        self.check("snappy")

    def test_lz4_idempotent(self):
        self.check("lz4", idempotent=True)

    def test_zstd_in_produce_v3_is_rejected_as_kafka_does(self):
        harness.create_topic(self.broker, "zstd", 1)
        out = sarama_records(self.broker, "zstd", 10, "zstd")
        self.assertEqual(out["produce_error_code"], UNSUPPORTED_COMPRESSION_TYPE, out)
        self.assertEqual((out["oldest"], out["newest"], out["consumed"]), (0, 0, []))


if __name__ == "__main__":
    harness.main()
