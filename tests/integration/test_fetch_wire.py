"""Fetch, fetch sessions, ListOffsets, DeleteRecords and OffsetForLeaderEpoch in raw frames
against the real broker, as Apache Kafka 4.3 answers them (issue 6). The tests that need records
produce them with Produce v9; they skip while the broker does not serve Produce."""

import base64
import os
import threading
import time

import harness
import kafka_frames as kf
from kafka_frames import Conn


def topic_id(broker, name):
    """The topic's id as 16 raw bytes (Metadata v12)."""
    t = [t for t in kf.metadata(broker, [name])["topics"] if t["name"] == name][0]
    return base64.urlsafe_b64decode(t["topic_id"] + "==")


def leader_epoch(broker, name, partition=0):
    t = [t for t in kf.metadata(broker, [name])["topics"] if t["name"] == name][0]
    return t["partitions"][partition]["leader_epoch"]


def key(version, broker, name):
    """How a Fetch of this version names a topic."""
    return topic_id(broker, name) if version >= 13 else name


def only_partition(resp):
    [(_, [p])] = resp["topics"]
    return p


class FetchWire(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker()
        harness.create_topic(self.broker, "t")

    def connect(self):
        conn = Conn(self.broker)
        self.addCleanup(conn.close)
        return conn

    def require_produce(self):
        conn = self.connect()
        conn.send(kf.request(kf.API_VERSIONS, 3, 1, kf.api_versions_body(3), flexible=True))
        if kf.PRODUCE not in kf.parse_api_versions(conn.response(), 3)[2]:
            self.skipTest("the broker does not serve Produce yet")

    def produce(self, records, ts, topic="t", partition=0):
        batch = kf.record_batch(records, ts)
        error, base = kf.produce(self.broker, topic, partition, batch)
        self.assertEqual(error, 0)
        return base, batch

    # ---- empty logs ----

    def test_every_version_reads_an_empty_partition_at_its_end(self):
        conn = self.connect()
        for version in range(4, 19):
            resp = kf.fetch(conn, version, [(key(version, self.broker, "t"), [(0, 0, 1 << 20)])])
            self.assertEqual(resp["error"], 0)
            p = only_partition(resp)
            self.assertEqual((p["error"], p["high_watermark"], p["last_stable_offset"]), (0, 0, 0),
                             f"v{version}")
            self.assertEqual(p["log_start_offset"], 0 if version >= 5 else None)
            self.assertEqual(p["records"], b"")
            self.assertIsNone(p["aborted"])  # read_uncommitted
            self.assertEqual(p["preferred_read_replica"], -1)

    def test_read_committed_answers_an_empty_aborted_transactions_list(self):
        conn = self.connect()
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1 << 20)])], isolation=1))
        self.assertEqual((p["error"], p["aborted"], p["last_stable_offset"]), (0, [], 0))

    def test_an_offset_past_the_end_is_offset_out_of_range(self):
        conn = self.connect()
        for version in (4, 12, 13, 18):
            p = only_partition(kf.fetch(conn, version,
                                        [(key(version, self.broker, "t"), [(0, 5, 1 << 20)])]))
            self.assertEqual((p["error"], p["high_watermark"], p["records"]),
                             (kf.OFFSET_OUT_OF_RANGE, -1, b""), f"v{version}")
            p = only_partition(kf.fetch(conn, version,
                                        [(key(version, self.broker, "t"), [(0, -1, 1 << 20)])]))
            self.assertEqual(p["error"], kf.OFFSET_OUT_OF_RANGE)

    def test_unknown_topic_ids_topics_and_partitions(self):
        conn = self.connect()
        unknown = os.urandom(16)
        resp = kf.fetch(conn, 13, [(unknown, [(0, 0, 1000)]),
                                   (topic_id(self.broker, "t"), [(0, 0, 1000), (7, 0, 1000)])])
        # the partitions read come first, the ones refused without a read after them, each run
        # of partitions of one topic under one topic entry
        tid = topic_id(self.broker, "t")
        self.assertEqual([(k, [(p["partition"], p["error"]) for p in parts])
                          for k, parts in resp["topics"]],
                         [(tid, [(0, 0)]), (unknown, [(0, kf.UNKNOWN_TOPIC_ID)]),
                          (tid, [(7, kf.UNKNOWN_TOPIC_OR_PARTITION)])])
        resp = kf.fetch(conn, 12, [("nope", [(0, 0, 1000)])])
        self.assertEqual(only_partition(resp)["error"], kf.UNKNOWN_TOPIC_OR_PARTITION)

    def test_long_poll_on_an_empty_partition_waits_max_wait_ms(self):
        conn = self.connect()
        start = time.monotonic()
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1000)])], max_wait_ms=600))
        waited = time.monotonic() - start
        self.assertEqual((p["error"], p["records"]), (0, b""))
        self.assertGreaterEqual(waited, 0.55)
        self.assertLess(waited, 3)

    def test_no_wait_when_a_partition_fails(self):
        conn = self.connect()
        start = time.monotonic()
        resp = kf.fetch(conn, 12, [("t", [(0, 0, 1000), (0, 9, 1000)])], max_wait_ms=5000)
        self.assertLess(time.monotonic() - start, 2)
        self.assertEqual([p["error"] for p in resp["topics"][0][1]], [0, kf.OFFSET_OUT_OF_RANGE])

    def test_a_waiting_fetch_is_answered_when_its_topic_is_deleted(self):
        conn = self.connect()
        tid = topic_id(self.broker, "t")
        conn.send(kf.request(kf.FETCH, 13, 5, kf.fetch_body(13, [(tid, [(0, 0, 1000)])],
                                                            max_wait_ms=20000), flexible=True))
        time.sleep(0.3)
        start = time.monotonic()
        harness.delete_topic(self.broker, "t")
        p = only_partition(kf.parse_fetch(conn.response(), 13))
        self.assertLess(time.monotonic() - start, 5)
        self.assertNotEqual(p["error"], 0)

    def test_a_waiting_fetch_is_answered_at_shutdown(self):
        conn = self.connect()
        conn.send(kf.request(kf.FETCH, 12, 5, kf.fetch_body(12, [("t", [(0, 0, 1000)])],
                                                            max_wait_ms=60000), flexible=True))
        time.sleep(0.3)
        self.broker.stop()  # must exit cleanly (status 0) although the fetch still waits

    def test_a_client_gone_while_its_fetch_waits_leaves_the_broker_serving(self):
        for _ in range(5):
            conn = Conn(self.broker)
            conn.send(kf.request(kf.FETCH, 12, 5, kf.fetch_body(12, [("t", [(0, 0, 1000)])],
                                                                max_wait_ms=300), flexible=True))
            conn.close()
        time.sleep(0.6)  # the fetches time out with nobody to answer
        conn = self.connect()
        self.assertEqual(only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1000)])]))["error"], 0)

    def test_many_waiting_fetches_on_one_partition_all_time_out(self):
        conns = [self.connect() for _ in range(20)]
        for i, conn in enumerate(conns):
            conn.send(kf.request(kf.FETCH, 12, i, kf.fetch_body(12, [("t", [(0, 0, 1000)])],
                                                                max_wait_ms=400), flexible=True))
        for i, conn in enumerate(conns):
            resp = kf.parse_fetch(conn.response(), 12)
            self.assertEqual((resp["correlation"], only_partition(resp)["error"]), (i, 0))

    def test_follower_fetches_are_refused_as_from_an_unknown_replica(self):
        conn = self.connect()
        for version, epoch, error in ((12, -1, kf.NOT_LEADER_OR_FOLLOWER),
                                      (12, leader_epoch(self.broker, "t"),
                                       kf.UNKNOWN_LEADER_EPOCH),
                                      (15, -1, kf.NOT_LEADER_OR_FOLLOWER)):
            tkey = key(version, self.broker, "t")
            p = only_partition(kf.fetch(conn, version, [(tkey, [(0, 0, 1000, epoch)])],
                                        replica_id=2))
            self.assertEqual(p["error"], error, f"v{version} epoch {epoch}")

    def test_leader_epoch_fencing(self):
        conn = self.connect()
        epoch = leader_epoch(self.broker, "t")
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1000, epoch + 1)])]))
        self.assertEqual(p["error"], kf.UNKNOWN_LEADER_EPOCH)
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1000, epoch)])]))
        self.assertEqual(p["error"], 0)

    # ---- fetch sessions (KIP-227) ----

    def test_sessions_full_incremental_and_errors(self):
        conn = self.connect()
        tid = topic_id(self.broker, "t")
        full = kf.fetch(conn, 13, [(tid, [(0, 0, 1000)])], session_id=0, session_epoch=0)
        sid = full["session_id"]
        self.assertNotEqual(sid, 0)
        self.assertEqual(only_partition(full)["error"], 0)
        # nothing changed: the incremental answer leaves the partition out
        inc = kf.fetch(conn, 13, [], session_id=sid, session_epoch=1)
        self.assertEqual((inc["error"], inc["session_id"], inc["topics"]), (0, sid, []))
        # a stale epoch, an unknown id, the other way of naming topics
        bad = kf.fetch(conn, 13, [], session_id=sid, session_epoch=1)
        self.assertEqual((bad["error"], bad["session_id"]), (kf.INVALID_FETCH_SESSION_EPOCH, 0))
        bad = kf.fetch(conn, 13, [], session_id=sid ^ 0x5A5A, session_epoch=1)
        self.assertEqual(bad["error"], kf.FETCH_SESSION_ID_NOT_FOUND)
        bad = kf.fetch(conn, 12, [], session_id=sid, session_epoch=2)
        self.assertEqual(bad["error"], kf.FETCH_SESSION_TOPIC_ID_ERROR)
        # forgetting the last partition closes the session: the fetch is sessionless
        inc = kf.fetch(conn, 13, [], session_id=sid, session_epoch=2, forgotten=[(tid, [0])])
        self.assertEqual((inc["error"], inc["session_id"]), (0, 0))
        gone = kf.fetch(conn, 13, [], session_id=sid, session_epoch=3)
        self.assertEqual(gone["error"], kf.FETCH_SESSION_ID_NOT_FOUND)

    def test_incremental_fetches_add_partitions_and_answer_only_changes(self):
        harness.create_topic(self.broker, "two", partitions=2)
        conn = self.connect()
        full = kf.fetch(conn, 12, [("two", [(0, 0, 1000)])], session_epoch=0)
        sid = full["session_id"]
        inc = kf.fetch(conn, 12, [("two", [(1, 0, 1000)])], session_id=sid, session_epoch=1)
        self.assertEqual(inc["error"], 0)
        self.assertEqual([(name, [p["partition"] for p in parts]) for name, parts in inc["topics"]],
                         [("two", [1])])  # the new one only: partition 0 did not change
        inc = kf.fetch(conn, 12, [], session_id=sid, session_epoch=2)
        self.assertEqual(inc["topics"], [])
        # a full fetch naming the session closes it (epoch -1: and opens none)
        full = kf.fetch(conn, 12, [("two", [(0, 0, 1000)])], session_id=sid, session_epoch=-1)
        self.assertEqual((full["error"], full["session_id"]), (0, 0))
        gone = kf.fetch(conn, 12, [], session_id=sid, session_epoch=3)
        self.assertEqual(gone["error"], kf.FETCH_SESSION_ID_NOT_FOUND)

    def test_errors_are_always_sent_in_incremental_answers(self):
        conn = self.connect()
        full = kf.fetch(conn, 12, [("t", [(0, 0, 1000), (3, 0, 1000)])], session_epoch=0)
        sid = full["session_id"]
        inc = kf.fetch(conn, 12, [], session_id=sid, session_epoch=1)
        self.assertEqual([(p["partition"], p["error"]) for p in inc["topics"][0][1]],
                         [(3, kf.UNKNOWN_TOPIC_OR_PARTITION)])

    def test_no_session_without_cache_slots(self):
        broker = self.start_broker(["max.incremental.fetch.session.cache.slots=0"])
        harness.create_topic(broker, "t")
        with Conn(broker) as conn:
            full = kf.fetch(conn, 12, [("t", [(0, 0, 1000)])], session_epoch=0)
        self.assertEqual((full["error"], full["session_id"]), (0, 0))

    def test_a_full_cache_evicts_nothing_young(self):
        broker = self.start_broker(["max.incremental.fetch.session.cache.slots=2"])
        harness.create_topic(broker, "t", partitions=3)
        with Conn(broker) as conn:
            ids = [kf.fetch(conn, 12, [("t", [(0, 0, 1000)])], session_epoch=0)["session_id"]
                   for _ in range(2)]
            self.assertNotIn(0, ids)
            # a third consumer session of the same size finds no room (both are young)
            third = kf.fetch(conn, 12, [("t", [(0, 0, 1000), (1, 0, 1000)])], session_epoch=0)
            self.assertEqual(third["session_id"], 0)
            for sid in ids:
                self.assertEqual(kf.fetch(conn, 12, [], session_id=sid, session_epoch=1)["error"], 0)

    # ---- ListOffsets, DeleteRecords, OffsetForLeaderEpoch on an empty log ----

    def test_list_offsets_special_timestamps_on_an_empty_log(self):
        conn = self.connect()
        epoch = leader_epoch(self.broker, "t")
        for version in range(1, 12):
            want = {-2: 0, -1: 0}
            if version >= 7:
                want[-3] = -1
            if version >= 8:
                want[-4] = 0
            if version >= 9:
                want[-5] = -1
            got = {ts: kf.list_offsets(conn, version, [("t", [(0, ts)])])[0] for ts in want}
            self.assertEqual({ts: (g[2], g[4]) for ts, g in got.items()},
                             {ts: (0, o) for ts, o in want.items()}, f"v{version}")
            if version >= 4:
                self.assertEqual(got[-1][5], epoch)  # LATEST carries the leader epoch

    def test_list_offsets_errors(self):
        conn = self.connect()
        # a special timestamp newer than the version, an unknown negative one
        got = kf.list_offsets(conn, 6, [("t", [(0, -3)])])
        self.assertEqual(got[0][2:5], (kf.UNSUPPORTED_VERSION, -1, -1))
        got = kf.list_offsets(conn, 11, [("t", [(0, -7)])])
        self.assertEqual(got[0][2], kf.UNSUPPORTED_VERSION)
        # a partition twice: both INVALID_REQUEST
        got = kf.list_offsets(conn, 5, [("t", [(0, -1)]), ("t", [(0, -2)])])
        self.assertEqual([g[2] for g in got], [kf.INVALID_REQUEST, kf.INVALID_REQUEST])
        got = kf.list_offsets(conn, 5, [("nope", [(0, -1)]), ("t", [(4, -1)])])
        self.assertEqual([g[2] for g in got], [kf.UNKNOWN_TOPIC_OR_PARTITION] * 2)
        epoch = leader_epoch(self.broker, "t")
        got = kf.list_offsets(conn, 5, [("t", [(0, -1, epoch + 1)])])
        self.assertEqual(got[0][2], kf.UNKNOWN_LEADER_EPOCH)
        got = kf.list_offsets(conn, 5, [("t", [(0, -1, -5)])])
        self.assertEqual(got[0][2], kf.FENCED_LEADER_EPOCH)

    def test_delete_records_on_an_empty_log(self):
        harness.create_topic(self.broker, "compacted", configs={"cleanup.policy": "compact"})
        conn = self.connect()
        for version in range(0, 3):
            got = kf.delete_records(conn, version, [("t", [(0, -1)]), ("nope", [(0, 0)]),
                                                    ("compacted", [(0, 0)])])
            self.assertEqual(got, {("t", 0): (0, 0),
                                   ("nope", 0): (kf.UNKNOWN_TOPIC_OR_PARTITION, -1),
                                   ("compacted", 0): (kf.POLICY_VIOLATION, -1)}, f"v{version}")
            got = kf.delete_records(conn, version, [("t", [(0, 5), (1, 0)])])
            self.assertEqual(got, {("t", 0): (kf.OFFSET_OUT_OF_RANGE, -1),
                                   ("t", 1): (kf.UNKNOWN_TOPIC_OR_PARTITION, -1)})

    def test_offset_for_leader_epoch_on_an_empty_log(self):
        conn = self.connect()
        epoch = leader_epoch(self.broker, "t")
        for version in range(2, 5):
            got = kf.offset_for_leader_epoch(conn, version, [("t", [(0, epoch)]),
                                                             ("nope", [(0, 0)])])
            self.assertEqual(got, {("t", 0): (0, -1, -1),
                                   ("nope", 0): (kf.UNKNOWN_TOPIC_OR_PARTITION, -1, -1)})
            got = kf.offset_for_leader_epoch(conn, version, [("t", [(0, epoch, epoch + 3)])])
            self.assertEqual(got[("t", 0)][0], kf.UNKNOWN_LEADER_EPOCH)

    # ---- with records (Produce) ----

    def test_fetched_bytes_are_the_produced_batch(self):
        self.require_produce()
        now = harness.now_ms()
        base, sent = self.produce([(b"k", b"v" * 100, now), (None, b"w", now + 1)], now)
        self.assertEqual(base, 0)
        conn = self.connect()
        for version in (4, 11, 12, 13, 16, 18):
            p = only_partition(kf.fetch(conn, version,
                                        [(key(version, self.broker, "t"), [(0, 0, 1 << 20)])]))
            self.assertEqual((p["error"], p["high_watermark"]), (0, 2))
            [(b, last, _, raw)] = kf.batches(p["records"])
            self.assertEqual((b, last), (0, 1))
            # identical but for the broker's baseOffset and partitionLeaderEpoch (outside the CRC)
            self.assertEqual(raw[8:12] + raw[16:], sent[8:12] + sent[16:])

    def start_fetch(self, conn, topics, min_bytes, max_wait_ms):
        """Sends a Fetch v12 and reads its response on a thread; the box gets "resp" and "at"."""
        conn.send(kf.request(kf.FETCH, 12, 9, kf.fetch_body(12, topics, max_wait_ms=max_wait_ms,
                                                            min_bytes=min_bytes), flexible=True))
        box = {}

        def wait():
            box["resp"] = conn.response()
            box["at"] = time.monotonic()
        waiter = threading.Thread(target=wait)
        waiter.start()
        self.addCleanup(waiter.join, 30)
        return waiter, box

    def test_a_long_poll_is_woken_by_a_produce(self):
        self.require_produce()
        waiter, box = self.start_fetch(self.connect(), [("t", [(0, 0, 1 << 20)])], min_bytes=1,
                                       max_wait_ms=20000)
        time.sleep(0.3)
        self.produce([(None, b"hello", harness.now_ms())], harness.now_ms())
        produced = time.monotonic()
        waiter.join(10)
        self.assertIn("resp", box)
        self.assertLess(box["at"] - produced, 1.0)
        p = only_partition(kf.parse_fetch(box["resp"], 12))
        self.assertEqual(len(kf.batches(p["records"])), 1)

    def test_a_fetch_waits_until_min_bytes_have_been_produced(self):
        """DelayedFetch: each produce adds its bytes (over every partition of the fetch) until
        min bytes are there; a partition counts at most its partition max bytes."""
        self.require_produce()
        harness.create_topic(self.broker, "two", partitions=2)
        now = harness.now_ms()
        size = len(kf.record_batch([(None, b"x" * 500, now)], now))
        conn = self.connect()
        waiter, box = self.start_fetch(conn, [("two", [(0, 0, 1 << 20), (1, 0, 1 << 20)])],
                                       min_bytes=3 * size - 10, max_wait_ms=20000)
        for _ in range(2):  # a partition woken twice counts each batch once
            time.sleep(0.3)
            self.produce([(None, b"x" * 500, now)], now, topic="two", partition=0)
            waiter.join(0.3)
            self.assertNotIn("resp", box, "answered before min bytes were there")
        self.produce([(None, b"x" * 500, now)], now, topic="two", partition=1)
        produced = time.monotonic()
        waiter.join(10)
        self.assertLess(box["at"] - produced, 1.0)
        [(_, parts)] = kf.parse_fetch(box["resp"], 12)["topics"]
        self.assertEqual([len(kf.batches(p["records"])) for p in parts], [2, 1])
        # a partition max bytes of one batch: that partition never makes min bytes of two
        conn = self.connect()
        waiter, box = self.start_fetch(conn, [("two", [(1, 1, size + 10)])],
                                       min_bytes=2 * size, max_wait_ms=1500)
        started = time.monotonic()
        for _ in range(3):
            self.produce([(None, b"x" * 500, now)], now, topic="two", partition=1)
        waiter.join(10)
        self.assertGreaterEqual(box["at"] - started, 1.4)
        p = only_partition(kf.parse_fetch(box["resp"], 12))
        self.assertEqual([b[0] for b in kf.batches(p["records"])], [1])

    def test_max_bytes_returns_at_least_one_whole_batch(self):
        self.require_produce()
        now = harness.now_ms()
        sizes = []
        for i in range(3):
            sizes.append(len(self.produce([(None, bytes([65 + i]) * 300, now)], now)[1]))
        conn = self.connect()
        # partition max bytes 1: still the first batch, whole (KIP-74)
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1)])]))
        self.assertEqual([b[0] for b in kf.batches(p["records"])], [0])
        self.assertEqual(len(p["records"]), sizes[0])
        # request max bytes for one and a half batches: one batch, never a partial one
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 0, 1 << 20)])],
                                    max_bytes=sizes[0] + sizes[1] // 2))
        self.assertEqual([b[0] for b in kf.batches(p["records"])], [0])
        self.assertEqual(len(p["records"]), sizes[0])
        # from the middle of the log, everything after
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 1, 1 << 20)])]))
        self.assertEqual([b[0] for b in kf.batches(p["records"])], [1, 2])

    def test_list_offsets_by_timestamp_and_max_timestamp(self):
        self.require_produce()
        t0 = harness.now_ms() - 10000
        for i in range(3):
            self.produce([(None, b"x", t0 + 100 * i)], t0 + 100 * i)
        conn = self.connect()
        got = kf.list_offsets(conn, 9, [("t", [(0, t0 + 50), (0, t0 + 200)])])
        self.assertEqual(got[0][2:5], (kf.INVALID_REQUEST, -1, -1))  # the same partition twice
        got = {ts: g[2:5] for ts in (t0 + 50, t0 + 200, t0 + 201, -1, -2, -3)
               for g in kf.list_offsets(conn, 9, [("t", [(0, ts)])])}
        self.assertEqual(got[t0 + 50], (0, t0 + 100, 1))
        self.assertEqual(got[t0 + 200], (0, t0 + 200, 2))
        self.assertEqual(got[t0 + 201], (0, -1, -1))
        self.assertEqual(got[-1], (0, -1, 3))
        self.assertEqual(got[-2], (0, -1, 0))
        self.assertEqual(got[-3], (0, t0 + 200, 2))

    def test_delete_records_moves_the_log_start(self):
        self.require_produce()
        now = harness.now_ms()
        for i in range(4):
            self.produce([(None, b"x", now)], now)
        conn = self.connect()
        self.assertEqual(kf.delete_records(conn, 2, [("t", [(0, 2)])]), {("t", 0): (0, 2)})
        self.assertEqual(kf.delete_records(conn, 2, [("t", [(0, 1)])]), {("t", 0): (0, 2)})
        self.assertEqual(kf.delete_records(conn, 2, [("t", [(0, 5)])]),
                         {("t", 0): (kf.OFFSET_OUT_OF_RANGE, -1)})
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 1, 1 << 20)])]))
        self.assertEqual(p["error"], kf.OFFSET_OUT_OF_RANGE)
        p = only_partition(kf.fetch(conn, 12, [("t", [(0, 2, 1 << 20)])]))
        self.assertEqual((p["error"], p["log_start_offset"]), (0, 2))
        self.assertEqual([b[0] for b in kf.batches(p["records"])], [2, 3])
        self.assertEqual(kf.list_offsets(conn, 9, [("t", [(0, -2)])])[0][4], 2)
        self.assertEqual(kf.delete_records(conn, 2, [("t", [(0, -1)])]), {("t", 0): (0, 4)})

    def test_offset_for_leader_epoch_after_produce(self):
        self.require_produce()
        now = harness.now_ms()
        self.produce([(None, b"x", now)], now)
        self.produce([(None, b"y", now)], now)
        epoch = leader_epoch(self.broker, "t")
        conn = self.connect()
        for version in range(2, 5):
            got = kf.offset_for_leader_epoch(conn, version, [("t", [(0, epoch)])])
            self.assertEqual(got[("t", 0)], (0, epoch, 2))
            # an epoch above every epoch of the log: undefined
            got = kf.offset_for_leader_epoch(conn, version, [("t", [(0, epoch + 5)])])
            self.assertEqual(got[("t", 0)], (0, -1, -1))

    def test_incremental_answers_carry_new_records(self):
        self.require_produce()
        conn = self.connect()
        sid = kf.fetch(conn, 12, [("t", [(0, 0, 1 << 20)])], session_epoch=0)["session_id"]
        now = harness.now_ms()
        self.produce([(None, b"x", now)], now)
        harness.wait_until(lambda: kf.list_offsets(conn, 9, [("t", [(0, -1)])])[0][4] == 1)
        inc = kf.fetch(conn, 12, [], session_id=sid, session_epoch=1)
        p = only_partition(inc)
        self.assertEqual((p["high_watermark"], len(kf.batches(p["records"]))), (1, 1))
        # the session keeps fetch offset 0 until the client says otherwise: the batch again
        inc = kf.fetch(conn, 12, [("t", [(0, 1, 1 << 20)])], session_id=sid, session_epoch=2)
        self.assertEqual(inc["topics"], [])


if __name__ == "__main__":
    harness.main()
