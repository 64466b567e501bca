"""confluent-kafka 1.7 (Python over librdkafka 2.0.2) in consumer groups on Quire: subscribe,
consume, commit() and committed() (current positions and explicit offsets, backwards too); a later
member of the group resumes at the commits; AdminClient.list_groups (ListGroups, then
DescribeGroups) shows each group's state, protocol and members, with member metadata and
assignments in the consumer protocol's format; a group that only committed offsets is listed
Empty with no protocol type; a static member (group.instance.id) that restarts within its session
timeout gets its old partitions back without a rebalance: the other member's callbacks do not run.

confluent-kafka 1.7 has no API for deleting offsets or groups (delete_consumer_groups and
OffsetDelete came in later versions): test_rdkafka_groups.py covers both through librdkafka's C
API, test_kafka_python_groups.py and test_kafkajs_groups.py DeleteGroups."""

import gc
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

import harness
from kafka_frames import Reader

BROKER_OVERRIDES = ["auto.create.topics.enable=false", "group.min.session.timeout.ms=1000"]
WAIT_S = 30
OFFSET_INVALID = -1001


def produce(broker, topic, partitions, count, first=0):
    """Message i ("m<i>") to partition i % partitions; returns the values."""
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for i in range(first, first + count):
        p.produce(topic, value=f"m{i}".encode(), key=f"k{i}".encode(), partition=i % partitions)
    assert p.flush(30) == 0
    return [f"m{i}" for i in range(first, first + count)]


class Member:
    """A subscribed Consumer and the partitions its rebalance callbacks gave and took."""

    def __init__(self, broker, group, topic, **conf):
        self.events = []  # ("assign" | "revoke", frozenset of partitions)
        self.records = []
        self.consumer = Consumer({
            "bootstrap.servers": broker.bootstrap, "group.id": group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "max.poll.interval.ms": 10000, "fetch.wait.max.ms": 100, **conf})
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, consumer, partitions):
        self.events.append(("assign", frozenset(tp.partition for tp in partitions)))

    def _on_revoke(self, consumer, partitions):
        self.events.append(("revoke", frozenset(tp.partition for tp in partitions)))

    def owned(self):
        """The assignment per the last callback (EAGER: an assign gives all, a revoke takes
        all), None before the first."""
        if not self.events:
            return None
        kind, parts = self.events[-1]
        return parts if kind == "assign" else frozenset()

    def poll(self, timeout_s=0.05):
        m = self.consumer.poll(timeout_s)
        if m is None:
            return
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            return
        self.records.append((m.partition(), m.offset(), m.value().decode()))


def poll_until(members, probe, what, timeout_s=WAIT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        for m in members:
            m.poll()
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s} s: "
                                 f"{[(len(m.records), m.events) for m in members]}")


