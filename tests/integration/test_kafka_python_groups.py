"""kafka-python 2.0.2 (an independent pure-Python client, older group API versions: JoinGroup v0-2,
SyncGroup v0-1, OffsetCommit v0-2, OffsetFetch v0-3) in consumer groups on Quire:

- KafkaConsumer with a group_id consumes, commit() commits its positions and committed() reads
  them back (with commit metadata); an explicit commit moves an offset backwards, and the next
  member of the group starts exactly there.
- KafkaAdminClient: list_consumer_groups, describe_consumer_groups (state, protocol, members with
  their subscription and assignment decoded by kafka-python), list_consumer_group_offsets, and
  delete_consumer_groups (NON_EMPTY_GROUP while a member is in, then gone with its offsets).
- The __consumer_offsets topic (50 partitions) read directly, without a group: the commit is
  there as Kafka writes it, an OffsetCommitKey (key version 1: group, topic, partition) with an
  OffsetCommitValue (offset, metadata, commit timestamp), in the partition Kafka's
  partitionFor(group) picks (abs(String.hashCode) % 50), beside the group's GroupMetadata
  record; deleting the group writes tombstones for both."""

import contextlib
import struct
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import GroupIdNotFoundError, NoError, NonEmptyGroupError
from kafka.structs import OffsetAndMetadata

import harness
from kafka_frames import Reader

TIMEOUT_MS = 10000
WAIT_S = 30
BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
OFFSETS_TOPIC, OFFSETS_PARTITIONS = "__consumer_offsets", 50


def produce(broker, topic, partitions, count, first=0):
    """Message i (key "k<i>", value "v<i>") to partition i % partitions."""
    p = KafkaProducer(bootstrap_servers=broker.bootstrap, api_version_auto_timeout_ms=TIMEOUT_MS,
                      acks="all", linger_ms=5)
    try:
        futures = [p.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(),
                          partition=i % partitions) for i in range(first, first + count)]
        p.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)
    finally:
        p.close(timeout=10)


@contextlib.contextmanager
def group_consumer(broker, group, topic, **conf):
    c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group,
                      auto_offset_reset="earliest", enable_auto_commit=False,
                      session_timeout_ms=6000, heartbeat_interval_ms=500,
                      max_poll_interval_ms=10000, fetch_max_wait_ms=100,
                      api_version_auto_timeout_ms=TIMEOUT_MS, **conf)
    try:
        yield c
    finally:
        c.close(autocommit=False)


def read(c, count, timeout_s=WAIT_S):
    """Polls until count records arrived: [(partition, offset, value)]."""
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < count and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=200).values():
            out.extend((r.partition, r.offset, r.value.decode()) for r in records)
    return out


def read_for(c, seconds):
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for records in c.poll(timeout_ms=100).values():
            out.extend((r.partition, r.offset, r.value.decode()) for r in records)
    return out


