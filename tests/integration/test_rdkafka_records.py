"""librdkafka 2.0.2 in C (tests/clients/rdkafka/rdkafka_records.c) writes and reads Quire's records:
a consumer reads back exactly what a producer wrote; an idempotent producer with 5 requests in
flight, whose Produce responses are delayed and sometimes lost (a proxy closes the connection
instead of delivering them, so librdkafka retries batches the broker already appended), writes
every message once and in order; a consumer waiting at the end of a partition gets a new message
within milliseconds; DeleteRecords, watermarks, offsets for times, and offsets past the end.

The consumer is librdkafka's simple consumer (rd_kafka_consume_start): no group, because consumer
groups come later and librdkafka 2.0.2's rd_kafka_assign() insists on a group.id."""

import statistics

import harness
import kafka_proxy
from client_programs import C_CLIENT_ENV, rdkafka_records, run_json

NO_AUTO_CREATE = ["auto.create.topics.enable=false"]
INIT_PRODUCER_ID = 22
LATENCY_MEDIAN_MAX_MS = 20
LATENCY_MAX_MS = 100


def records_cmd(bootstrap, *args, timeout_s=120):
    return run_json([rdkafka_records(), bootstrap, *map(str, args)], timeout_s=timeout_s,
                    env=C_CLIENT_ENV)


def produce(bootstrap, topic, partition, count, *conf):
    out = records_cmd(bootstrap, "produce", topic, partition, count,
                      *[a for kv in conf for a in ("-X", kv)])
    assert out["reported"] == count, out
    return out


def consume(bootstrap, topic, partition, offset, *conf, max_records=None):
    args = ["consume", topic, partition, offset] + ([max_records] if max_records else [])
    return records_cmd(bootstrap, *args, *[a for kv in conf for a in ("-X", kv)])


def expected_record(i, offset=None):
    """[offset, key, value, headers] of message i as rdkafka_records produces it."""
    return [i if offset is None else offset, f"k{i:08d}", f"seq={i:08d}", [["seq", f"{i:08d}"]]]


def without_timestamps(records):
    return [[r[0], r[1], r[2], r[5]] for r in records]