def poll_for(members, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for m in members:
            m.poll()


def stable(members, partitions):
    owned = [m.owned() for m in members]
    return (None not in owned and all(owned) and sum(map(len, owned)) == partitions
            and frozenset().union(*owned) == frozenset(range(partitions)))


def decode_assignment(raw):
    """ConsumerProtocolAssignment: version, [topic, [partition]], user data."""
    r = Reader(raw)
    version = r.int16()
    out = {}
    for _ in range(r.int32()):
        topic = r.string(False)
        out[topic] = frozenset(r.int32() for _ in range(r.int32()))
    return version, out


def decode_subscription_topics(raw):
    """The topics of a ConsumerProtocolSubscription (version, [topic], ...)."""
    r = Reader(raw)
    r.int16()
    return [r.string(False) for _ in range(r.int32())]


class ConfluentGroups(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(BROKER_OVERRIDES)
        self.admin = AdminClient({"bootstrap.servers": self.broker.bootstrap})
        self.addCleanup(self.drop_admin)  # before the broker stops: cleanups run last first

    def drop_admin(self):
        self.admin = None
        gc.collect()

    def member(self, group, topic, **conf):
        m = Member(self.broker, group, topic, **conf)
        self.addCleanup(m.consumer.close)  # a second close() is harmless
        return m

    def committed(self, group, topic, partitions):
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": group,
                      "enable.auto.commit": False})
        try:
            tps = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
        finally:
            c.close()
        self.assertEqual([tp.error for tp in tps], [None] * partitions, tps)
        return [tp.offset for tp in tps]

    def group(self, name):
        groups = self.admin.list_groups(group=name, timeout=15)
        self.assertEqual([g.id for g in groups], [name], groups)
        self.assertIsNone(groups[0].error, groups[0].error)
        return groups[0]

    def test_consume_commit_committed_and_resume(self):
        group, topic = "orders-readers", "orders"
        harness.create_topic(self.broker, topic, 3)
        values = produce(self.broker, topic, 3, 90)
        a = self.member(group, topic)
        poll_until([a], lambda: len(a.records) >= 90, "90 records")
        self.assertEqual(sorted(v for _, _, v in a.records), sorted(values))
        for p in range(3):
            self.assertEqual([o for q, o, _ in a.records if q == p], list(range(30)))

        # commit() commits the positions: the offset after the last record of each partition.
        done = a.consumer.commit(asynchronous=False)
        self.assertEqual(sorted((tp.topic, tp.partition, tp.offset, tp.error) for tp in done),
                         [(topic, p, 30, None) for p in range(3)])
        self.assertEqual([(tp.offset, tp.error) for tp in a.consumer.committed(
            [TopicPartition(topic, p) for p in range(3)], timeout=15)], [(30, None)] * 3)
        self.assertEqual([tp.offset for tp in a.consumer.position(
            [TopicPartition(topic, p) for p in range(3)])], [30] * 3)
        a.consumer.close()
        self.assertEqual(self.committed(group, topic, 3), [30] * 3)

        # A later member starts at the commits.
        more = produce(self.broker, topic, 3, 9, first=90)
        b = self.member(group, topic)
        poll_until([b], lambda: len(b.records) >= 9, "9 new records")
        poll_for([b], 1.0)
        self.assertEqual(sorted(b.records),
                         sorted((i % 3, 30 + (i - 90) // 3, f"m{i}") for i in range(90, 99)))
        self.assertEqual(sorted(v for _, _, v in b.records), sorted(more))
        # Explicit offsets, one of them backwards: the last commit wins.
        done = b.consumer.commit(offsets=[TopicPartition(topic, 0, 5), TopicPartition(topic, 1, 33),
                                          TopicPartition(topic, 2, 32)], asynchronous=False)
        self.assertEqual([(tp.partition, tp.offset, tp.error) for tp in done],
                         [(0, 5, None), (1, 33, None), (2, 32, None)])
        b.consumer.close()
        self.assertEqual(self.committed(group, topic, 3), [5, 33, 32])
        # An unknown group has no commits.
        self.assertEqual(self.committed("nobody", topic, 3), [OFFSET_INVALID] * 3)

    def test_list_groups_shows_state_protocol_and_member_assignments(self):
        group, topic = "described", "listed"
        harness.create_topic(self.broker, topic, 4)
        a = self.member(group, topic, **{"client.id": "client-a"})
        b = self.member(group, topic, **{"client.id": "client-b"})
        poll_until([a, b], lambda: stable([a, b], 4), "assignment over both members")
        owned = {"client-a": a.owned(), "client-b": b.owned()}

        g = self.group(group)
        self.assertEqual((g.state, g.protocol_type, g.protocol), ("Stable", "consumer", "range"))
        self.assertEqual(sorted(m.client_id for m in g.members), ["client-a", "client-b"])
        for m in g.members:
            self.assertTrue(m.id, m.id)
            self.assertTrue(m.client_host, m.client_host)
            self.assertEqual(decode_subscription_topics(m.metadata), [topic])
            version, assigned = decode_assignment(m.assignment)
            self.assertEqual(assigned, {topic: owned[m.client_id]}, m.client_id)
        self.assertEqual(len({m.id for m in g.members}), 2)

        # A group that only commits offsets (assign(), no subscription): Empty, no protocol.
        c = Consumer({"bootstrap.servers": self.broker.bootstrap, "group.id": "committer",
                      "enable.auto.commit": False})
        try:
            c.commit(offsets=[TopicPartition(topic, 0, 0)], asynchronous=False)
        finally:
            c.close()
        listed = {x.id: x for x in self.admin.list_groups(timeout=15)}
        self.assertTrue({group, "committer"} <= set(listed), listed)
        self.assertEqual((listed["committer"].state, listed["committer"].protocol_type,
                          listed["committer"].members), ("Empty", "", []))

        a.consumer.close()
        b.consumer.close()
        g = self.group(group)
        self.assertEqual((g.state, g.members), ("Empty", []))

    def test_static_member_restarting_within_its_session_causes_no_rebalance(self):
        group, topic = "static", "pinned"
        harness.create_topic(self.broker, topic, 4)
        # x is the group's first member, so its leader; y is a dynamic member.
        x = self.member(group, topic, **{"group.instance.id": "instance-x",
                                         "client.id": "client-x"})
        poll_until([x], lambda: stable([x], 4), "x's assignment")
        y = self.member(group, topic, **{"client.id": "client-y"})
        poll_until([x, y], lambda: stable([x, y], 4), "assignment over x and y")
        poll_for([x, y], 1.5)  # settled: no rebalance pending
        x_owned, y_events = x.owned(), list(y.events)
        before = {m.client_id: m.id for m in self.group(group).members}

        # Static members send no LeaveGroup when they close; the new instance takes its place.
        x.consumer.close()
        x2 = self.member(group, topic, **{"group.instance.id": "instance-x",
                                          "client.id": "client-x"})
        poll_until([x2, y], lambda: x2.owned() is not None, "the new x's assignment")
        poll_for([x2, y], 3.0)  # six heartbeat intervals: a rebalance would reach y
        self.assertEqual(x2.events, [("assign", x_owned)])
        self.assertEqual(y.events, y_events, "y's callbacks ran: the group rebalanced")

        g = self.group(group)
        self.assertEqual(g.state, "Stable")
        after = {m.client_id: m.id for m in g.members}
        self.assertEqual(set(after), {"client-x", "client-y"}, after)
        self.assertEqual(after["client-y"], before["client-y"])
        self.assertNotEqual(after["client-x"], before["client-x"],
                            "the restarted static member kept its old member id")
        assigned = {m.client_id: decode_assignment(m.assignment)[1] for m in g.members}
        self.assertEqual(assigned, {"client-x": {topic: x_owned},
                                    "client-y": {topic: y.owned()}})


if __name__ == "__main__":
    harness.main()
