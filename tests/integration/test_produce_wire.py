"""Produce and InitProducerId in raw frames against the real broker: what Apache Kafka 4.3 answers
to bad batches (corrupt CRC, oversized, magic 0/1, a compression bomb, keyless records on a
compacted topic, timestamps out of range), acks 0 / 1 / all with the durability rule, topic ids
(v13), v0-2, and the idempotent producer's duplicates, gaps and stale epochs. Frames are built
and parsed by hand (kafka_frames.py), independently of Quire's codec."""

import base64
import time
import zlib

import harness
from kafka_frames import (API_VERSIONS, CORRUPT_MESSAGE, COORDINATOR_NOT_AVAILABLE,
                          INVALID_PRODUCER_EPOCH, INVALID_RECORD, INVALID_REQUEST,
                          INVALID_REQUIRED_ACKS, INVALID_TIMESTAMP, INVALID_TXN_STATE,
                          MESSAGE_TOO_LARGE, OUT_OF_ORDER_SEQUENCE_NUMBER, PRODUCE,
                          RECORD_LIST_TOO_LARGE, REQUEST_TIMED_OUT,
                          TRANSACTIONAL_ID_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_ID,
                          UNKNOWN_TOPIC_OR_PARTITION, UNSUPPORTED_COMPRESSION_TYPE,
                          UNSUPPORTED_VERSION, Conn, api_versions_body, describe_log_dirs_body,
                          incremental_alter_configs_body, init_producer_id, list_offsets, metadata,
                          metadata_body, parse_alter_configs_response, parse_api_versions,
                          parse_describe_log_dirs, parse_metadata, parse_produce, produce_body,
                          produce_call, producer_batch, request)


def simple_batch(n=3, key=b"k", ts=None, **kw):
    ts = harness.now_ms() if ts is None else ts
    return producer_batch([(key, b"value-%d" % i, ts + i) for i in range(n)], ts, **kw)