class RdkafkaRecords(harness.BrokerTestCase):
    def test_consumer_reads_back_exactly_what_was_produced(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        harness.create_topic(broker, "orders", 2)
        start = harness.now_ms()
        out = produce(broker.bootstrap, "orders", 1, 10_000, "compression.codec=lz4",
                      "linger.ms=10")
        end = harness.now_ms()
        self.assertEqual((out["delivered"], out["errors"], out["first_offset"],
                          out["offsets_consecutive"]), (10_000, {}, 0, True), out)

        got = consume(broker.bootstrap, "orders", 1, "beginning")
        self.assertEqual((got["errors"], got["eof"], got["timed_out"]), ([], 10_000, False))
        self.assertEqual(without_timestamps(got["records"]),
                         [expected_record(i) for i in range(10_000)])
        stamps = [r[3] for r in got["records"]]
        self.assertTrue(all(start <= ts <= end for ts in stamps), (start, end, stamps[:3]))
        self.assertEqual({r[4] for r in got["records"]}, {"create"})

        # From an offset in the middle; the other partition is empty.
        got = consume(broker.bootstrap, "orders", 1, 9_990)
        self.assertEqual(without_timestamps(got["records"]),
                         [expected_record(i) for i in range(9_990, 10_000)])
        got = consume(broker.bootstrap, "orders", 0, "beginning")
        self.assertEqual((got["records"], got["errors"], got["eof"]), ([], [], 0))

        marks = records_cmd(broker.bootstrap, "watermarks", "orders", 1)
        self.assertEqual((marks["error"], marks["low"], marks["high"]), (0, 0, 10_000))
        marks = records_cmd(broker.bootstrap, "watermarks", "orders", 0)
        self.assertEqual((marks["error"], marks["low"], marks["high"]), (0, 0, 0))
        # offsetsForTimes: the first offset at or after the timestamp; -1 (end) after them all
        times = records_cmd(broker.bootstrap, "times", "orders", 1, 0, stamps[5000],
                            end + 60_000)
        self.assertEqual(times["offsets"], [0, stamps.index(stamps[5000]), -1])

    def test_idempotent_producer_with_lost_responses_writes_once_and_in_order(self):
        count = 20_000
        proxy = kafka_proxy.KafkaProxy(drop_every=15, drops_max=8, delay_s=0.005).start()
        self.addCleanup(proxy.close)
        broker = self.start_broker(NO_AUTO_CREATE + [
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{proxy.port}"])
        proxy.target = (broker.host, broker.port)
        harness.create_topic(broker, "exactly", 1)

        out = produce(f"127.0.0.1:{proxy.port}", "exactly", 0, count,
                      "enable.idempotence=true", "max.in.flight.requests.per.connection=5",
                      "batch.num.messages=50", "linger.ms=5", "retry.backoff.ms=20",
                      "reconnect.backoff.ms=10", "reconnect.backoff.max.ms=100",
                      "message.timeout.ms=90000")
        print(f"\nidempotent producer: {proxy.requests.get(0, 0)} Produce requests, "
              f"{proxy.drops} connections dropped instead of answering, "
              f"{proxy.connections} connections", flush=True)
        self.assertEqual(proxy.drops, 8, "the proxy dropped fewer responses than planned")
        self.assertGreaterEqual(proxy.requests.get(INIT_PRODUCER_ID, 0), 1,
                                "the idempotent producer sent no InitProducerId")
        self.assertEqual((out["delivered"], out["errors"], out["fatal_error"]),
                         (count, {}, None), out)
        # Every delivery report carries the message's own offset: a retried batch that the
        # broker had appended gets its original offset back, not a second copy.
        self.assertEqual((out["first_offset"], out["offsets_consecutive"], out["bad_offsets"]),
                         (0, True, []), out)

        proxy.stop_dropping()
        marks = records_cmd(broker.bootstrap, "watermarks", "exactly", 0)
        self.assertEqual((marks["low"], marks["high"]), (0, count), "duplicates in the log")
        got = consume(broker.bootstrap, "exactly", 0, "beginning")
        self.assertEqual((got["errors"], got["eof"]), ([], count))
        values = [r[2] for r in got["records"]]
        self.assertEqual(values, [f"seq={i:08d}" for i in range(count)])

    def test_waiting_consumer_receives_a_new_message_within_milliseconds(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        harness.create_topic(broker, "live", 1)
        count = 20
        out = records_cmd(broker.bootstrap, "latency", "live", 0, count, 150)
        latencies = out["latencies_ms"]
        print(f"\nproduce -> receive latency over {count} messages: median "
              f"{statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms; "
              f"{out['fetch_requests']} Fetch requests in {out['elapsed_ms']:.0f} ms "
              f"(fetch.wait.max.ms=1000)", flush=True)
        self.assertEqual(out["received"], count, out)
        # "Within a few milliseconds": the median stays well below the 40 ms a delayed ACK
        # costs (Nagle's algorithm left on for a response written in two parts); the maximum
        # leaves room for a busy shared machine.
        self.assertLess(statistics.median(latencies), LATENCY_MEDIAN_MAX_MS, out)
        self.assertLess(max(latencies), LATENCY_MAX_MS, out)
        # Long polling: a waiting fetch is answered by the append, not by polling. Each message
        # ends one wait; the idle periods (150 ms each) are shorter than fetch.wait.max.ms.
        self.assertLessEqual(out["fetch_requests"], 3 * count + 10, out)

    def test_delete_records_moves_the_log_start_offset(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        harness.create_topic(broker, "trim", 1)
        produce(broker.bootstrap, "trim", 0, 100)
        deleted = records_cmd(broker.bootstrap, "delete-records", "trim", 0, 40)
        self.assertEqual((deleted["error"], deleted["low_watermark"]), (0, 40), deleted)
        marks = records_cmd(broker.bootstrap, "watermarks", "trim", 0)
        self.assertEqual((marks["low"], marks["high"]), (40, 100))
        got = consume(broker.bootstrap, "trim", 0, "beginning")
        self.assertEqual(without_timestamps(got["records"]),
                         [expected_record(i) for i in range(40, 100)])
        # Below the log start offset: OFFSET_OUT_OF_RANGE, then auto.offset.reset applies.
        got = consume(broker.bootstrap, "trim", 0, 10, "auto.offset.reset=earliest")
        self.assertEqual([r[0] for r in got["records"]], list(range(40, 100)))
        # Past the high watermark is out of range too (OFFSET_OUT_OF_RANGE, Kafka error 1).
        deleted = records_cmd(broker.bootstrap, "delete-records", "trim", 0, 101)
        self.assertEqual(deleted["error_name"], "OFFSET_OUT_OF_RANGE", deleted)
        # -1 deletes up to the high watermark.
        deleted = records_cmd(broker.bootstrap, "delete-records", "trim", 0, -1)
        self.assertEqual((deleted["error"], deleted["low_watermark"]), (0, 100), deleted)
        marks = records_cmd(broker.bootstrap, "watermarks", "trim", 0)
        self.assertEqual((marks["low"], marks["high"]), (100, 100))

    def test_offset_past_the_end_follows_auto_offset_reset(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        harness.create_topic(broker, "short", 1)
        produce(broker.bootstrap, "short", 0, 50)
        got = consume(broker.bootstrap, "short", 0, 500, "auto.offset.reset=earliest")
        self.assertEqual([r[0] for r in got["records"]], list(range(50)))
        got = consume(broker.bootstrap, "short", 0, 500, "auto.offset.reset=latest")
        self.assertEqual((got["records"], got["eof"]), ([], 50))
        got = consume(broker.bootstrap, "short", 0, 500, "auto.offset.reset=error",
                      max_records=1)
        self.assertEqual(got["records"], [])
        self.assertIn("_AUTO_OFFSET_RESET", [e["name"] for e in got["errors"]], got)
        self.assertTrue(any("out of range" in e["message"].lower() for e in got["errors"]),
                        got)


if __name__ == "__main__":
    harness.main()