def java_string_hash(s):
    h = 0
    for unit in struct.unpack(f">{len(s.encode('utf-16-be')) // 2}H", s.encode("utf-16-be")):
        h = (31 * h + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def partition_for(group):
    """Kafka's GroupMetadataManager.partitionFor: Utils.abs(groupId.hashCode) % 50."""
    h = java_string_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % OFFSETS_PARTITIONS


def decode_offsets_key(raw):
    """("offset", group, topic, partition) for key versions 0-1, ("group", group) for 2."""
    r = Reader(raw)
    version = r.int16()
    if version in (0, 1):
        return ("offset", r.string(False), r.string(False), r.int32())
    if version == 2:
        return ("group", r.string(False))
    return ("unknown", version)


def decode_offset_value(raw):
    """OffsetCommitValue: {version, offset, metadata, commit_ts} (versions 0-4)."""
    r = Reader(raw)
    version = r.int16()
    flexible = version >= 4
    out = {"version": version, "offset": r.int64()}
    if version >= 3:
        out["leader_epoch"] = r.int32()
    out["metadata"] = r.string(flexible)
    out["commit_ts"] = r.int64()
    if version == 1:
        out["expire_ts"] = r.int64()
    return out


def decode_group_value(raw):
    """The head of GroupMetadataValue: {version, protocol_type, generation, protocol, leader}."""
    r = Reader(raw)
    version = r.int16()
    flexible = version >= 4
    return {"version": version, "protocol_type": r.string(flexible), "generation": r.int32(),
            "protocol": r.string(flexible), "leader": r.string(flexible)}


def read_offsets_topic(broker, start=None):
    """Every record of __consumer_offsets (from start: {partition: offset}, else the beginning)
    up to its end: [(partition, offset, key bytes, value bytes or None)], and the end offsets."""
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None,
                      enable_auto_commit=False, api_version_auto_timeout_ms=TIMEOUT_MS,
                      fetch_max_wait_ms=100)
    try:
        partitions = harness.wait_until(lambda: c.partitions_for_topic(OFFSETS_TOPIC),
                                        what=f"{OFFSETS_TOPIC} in the metadata")
        assert len(partitions) == OFFSETS_PARTITIONS, sorted(partitions)
        tps = [TopicPartition(OFFSETS_TOPIC, p) for p in sorted(partitions)]
        c.assign(tps)
        ends = c.end_offsets(tps)
        for tp in tps:
            if start:
                c.seek(tp, start[tp.partition])
            else:
                c.seek_to_beginning(tp)
        out = []
        deadline = time.monotonic() + WAIT_S
        while any(c.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "__consumer_offsets not read to its end"
            for records in c.poll(timeout_ms=200).values():
                out.extend((r.partition, r.offset, r.key, r.value) for r in records)
        return out, {tp.partition: end for tp, end in ends.items()}
    finally:
        c.close()


class KafkaPythonGroups(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(BROKER_OVERRIDES)

    def admin(self):
        a = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap,
                             api_version_auto_timeout_ms=TIMEOUT_MS, request_timeout_ms=15000)
        self.addCleanup(a.close)
        return a

    def test_group_consumer_commits_and_the_next_member_resumes_there(self):
        group, topic = "kp-group", "kp-orders"
        harness.create_topic(self.broker, topic, 2)
        produce(self.broker, topic, 2, 40)
        tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
        with group_consumer(self.broker, group, topic) as c:
            records = read(c, 40)
            self.assertEqual(sorted(records), sorted((i % 2, i // 2, f"v{i}") for i in range(40)))
            self.assertEqual(c.assignment(), {tp0, tp1})
            c.commit()
            self.assertEqual((c.committed(tp0), c.committed(tp1)), (20, 20))
            # An explicit commit with metadata, backwards on partition 0.
            c.commit({tp0: OffsetAndMetadata(15, "kp-meta")})
            self.assertEqual(c.committed(tp0, metadata=True), OffsetAndMetadata(15, "kp-meta"))
            self.assertEqual(c.committed(tp1), 20)
        with group_consumer(self.broker, group, topic) as c:
            again = read_for(c, 3.0)
            self.assertEqual(sorted(again), [(0, o, f"v{2 * o}") for o in range(15, 20)])
            c.commit()
        with group_consumer(self.broker, "kp-other", topic) as c:
            self.assertEqual((c.committed(tp0), c.committed(tp1)), (None, None))

    def test_admin_lists_describes_reads_offsets_and_deletes_groups(self):
        group, topic = "kp-admin-group", "kp-admin"
        harness.create_topic(self.broker, topic, 3)
        produce(self.broker, topic, 3, 30)
        admin = self.admin()
        with group_consumer(self.broker, group, topic, client_id="kp-client") as c:
            self.assertEqual(len(read(c, 30)), 30)
            c.commit()
            self.assertIn((group, "consumer"), admin.list_consumer_groups())
            [info] = admin.describe_consumer_groups([group])
            self.assertEqual((info.error_code, info.group, info.state, info.protocol_type,
                              info.protocol), (0, group, "Stable", "consumer", "range"), info)
            [member] = info.members
            self.assertEqual(member.client_id, "kp-client")
            self.assertTrue(member.member_id.startswith("kp-client-"), member.member_id)
            self.assertEqual(member.member_metadata.subscription, [topic])
            self.assertEqual([(t, sorted(ps)) for t, ps in member.member_assignment.assignment],
                             [(topic, [0, 1, 2])])
            self.assertEqual(admin.list_consumer_group_offsets(group),
                             {TopicPartition(topic, p): OffsetAndMetadata(10, "")
                              for p in range(3)})
            self.assertEqual(admin.delete_consumer_groups([group]), [(group, NonEmptyGroupError)])

        [info] = admin.describe_consumer_groups([group])
        self.assertEqual((info.error_code, info.state, info.members), (0, "Empty", []), info)
        self.assertEqual(admin.delete_consumer_groups([group]), [(group, NoError)])
        self.assertNotIn(group, [g for g, _ in admin.list_consumer_groups()])
        self.assertEqual(admin.list_consumer_group_offsets(group), {})
        self.assertEqual(admin.delete_consumer_groups([group]), [(group, GroupIdNotFoundError)])

    def test_consumer_offsets_topic_holds_the_commit_in_kafkas_record_format(self):
        group, topic = "kp-raw", "raw"
        harness.create_topic(self.broker, topic, 1)
        produce(self.broker, topic, 1, 5)
        tp = TopicPartition(topic, 0)
        with group_consumer(self.broker, group, topic) as c:
            self.assertEqual(len(read(c, 5)), 5)
            before = harness.now_ms()
            c.commit({tp: OffsetAndMetadata(5, "raw-meta")})
            after = harness.now_ms()

        records, ends = read_offsets_topic(self.broker)
        mine = [(p, decode_offsets_key(k), v) for p, _, k, v in records
                if decode_offsets_key(k)[:2] in (("offset", group), ("group", group))]
        expected_partition = partition_for(group)
        self.assertEqual({p for p, _, _ in mine}, {expected_partition},
                         f"{group}'s records should be in partition {expected_partition}")
        commits = [decode_offset_value(v) for _, key, v in mine if key[0] == "offset"]
        self.assertEqual([key for _, key, _ in mine if key[0] == "offset"],
                         [("offset", group, topic, 0)] * len(commits))
        last = commits[-1]
        self.assertIn(last["version"], (1, 3, 4), last)
        self.assertEqual((last["offset"], last["metadata"]), (5, "raw-meta"), last)
        self.assertTrue(before - 1000 <= last["commit_ts"] <= after + 1000, (before, last, after))
        groups = [decode_group_value(v) for _, key, v in mine if key[0] == "group" and v]
        self.assertTrue(groups, mine)
        self.assertTrue(any(g["protocol_type"] == "consumer" and g["protocol"] == "range"
                            and g["generation"] >= 1 for g in groups), groups)

        # Deleting the group writes tombstones for its offsets and its metadata.
        admin = self.admin()
        self.assertEqual(admin.delete_consumer_groups([group]), [(group, NoError)])
        later, _ = read_offsets_topic(self.broker, start=ends)
        tombstones = {decode_offsets_key(k) for p, _, k, v in later if v is None
                      and p == expected_partition}
        self.assertEqual(tombstones, {("offset", group, topic, 0), ("group", group)}, later)


if __name__ == "__main__":
    harness.main()