class ProduceWire(harness.BrokerTestCase):
    def connect(self, broker):
        conn = Conn(broker)
        self.addCleanup(conn.close)
        return conn

    def produce_one(self, conn, topic, batch, version=9, partition=0, **kw):
        (p,) = produce_call(conn, version, [(topic, [(partition, batch)])], **kw)
        return p

    def test_good_batches_get_consecutive_offsets_at_every_version(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        offset = 0
        for version in range(3, 13):
            p = self.produce_one(conn, "t", simple_batch(2), version=version)
            self.assertEqual((p["error"], p["base_offset"]), (0, offset), f"v{version}")
            if version >= 5:
                self.assertEqual(p["log_start_offset"], 0)
            self.assertEqual(p["log_append_time"], -1)
            offset += 2

    def test_a_topic_config_change_applies_to_the_next_produce(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        ts = harness.now_ms()
        batch = producer_batch([(b"k", b"x" * 5000, ts)], ts)
        self.assertEqual(self.produce_one(conn, "t", batch)["error"], 0)
        body = incremental_alter_configs_body(1, [(2, "t", [("max.message.bytes", 0, "1000")])])
        self.assertEqual(parse_alter_configs_response(conn.call(44, 1, body, flexible=True), True),
                         {(2, "t"): (0, None)})
        self.assertEqual(self.produce_one(conn, "t", batch)["error"], MESSAGE_TOO_LARGE)

    def test_v0_to_v2_are_advertised_but_answered_unsupported_version(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        conn.send(request(API_VERSIONS, 3, 1, api_versions_body(3), flexible=True))
        _, _, apis = parse_api_versions(conn.response(), 3)
        self.assertEqual(apis[PRODUCE], (0, 13))
        self.assertEqual(apis[22], (0, 5))
        for version in range(0, 3):
            p = self.produce_one(conn, "t", simple_batch(), version=version)
            self.assertEqual((p["error"], p["base_offset"]), (UNSUPPORTED_VERSION, -1))
        # nothing was appended
        self.assertEqual(self.produce_one(conn, "t", simple_batch())["base_offset"], 0)

    def test_corrupt_crc_is_corrupt_message_and_nothing_is_appended(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        harness.create_topic(broker, "lat", configs={"message.timestamp.type": "LogAppendTime"})
        conn = self.connect(broker)
        for topic in ("t", "lat"):
            bad = bytearray(simple_batch(5))
            bad[-2] ^= 0x10
            p = self.produce_one(conn, topic, bytes(bad))
            self.assertEqual((p["error"], p["base_offset"]), (CORRUPT_MESSAGE, -1), topic)
            self.assertEqual(self.produce_one(conn, topic, simple_batch())["base_offset"], 0)

    def test_oversized_batch_is_message_too_large(self):
        broker = self.start_broker()
        harness.create_topic(broker, "small", configs={"max.message.bytes": "500"})
        conn = self.connect(broker)
        big = producer_batch([(b"k", b"x" * 600, harness.now_ms())], harness.now_ms())
        self.assertEqual(self.produce_one(conn, "small", big)["error"], MESSAGE_TOO_LARGE)
        self.assertEqual(self.produce_one(conn, "small", simple_batch())["base_offset"], 0)

    def test_magic_0_and_1_and_two_batches_are_invalid_record(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        for magic in (0, 1):
            p = self.produce_one(conn, "t", simple_batch(magic=magic))
            self.assertEqual(p["error"], INVALID_RECORD, f"magic {magic}")
        p = self.produce_one(conn, "t", simple_batch() + simple_batch())
        self.assertEqual(p["error"], INVALID_RECORD)
        p = self.produce_one(conn, "t", None)
        self.assertEqual(p["error"], INVALID_RECORD)
        # zstd before v7
        p = self.produce_one(conn, "t", simple_batch(codec=4, section=b"\x28\xb5\x2f\xfd"),
                             version=6)
        self.assertEqual(p["error"], UNSUPPORTED_COMPRESSION_TYPE)

    def test_compression_bomb_is_refused_when_the_records_must_be_read(self):
        broker = self.start_broker()
        harness.create_topic(broker, "recompressed", configs={"compression.type": "zstd"})
        conn = self.connect(broker)
        c = zlib.compressobj(1, zlib.DEFLATED, 31)
        section = c.compress(bytes(80 << 20)) + c.flush()  # 80 MiB of zeros in ~80 KB
        self.assertLess(len(section), 1 << 20)
        ts = harness.now_ms()
        bomb = producer_batch([], ts, codec=1, section=section, count=1000)
        p = self.produce_one(conn, "recompressed", bomb)
        self.assertEqual(p["error"], RECORD_LIST_TOO_LARGE)
        self.assertIn("inflate to more than", p["error_message"])
        # the broker is fine, and recompresses ordinary batches
        p = self.produce_one(conn, "recompressed", simple_batch(codec=1))
        self.assertEqual((p["error"], p["base_offset"]), (0, 0))

    def test_keyless_records_on_a_compacted_topic_get_per_record_errors(self):
        broker = self.start_broker()
        harness.create_topic(broker, "compacted", configs={"cleanup.policy": "compact"})
        conn = self.connect(broker)
        ts = harness.now_ms()
        batch = producer_batch([(b"a", b"1", ts), (None, b"2", ts), (b"c", b"3", ts)], ts, codec=1)
        p = self.produce_one(conn, "compacted", batch, version=11)
        self.assertEqual(p["error"], INVALID_RECORD)
        msg = "Compacted topic cannot accept message without key in topic partition compacted-0"
        self.assertEqual(p["record_errors"], [(1, msg)])
        self.assertTrue(p["error_message"].startswith(
            "One or more records have been rejected due to 1 record errors in total"))
        p = self.produce_one(conn, "compacted", simple_batch(codec=1))
        self.assertEqual((p["error"], p["base_offset"]), (0, 0))

    def test_timestamp_past_after_max_is_invalid_timestamp(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        ts = harness.now_ms()
        batch = producer_batch([(b"a", b"1", ts), (b"b", b"2", ts + 2 * 3600 * 1000)], ts)
        p = self.produce_one(conn, "t", batch, version=10)
        self.assertEqual(p["error"], INVALID_TIMESTAMP)
        self.assertEqual([i for i, _ in p["record_errors"]], [1])
        self.assertEqual(p["error_message"],
                         "One or more records have been rejected due to invalid timestamp")

    def test_log_append_time_topic_answers_the_broker_time(self):
        broker = self.start_broker()
        harness.create_topic(broker, "lat", configs={"message.timestamp.type": "LogAppendTime"})
        conn = self.connect(broker)
        before = harness.now_ms()
        p = self.produce_one(conn, "lat", simple_batch(codec=1, ts=1000))
        self.assertEqual(p["error"], 0)
        self.assertGreaterEqual(p["log_append_time"], before)
        self.assertLessEqual(p["log_append_time"], harness.now_ms())

    def test_invalid_acks_and_unknown_topics(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        out = produce_call(conn, 9, [("t", [(0, simple_batch()), (7, simple_batch())]),
                                     ("missing", [(0, simple_batch())])], acks=2)
        self.assertEqual([p["error"] for p in out],
                         [INVALID_REQUIRED_ACKS, INVALID_REQUIRED_ACKS,
                          UNKNOWN_TOPIC_OR_PARTITION])
        out = produce_call(conn, 9, [("t", [(7, simple_batch())])])
        self.assertEqual(out[0]["error"], UNKNOWN_TOPIC_OR_PARTITION)

    def test_v13_names_topics_by_id(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        (t,) = [t for t in metadata(broker, ["t"])["topics"] if t["name"] == "t"]
        raw_id = base64.urlsafe_b64decode(t["topic_id"] + "==")
        (p,) = produce_call(conn, 13, [(raw_id, [(0, simple_batch())])])
        self.assertEqual((p["topic"], p["error"], p["base_offset"]), (raw_id, 0, 0))
        (p,) = produce_call(conn, 13, [(b"\x01" * 16, [(0, simple_batch())])])
        self.assertEqual((p["topic"], p["error"]), (b"\x01" * 16, UNKNOWN_TOPIC_ID))

    def test_acks_0_gets_no_response_and_an_error_closes_the_connection(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        conn.send(request(PRODUCE, 9, 1, produce_body(9, [("t", [(0, simple_batch())])], acks=0),
                          flexible=True))
        conn.send(request(API_VERSIONS, 3, 2, api_versions_body(3), flexible=True))
        correlation, error, _ = parse_api_versions(conn.response(), 3)
        self.assertEqual((correlation, error), (2, 0))
        self.assertEqual(self.produce_one(conn, "t", simple_batch())["base_offset"], 3)
        conn.send(request(PRODUCE, 9, 3,
                          produce_body(9, [("missing", [(0, simple_batch())])], acks=0),
                          flexible=True))
        self.assertTrue(conn.is_closed())

    def test_acks_all_is_answered_once_the_batch_is_durable(self):
        broker = self.start_broker()
        # flushed by time only: the high watermark moves when the flusher runs
        harness.create_topic(broker, "slow", configs={"flush.messages": "1000000",
                                                       "flush.ms": "1500"})
        harness.create_topic(broker, "never", configs={"flush.messages": "1000000",
                                                        "flush.ms": "600000"})
        conn = self.connect(broker)
        t0 = time.monotonic()
        p = self.produce_one(conn, "slow", simple_batch(), acks=1)
        self.assertEqual((p["error"], p["base_offset"]), (0, 0))
        self.assertLess(time.monotonic() - t0, 1.0)
        p = self.produce_one(conn, "slow", simple_batch(), acks=-1)
        self.assertEqual((p["error"], p["base_offset"]), (0, 3))
        self.assertGreater(time.monotonic() - t0, 0.5)
        # not durable within the request's timeout: REQUEST_TIMED_OUT, the offset stays
        t1 = time.monotonic()
        p = self.produce_one(conn, "never", simple_batch(), acks=-1, timeout_ms=300)
        self.assertEqual((p["error"], p["base_offset"]), (REQUEST_TIMED_OUT, 0))
        self.assertLess(time.monotonic() - t1, 5)
        # with Quire's default (flush every append) acks=all answers at once
        harness.create_topic(broker, "t")
        t2 = time.monotonic()
        p = self.produce_one(conn, "t", simple_batch(), acks=-1)
        self.assertEqual((p["error"], p["base_offset"]), (0, 0))
        self.assertLess(time.monotonic() - t2, 1.0)

    def test_acks_all_across_partitions_with_and_without_syncfs(self):
        """Pipelined acks=all produces spread over 12 partitions: each flusher round covers many
        logs (one syncfs by default, an fdatasync per file with quire.log.flush.syncfs=false).
        Every request is answered at its offsets, and after a SIGKILL every partition ends
        exactly where the answers said."""
        for syncfs in ("true", "false"):
            broker = self.start_broker([f"quire.log.flush.syncfs={syncfs}"])
            harness.create_topic(broker, "t", 12)
            conn = self.connect(broker)
            count = 60
            conn.send(b"".join(request(PRODUCE, 9, 1 + i,
                                       produce_body(9, [("t", [(i % 12, simple_batch(2)),
                                                               ((i + 5) % 12, simple_batch(3))])],
                                                    timeout_ms=5000), flexible=True)
                               for i in range(count)))
            ends = {}
            for i in range(count):
                payload = conn.response()
                self.assertEqual(int.from_bytes(payload[:4], "big"), 1 + i)
                for p in parse_produce(payload, 9):
                    before = ends.get(p["partition"], 0)
                    self.assertEqual((p["error"], p["base_offset"]), (0, before), (syncfs, i))
                    ends[p["partition"]] = before + (2 if p["partition"] == i % 12 else 3)
            conn.close()
            self.assertEqual(sum(ends.values()), count * 5)
            broker.crash_restart()
            with Conn(broker) as other:
                got = list_offsets(other, 5, [("t", [(p, -1) for p in range(12)])])
            self.assertEqual({g[1]: g[4] for g in got}, ends, syncfs)
            broker.stop()

    def test_produces_behind_a_waiting_one_are_appended_at_once_and_answered_in_order(self):
        """Pipelining: behind an acks=all Produce waiting for durability, the next Produce requests
        on the connection are appended at once (so one flush can cover them all) while their
        answers keep the request order; a request of another kind waits behind them."""
        broker = self.start_broker()
        harness.create_topic(broker, "never", configs={"flush.messages": "1000000",
                                                        "flush.ms": "600000"})
        conn = self.connect(broker)
        batches = [simple_batch() for _ in range(5)]
        for i, batch in enumerate(batches):
            conn.send(request(PRODUCE, 9, 1 + i, produce_body(9, [("never", [(0, batch)])],
                                                              timeout_ms=2000), flexible=True))
        conn.send(request(3, 12, 6, metadata_body(12, ["never"]), flexible=True))

        # all five are in the log while the first one still waits (none is durable)
        def log_bytes():
            with Conn(broker) as other:
                d = parse_describe_log_dirs(other.call(35, 4, describe_log_dirs_body(4),
                                                       flexible=True), 4)
            return d["results"][0]["partitions"].get(("never", 0), (0,))[0]
        harness.wait_until(lambda: log_bytes() == sum(len(b) for b in batches), timeout_s=1.5,
                           what="all five batches appended")
        for i in range(5):
            payload = conn.response()
            self.assertEqual(int.from_bytes(payload[:4], "big"), 1 + i)
            (p,) = parse_produce(payload, 9)
            self.assertEqual((p["error"], p["base_offset"]), (REQUEST_TIMED_OUT, 3 * i))
        payload = conn.response()
        self.assertEqual(int.from_bytes(payload[:4], "big"), 6)
        self.assertEqual(len(parse_metadata(payload, 12, detail=True)["topics"]), 1)

    def test_pipelining_is_bounded_and_loses_no_answer(self):
        """A client sending Produce requests faster than they become durable: at most 64 wait
        appended at a time (the rest stay unread), and every one is answered, in order."""
        broker = self.start_broker()
        harness.create_topic(broker, "never", configs={"flush.messages": "1000000",
                                                        "flush.ms": "600000"})
        conn = self.connect(broker)
        batch = simple_batch(1)
        count = 100
        conn.send(b"".join(request(PRODUCE, 9, 1 + i, produce_body(9, [("never", [(0, batch)])],
                                                                    timeout_ms=1000),
                                   flexible=True) for i in range(count)))

        def log_bytes():
            with Conn(broker) as other:
                d = parse_describe_log_dirs(other.call(35, 4, describe_log_dirs_body(4),
                                                       flexible=True), 4)
            return d["results"][0]["partitions"].get(("never", 0), (0,))[0]
        harness.wait_until(lambda: log_bytes() == 64 * len(batch), timeout_s=0.9,
                           what="64 batches appended")
        time.sleep(0.05)
        self.assertEqual(log_bytes(), 64 * len(batch))  # and no more while those wait
        for i in range(count):
            payload = conn.response()
            self.assertEqual(int.from_bytes(payload[:4], "big"), 1 + i)
            (p,) = parse_produce(payload, 9)
            self.assertEqual((p["error"], p["base_offset"]), (REQUEST_TIMED_OUT, i))
        self.assertEqual(log_bytes(), count * len(batch))

    def test_shutdown_with_an_acks_all_produce_waiting_is_clean(self):
        broker = self.start_broker()
        harness.create_topic(broker, "never", configs={"flush.messages": "1000000",
                                                        "flush.ms": "600000"})
        conn = self.connect(broker)
        conn.send(request(PRODUCE, 9, 1, produce_body(9, [("never", [(0, simple_batch())])],
                                                      timeout_ms=60000), flexible=True))
        time.sleep(0.3)
        broker.stop()  # exit status 0: nothing leaked, nothing hung
        self.assertTrue(conn.is_closed())

    def test_transactional_batches_are_refused_without_a_coordinator(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        batch = simple_batch(producer_id=5, producer_epoch=0, base_sequence=0, attributes=0x10)
        p = self.produce_one(conn, "t", batch)
        self.assertEqual(p["error"], TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        p = self.produce_one(conn, "t", batch, transactional_id="tx")
        self.assertEqual(p["error"], INVALID_TXN_STATE)


class IdempotentProducer(harness.BrokerTestCase):
    def connect(self, broker):
        conn = Conn(broker)
        self.addCleanup(conn.close)
        return conn

    def produce(self, conn, pid, epoch, seq, n=3, topic="t"):
        (p,) = produce_call(conn, 9, [(topic, [(0, simple_batch(
            n, producer_id=pid, producer_epoch=epoch, base_sequence=seq))])])
        return p["error"], p["base_offset"]

    def test_init_producer_id_hands_out_distinct_ids_that_survive_a_restart(self):
        broker = self.start_broker()
        conn = Conn(broker)
        ids = set()
        for version in range(0, 6):
            error, pid, epoch = init_producer_id(conn, version)
            self.assertEqual((error, epoch), (0, 0), f"v{version}")
            ids.add(pid)
        self.assertEqual(len(ids), 6)
        # an idempotent producer naming its id and epoch (KIP-360) gets a new id, as in Kafka
        error, pid, epoch = init_producer_id(conn, 4, producer_id=max(ids), producer_epoch=3)
        self.assertEqual((error, epoch), (0, 0))
        self.assertNotIn(pid, ids)
        ids.add(pid)
        self.assertEqual(init_producer_id(conn, 4, producer_id=7)[0], INVALID_REQUEST)
        self.assertEqual(init_producer_id(conn, 4, transactional_id="")[0], INVALID_REQUEST)
        self.assertEqual(init_producer_id(conn, 4, transactional_id="tx")[0],
                         COORDINATOR_NOT_AVAILABLE)
        conn.close()
        broker.restart()
        with Conn(broker) as conn:
            error, pid, _ = init_producer_id(conn)
        self.assertEqual(error, 0)
        self.assertGreater(pid, max(ids))

    def test_more_ids_than_a_block(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        ids = [init_producer_id(conn)[1] for _ in range(2100)]
        self.assertEqual(len(set(ids)), 2100)

    def test_retried_batch_gets_its_original_offset(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        _, pid, epoch = init_producer_id(conn)
        self.assertEqual(self.produce(conn, pid, epoch, 0), (0, 0))
        self.assertEqual(self.produce(conn, pid, epoch, 3), (0, 3))
        self.assertEqual(self.produce(conn, pid, epoch, 0), (0, 0))  # the retry: no duplicate
        self.assertEqual(self.produce(conn, pid, epoch, 3), (0, 3))
        self.assertEqual(self.produce(conn, pid, epoch, 6), (0, 6))

    def test_sequence_gap_is_out_of_order(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        _, pid, epoch = init_producer_id(conn)
        self.assertEqual(self.produce(conn, pid, epoch, 0), (0, 0))
        self.assertEqual(self.produce(conn, pid, epoch, 10)[0], OUT_OF_ORDER_SEQUENCE_NUMBER)
        self.assertEqual(self.produce(conn, pid, epoch, 3), (0, 3))

    def test_stale_epoch_is_invalid_producer_epoch(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        _, pid, _ = init_producer_id(conn)
        self.assertEqual(self.produce(conn, pid, 1, 0), (0, 0))
        self.assertEqual(self.produce(conn, pid, 0, 3)[0], INVALID_PRODUCER_EPOCH)
        # a bumped epoch starts again at sequence 0
        self.assertEqual(self.produce(conn, pid, 2, 0), (0, 3))

    def test_producer_without_state_is_accepted_at_any_sequence(self):
        broker = self.start_broker()
        harness.create_topic(broker, "t")
        conn = self.connect(broker)
        _, pid, epoch = init_producer_id(conn)
        self.assertEqual(self.produce(conn, pid, epoch, 42), (0, 0))
        self.assertEqual(self.produce(conn, pid, epoch, 45), (0, 3))


if __name__ == "__main__":
    harness.main()
