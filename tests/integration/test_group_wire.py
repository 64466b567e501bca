"""The classic group APIs in raw frames against the real broker, as Apache Kafka 4.3 answers them
(KafkaApis, GroupCoordinatorService, GroupMetadataManager, OffsetMetadataManager): FindCoordinator,
JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups,
ListGroups, DeleteGroups, OffsetDelete, at their version boundaries, and the records they leave
in __consumer_offsets. Frames are built and parsed here (with kafka_frames.py's Writer and
Reader), independently of Quire's codec.

Brokers run with short group timeouts (group.min.session.timeout.ms=100) so that rebalances and
session expiries take well under a second; every wait is bounded."""

import base64
import select
import struct
import time
import unittest

import harness
import kafka_frames as kf
import test_admin_wire
from kafka_frames import Conn, Reader, Writer, uvarint

FIND_COORDINATOR, JOIN_GROUP, HEARTBEAT, LEAVE_GROUP, SYNC_GROUP = 10, 11, 12, 13, 14
DESCRIBE_GROUPS, LIST_GROUPS, OFFSET_COMMIT, OFFSET_FETCH = 15, 16, 8, 9
DELETE_GROUPS, OFFSET_DELETE = 42, 47

# The first flexible version of each API (Kafka's JSON specs).
FLEXIBLE_FROM = {FIND_COORDINATOR: 3, JOIN_GROUP: 6, HEARTBEAT: 4, LEAVE_GROUP: 4,
                 SYNC_GROUP: 4, DESCRIBE_GROUPS: 5, LIST_GROUPS: 3, OFFSET_COMMIT: 8,
                 OFFSET_FETCH: 6, DELETE_GROUPS: 2, OFFSET_DELETE: 99, kf.METADATA: 9,
                 kf.FETCH: 12}

NONE = 0
OFFSET_METADATA_TOO_LARGE = 12
COORDINATOR_NOT_AVAILABLE = 15
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
INVALID_GROUP_ID = 24
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27
INVALID_REQUEST = 42
NON_EMPTY_GROUP = 68
GROUP_ID_NOT_FOUND = 69
FENCED_INSTANCE_ID = 82
GROUP_SUBSCRIBED_TO_TOPIC = 86
MEMBER_ID_REQUIRED = 79
GROUP_MAX_SIZE_REACHED = 81
UNKNOWN_TOPIC_OR_PARTITION = 3
UNKNOWN_TOPIC_ID = 100

# Brokers of this suite: short group timeouts; no initial rebalance delay unless a test asks.
FAST = ["group.min.session.timeout.ms=100", "group.max.session.timeout.ms=60000",
        "group.initial.rebalance.delay.ms=0"]
SESSION_MS = 10000  # members that must not expire during a test
REBALANCE_MS = 10000


def is_flexible(api, version):
    return version >= FLEXIBLE_FROM[api]


# ---- bytes and nullable values, both encodings ----

def w_bytes(w, data):
    """bytes (int32 length) or compact bytes; None writes null."""
    if data is None:
        w.buf += uvarint(0) if w.flexible else struct.pack(">i", -1)
    else:
        w.buf += uvarint(len(data) + 1) if w.flexible else struct.pack(">i", len(data))
        w.buf += data
    return w


def r_bytes(r, flexible):
    n = r.uvarint() - 1 if flexible else r.int32()
    return None if n < 0 else r.take(n)


def w_int64(w, v):
    w.buf += struct.pack(">q", v)
    return w


def consumer_subscription(topics, user_data=None):
    """ConsumerProtocolSubscription v0 as the Java consumer writes it: int16 version, topics as
    int32 count + int16-length names, then nullable int32-length user data."""
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        enc = t.encode()
        out += struct.pack(">h", len(enc)) + enc
    if user_data is None:
        return out + struct.pack(">i", -1)
    return out + struct.pack(">i", len(user_data)) + user_data


def consumer_assignment(partitions):
    """ConsumerProtocolAssignment v0: int16 version, [topic, [partition]], null user data."""
    out = struct.pack(">hi", 0, len(partitions))
    for topic, parts in partitions:
        enc = topic.encode()
        out += struct.pack(">h", len(enc)) + enc + struct.pack(">i", len(parts))
        out += b"".join(struct.pack(">i", p) for p in parts)
    return out + struct.pack(">i", -1)


class Client:
    """One connection; requests numbered by a correlation counter. call() sends and reads the
    answer; send()/recv() split them for requests the broker parks (JoinGroup, SyncGroup)."""

    def __init__(self, broker):
        self.conn = Conn(broker)
        self.correlation = 0
        self.pending = []  # (correlation, api, version) sent and not yet read

    def close(self):
        self.conn.close()

    def send(self, api, version, body):
        self.correlation += 1
        self.conn.send(kf.request(api, version, self.correlation, body,
                                  flexible=is_flexible(api, version)))
        self.pending.append((self.correlation, api, version))

    def ready(self, timeout_s):
        """Whether an answer arrives within timeout_s (without reading it)."""
        readable, _, _ = select.select([self.conn.sock], [], [], timeout_s)
        return bool(readable)

    def recv(self):
        """The next answer's Reader, positioned after its header (checked against the oldest
        request sent)."""
        correlation, api, version = self.pending.pop(0)
        r = Reader(self.conn.response())
        got = r.int32()
        assert got == correlation, f"correlation {got}, expected {correlation}"
        if is_flexible(api, version):
            r.skip_tags()  # response header v1
        return r

    def call(self, api, version, body):
        self.send(api, version, body)
        return self.recv()


def done(r, what):
    assert r.done(), f"{len(r.data) - r.pos} trailing bytes in {what}"


# ---- FindCoordinator ----

def find_coordinator_body(version, keys, key_type=0):
    w = Writer(is_flexible(FIND_COORDINATOR, version))
    if version <= 3:
        w.string(keys[0])
        if version >= 1:
            w.int8(key_type)
    else:
        w.int8(key_type).array(list(keys), lambda w, k: w.string(k))
    return w.tags().bytes()


def find_coordinator(client, version, keys, key_type=0):
    """v0-3: [{"error", "message", "node_id", "host", "port"}] (message None at v0, the one
    key's); v4+: one dict per coordinator entry, with its "key"."""
    flexible = is_flexible(FIND_COORDINATOR, version)
    r = client.call(FIND_COORDINATOR, version, find_coordinator_body(version, keys, key_type))
    if version >= 1:
        r.int32()
    out = []
    if version <= 3:
        c = {"key": keys[0], "error": r.int16(), "message": None}
        if version >= 1:
            c["message"] = r.string(flexible)
        c.update(node_id=r.int32(), host=r.string(flexible), port=r.int32())
        out.append(c)
    else:
        for _ in range(r.array_len(True)):
            c = {"key": r.string(True), "node_id": r.int32(), "host": r.string(True),
                 "port": r.int32(), "error": r.int16(), "message": r.string(True)}
            r.skip_tags()
            out.append(c)
    if flexible:
        r.skip_tags()
    done(r, f"FindCoordinator v{version}")
    return out


# ---- JoinGroup ----

def join_body(version, group, member_id="", protocols=(("range", b"\x00\x01"),),
              protocol_type="consumer", session_ms=SESSION_MS, rebalance_ms=REBALANCE_MS,
              instance_id=None, reason=None):
    w = Writer(is_flexible(JOIN_GROUP, version))
    w.string(group).int32(session_ms)
    if version >= 1:
        w.int32(rebalance_ms)
    w.string(member_id)
    if version >= 5:
        w.string(instance_id)
    w.string(protocol_type)
    w.array(list(protocols), lambda w, p: w_bytes(w.string(p[0]), p[1]).tags())
    if version >= 8:
        w.string(reason)
    return w.tags().bytes()


def parse_join(r, version):
    flexible = is_flexible(JOIN_GROUP, version)
    out = {}
    if version >= 2:
        r.int32()
    out["error"] = r.int16()
    out["generation"] = r.int32()
    out["protocol_type"] = r.string(flexible) if version >= 7 else None
    out["protocol_name"] = r.string(flexible)
    out["leader"] = r.string(flexible)
    out["skip_assignment"] = r.bool() if version >= 9 else False
    out["member_id"] = r.string(flexible)
    members = []
    for _ in range(r.array_len(flexible)):
        m = {"member_id": r.string(flexible)}
        m["instance_id"] = r.string(flexible) if version >= 5 else None
        m["metadata"] = r_bytes(r, flexible)
        if flexible:
            r.skip_tags()
        members.append(m)
    out["members"] = members
    if flexible:
        r.skip_tags()
    done(r, f"JoinGroup v{version}")
    return out


# ---- SyncGroup ----

def sync_body(version, group, generation, member_id, assignments=(), instance_id=None,
              protocol_type="consumer", protocol_name="range"):
    w = Writer(is_flexible(SYNC_GROUP, version))
    w.string(group).int32(generation).string(member_id)
    if version >= 3:
        w.string(instance_id)
    if version >= 5:
        w.string(protocol_type).string(protocol_name)
    w.array(list(assignments), lambda w, a: w_bytes(w.string(a[0]), a[1]).tags())
    return w.tags().bytes()


def parse_sync(r, version):
    flexible = is_flexible(SYNC_GROUP, version)
    if version >= 1:
        r.int32()
    out = {"error": r.int16(), "protocol_type": None, "protocol_name": None}
    if version >= 5:
        out["protocol_type"] = r.string(flexible)
        out["protocol_name"] = r.string(flexible)
    out["assignment"] = r_bytes(r, flexible)
    if flexible:
        r.skip_tags()
    done(r, f"SyncGroup v{version}")
    return out


# ---- Heartbeat, LeaveGroup ----

def heartbeat(client, group, generation, member_id, instance_id=None, version=4):
    w = Writer(is_flexible(HEARTBEAT, version))
    w.string(group).int32(generation).string(member_id)
    if version >= 3:
        w.string(instance_id)
    r = client.call(HEARTBEAT, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    error = r.int16()
    if is_flexible(HEARTBEAT, version):
        r.skip_tags()
    done(r, f"Heartbeat v{version}")
    return error


def leave_group(client, version, group, members):
    """members: [(member_id, instance_id)] (v0-2: exactly one, instance id ignored). Returns
    (top-level error, [(member_id, instance_id, error)] (v3+, else []))."""
    flexible = is_flexible(LEAVE_GROUP, version)
    w = Writer(flexible)
    w.string(group)
    if version <= 2:
        w.string(members[0][0])
    else:
        def member(w, m):
            w.string(m[0]).string(m[1])
            if version >= 5:
                w.string("test")
            w.tags()
        w.array(list(members), member)
    r = client.call(LEAVE_GROUP, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    error = r.int16()
    out = []
    if version >= 3:
        for _ in range(r.array_len(flexible)):
            out.append((r.string(flexible), r.string(flexible), r.int16()))
            if flexible:
                r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"LeaveGroup v{version}")
    return error, out


# ---- DescribeGroups, ListGroups, DeleteGroups ----

def describe_groups(client, groups, version=5, include_ops=False):
    flexible = is_flexible(DESCRIBE_GROUPS, version)
    w = Writer(flexible)
    w.array(list(groups), lambda w, g: w.string(g))
    if version >= 3:
        w.bool(include_ops)
    r = client.call(DESCRIBE_GROUPS, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    out = []
    for _ in range(r.array_len(flexible)):
        g = {"error": r.int16()}
        g["message"] = r.string(flexible) if version >= 6 else None
        g.update(group_id=r.string(flexible), state=r.string(flexible),
                 protocol_type=r.string(flexible), protocol=r.string(flexible))
        members = []
        for _ in range(r.array_len(flexible)):
            m = {"member_id": r.string(flexible)}
            m["instance_id"] = r.string(flexible) if version >= 4 else None
            m.update(client_id=r.string(flexible), client_host=r.string(flexible),
                     metadata=r_bytes(r, flexible), assignment=r_bytes(r, flexible))
            if flexible:
                r.skip_tags()
            members.append(m)
        g["members"] = members
        g["authorized_operations"] = r.int32() if version >= 3 else None
        if flexible:
            r.skip_tags()
        out.append(g)
    if flexible:
        r.skip_tags()
    done(r, f"DescribeGroups v{version}")
    return out


def describe_one(client, group, version=5):
    [g] = describe_groups(client, [group], version)
    return g


def list_groups(client, version=5, states=(), types=()):
    """(error, [{"group_id", "protocol_type", "state", "type"}])"""
    flexible = is_flexible(LIST_GROUPS, version)
    w = Writer(flexible)
    if version >= 4:
        w.array(list(states), lambda w, s: w.string(s))
    if version >= 5:
        w.array(list(types), lambda w, s: w.string(s))
    r = client.call(LIST_GROUPS, version, w.tags().bytes())
    if version >= 1:
        r.int32()
    error = r.int16()
    out = []
    for _ in range(r.array_len(flexible)):
        g = {"group_id": r.string(flexible), "protocol_type": r.string(flexible)}
        g["state"] = r.string(flexible) if version >= 4 else None
        g["type"] = r.string(flexible) if version >= 5 else None
        if flexible:
            r.skip_tags()
        out.append(g)
    if flexible:
        r.skip_tags()
    done(r, f"ListGroups v{version}")
    return error, out


def delete_groups_results(client, groups, version=2):
    """[(group, error)] in answer order."""
    flexible = is_flexible(DELETE_GROUPS, version)
    w = Writer(flexible)
    w.array(list(groups), lambda w, g: w.string(g))
    r = client.call(DELETE_GROUPS, version, w.tags().bytes())
    r.int32()
    out = []
    for _ in range(r.array_len(flexible)):
        name = r.string(flexible)
        out.append((name, r.int16()))
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"DeleteGroups v{version}")
    return out


def delete_groups(client, groups, version=2):
    """{group: error}."""
    return dict(delete_groups_results(client, groups, version))


# ---- OffsetCommit, OffsetFetch, OffsetDelete ----

def offset_commit(client, version, group, topics, generation=-1, member_id="",
                  instance_id=None, retention_ms=-1):
    """topics: [(name, or 16-byte id at v10, [(partition, offset[, leader epoch[, metadata]])])].
    Returns {(name or id, partition): error}."""
    flexible = is_flexible(OFFSET_COMMIT, version)
    w = Writer(flexible)
    w.string(group).int32(generation).string(member_id)
    if version >= 7:
        w.string(instance_id)
    if version <= 4:
        w_int64(w, retention_ms)

    def part(w, p):
        w.int32(p[0])
        w_int64(w, p[1])
        if version >= 6:
            w.int32(p[2] if len(p) > 2 else -1)
        w.string(p[3] if len(p) > 3 else "")
        w.tags()

    def topic(w, t):
        if version >= 10:
            w.buf += t[0]
        else:
            w.string(t[0])
        w.array(list(t[1]), part).tags()
    w.array(list(topics), topic)
    r = client.call(OFFSET_COMMIT, version, w.tags().bytes())
    if version >= 3:
        r.int32()
    out = {}
    for _ in range(r.array_len(flexible)):
        key = r.take(16) if version >= 10 else r.string(flexible)
        for _ in range(r.array_len(flexible)):
            index = r.int32()
            out[(key, index)] = r.int16()
            if flexible:
                r.skip_tags()
        if flexible:
            r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"OffsetCommit v{version}")
    return out


def offset_fetch_body(version, groups, require_stable=False):
    """groups: [(group, topics)] (one for v1-7); topics None for all (v2+), else [(name or
    16-byte id at v10, [partition])]."""
    flexible = is_flexible(OFFSET_FETCH, version)
    w = Writer(flexible)

    def topic(w, t):
        if version >= 10:
            w.buf += t[0]
        else:
            w.string(t[0])
        w.array(list(t[1]), lambda w, p: w.int32(p)).tags()
    if version <= 7:
        [(group, topics)] = groups
        w.string(group).array(None if topics is None else list(topics), topic)
    else:
        def grp(w, g):
            w.string(g[0])
            if version >= 9:
                w.string(None).int32(-1)
            w.array(None if g[1] is None else list(g[1]), topic).tags()
        w.array(list(groups), grp)
    if version >= 7:
        w.bool(require_stable)
    return w.tags().bytes()


def offset_fetch(client, version, groups, require_stable=False):
    """Returns {group: {"error", "offsets": {(topic name or id, partition): (offset, leader
    epoch, metadata, error)}, "order": [keys in answer order]}} (v1-7: the one group)."""
    flexible = is_flexible(OFFSET_FETCH, version)
    r = client.call(OFFSET_FETCH, version, offset_fetch_body(version, groups, require_stable))
    if version >= 3:
        r.int32()

    def topics(r):
        offsets, order = {}, []
        for _ in range(r.array_len(flexible)):
            key = r.take(16) if version >= 10 else r.string(flexible)
            for _ in range(r.array_len(flexible)):
                index, offset = r.int32(), r.int64()
                epoch = r.int32() if version >= 5 else None
                meta, error = r.string(flexible), r.int16()
                if flexible:
                    r.skip_tags()
                offsets[(key, index)] = (offset, epoch, meta, error)
                order.append((key, index))
            if flexible:
                r.skip_tags()
        return offsets, order

    out = {}
    if version <= 7:
        offsets, order = topics(r)
        error = r.int16() if version >= 2 else None
        out[groups[0][0]] = {"error": error, "offsets": offsets, "order": order}
    else:
        for _ in range(r.array_len(True)):
            group = r.string(True)
            offsets, order = topics(r)
            out[group] = {"error": r.int16(), "offsets": offsets, "order": order}
            r.skip_tags()
    if flexible:
        r.skip_tags()
    done(r, f"OffsetFetch v{version}")
    return out


def fetched(client, group, topic, partition, version=7):
    """(offset, leader epoch, metadata, error) of one partition (OffsetFetch v5-7)."""
    got = offset_fetch(client, version, [(group, [(topic, [partition])])])[group]
    assert got["error"] == NONE, got
    return got["offsets"][(topic, partition)]


def offset_delete(client, group, topics):
    """topics: [(name, [partition])]; returns (error, {(topic, partition): error})."""
    w = Writer(False)
    w.string(group)
    w.array(list(topics), lambda w, t: w.string(t[0]).array(list(t[1]),
                                                           lambda w, p: w.int32(p)))
    r = client.call(OFFSET_DELETE, 0, w.bytes())
    error = r.int16()
    r.int32()
    out = {}
    for _ in range(r.array_len(False)):
        name = r.string(False)
        for _ in range(r.array_len(False)):
            index = r.int32()
            out[(name, index)] = r.int16()
    done(r, "OffsetDelete v0")
    return error, out


def topic_id(broker, name):
    t = [t for t in kf.metadata(broker, [name])["topics"] if t["name"] == name][0]
    return base64.urlsafe_b64decode(t["topic_id"] + "==")


# ---- group members ----

def coordinator_ready(broker, group="g", timeout_s=10):
    """FindCoordinator until this broker is the group's coordinator (the offsets topic is
    created by the first lookup) and a group request is served (its partition loaded)."""
    client = Client(broker)
    try:
        harness.wait_until(lambda: find_coordinator(client, 4, [group])[0]["error"] == NONE,
                           timeout_s, "coordinator")
        harness.wait_until(lambda: list_groups(client, 5)[0] == NONE, timeout_s,
                           "loaded offsets partitions")
    finally:
        client.close()


_MEMBERS = object()  # Member.sync: the member's own protocol type / name


class Member:
    """One classic group member on its own connection."""

    def __init__(self, broker, group, protocols=(("range", b"\x00\x01"),),
                 protocol_type="consumer", instance_id=None, session_ms=SESSION_MS,
                 rebalance_ms=REBALANCE_MS, version=9):
        self.client = Client(broker)
        self.group = group
        self.protocols = protocols
        self.protocol_type = protocol_type
        self.instance_id = instance_id
        self.session_ms = session_ms
        self.rebalance_ms = rebalance_ms
        self.version = version
        self.member_id = ""
        self.generation = -1
        self.join_result = None

    def close(self):
        self.client.close()

    def send_join(self, **kw):
        args = dict(member_id=self.member_id, protocols=self.protocols,
                    protocol_type=self.protocol_type, session_ms=self.session_ms,
                    rebalance_ms=self.rebalance_ms,
                    instance_id=self.instance_id)
        args.update(kw)
        self.client.send(JOIN_GROUP, self.version, join_body(self.version, self.group, **args))

    def recv_join(self):
        j = parse_join(self.client.recv(), self.version)
        if j["error"] == NONE:
            self.member_id, self.generation = j["member_id"], j["generation"]
        self.join_result = j
        return j

    def join(self, **kw):
        """One JoinGroup, answered (waits up to the connection's timeout)."""
        self.send_join(**kw)
        return self.recv_join()

    def join_with_id(self):
        """JoinGroup v4+'s handshake: MEMBER_ID_REQUIRED hands out the id, then the join is sent
        again (its answer is not awaited: a rebalance may park it)."""
        if self.version >= 4 and self.instance_id is None and not self.member_id:
            j = self.join()
            assert j["error"] == MEMBER_ID_REQUIRED, j
            self.member_id = j["member_id"]
        self.send_join()

    def sync(self, assignments=(), version=5, generation=None, protocol_type=_MEMBERS,
             protocol_name=_MEMBERS):
        """Sends a SyncGroup (its answer: recv_sync). v5's protocol type and name default to
        the member's type and its last join's protocol."""
        if protocol_type is _MEMBERS:
            protocol_type = self.protocol_type
        if protocol_name is _MEMBERS:
            protocol_name = (self.join_result or {}).get("protocol_name")
        body = sync_body(version, self.group, self.generation if generation is None else generation,
                         self.member_id, assignments, instance_id=self.instance_id,
                         protocol_type=protocol_type, protocol_name=protocol_name)
        self.client.send(SYNC_GROUP, version, body)

    def recv_sync(self, version=5):
        return parse_sync(self.client.recv(), version)

    def heartbeat(self, generation=None, version=4, member_id=None):
        return heartbeat(self.client, self.group,
                         self.generation if generation is None else generation,
                         self.member_id if member_id is None else member_id,
                         self.instance_id if version >= 3 else None, version)


def stable_group(test, broker, group, count=1, assignments=None, protocols=None, **kw):
    """count members joined and synced, the first the leader; returns them. The leader forms
    generation 1 alone; the others' joins start a rebalance that the leader's rejoin completes
    (generation 2). protocols: one list for all members or one per member. assignments:
    {member index: bytes}, default b"a<index>" for each."""
    if protocols is None:
        protocols = [(("range", b"\x00\x01"),)] * count
    elif protocols and isinstance(protocols[0][0], str):
        protocols = [protocols] * count
    members = [Member(broker, group, protocols=protocols[i], **kw) for i in range(count)]
    for m in members:
        test.addCleanup(m.close)
    leader = members[0]
    leader.join_with_id()
    j = leader.recv_join()
    test.assertEqual(j["error"], NONE, j)
    if count > 1:
        for m in members[1:]:
            m.join_with_id()
        client = Client(broker)
        try:
            harness.wait_until(lambda: len(describe_one(client, group)["members"]) == count,
                               10, f"{count} members in {group}")
        finally:
            client.close()
        leader.send_join()
        for m in members:
            j = m.recv_join()
            test.assertEqual(j["error"], NONE, j)
    test.assertEqual(leader.join_result["leader"], leader.member_id)
    if assignments is None:
        assignments = {i: b"a%d" % i for i in range(count)}
    leader.sync([(members[k].member_id, a) for k, a in assignments.items()])
    for m in members[1:]:
        m.sync()
    for m in members:
        s = m.recv_sync()
        test.assertEqual(s["error"], NONE, s)
    return members


# ---- __consumer_offsets records ----

def java_hash(s):
    """Java's String.hashCode (ASCII ids)."""
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def offsets_partition(group, partitions=50):
    """Kafka's partitionFor: Utils.abs(groupId.hashCode) % offsets.topic.num.partitions."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def read_varint(data, pos):
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return (value >> 1) ^ -(value & 1), pos
        shift += 7


def batch_records(raw):
    """[(offset, key, value)] of one uncompressed RecordBatch v2 (kf.batches' raw bytes)."""
    base = struct.unpack(">q", raw[:8])[0]
    attributes = struct.unpack(">h", raw[21:23])[0]
    assert attributes & 0x7 == 0, f"compressed batch (attributes {attributes})"
    count = struct.unpack(">i", raw[57:61])[0]
    pos, out = 61, []
    for _ in range(count):
        length, pos = read_varint(raw, pos)
        end = pos + length
        pos += 1  # attributes
        _, pos = read_varint(raw, pos)  # timestamp delta
        delta, pos = read_varint(raw, pos)
        klen, pos = read_varint(raw, pos)
        key = None if klen < 0 else raw[pos:pos + klen]
        pos += max(klen, 0)
        vlen, pos = read_varint(raw, pos)
        value = None if vlen < 0 else raw[pos:pos + vlen]
        pos = end
        out.append((base + delta, key, value))
    return out


def read_partition(client, topic, partition):
    """Every record of the partition, [(offset, key, value)], with Fetch v12."""
    out, offset = [], 0
    for _ in range(50):
        resp = kf.fetch(client.conn, 12, [(topic, [(partition, offset, 1 << 20)])])
        [(_, [p])] = resp["topics"]
        assert p["error"] == NONE, p
        got = kf.batches(p["records"])
        for *_, raw in got:
            out += [rec for rec in batch_records(raw) if rec[0] >= offset]
        if not got or got[-1][1] + 1 >= p["high_watermark"]:
            return out
        offset = got[-1][1] + 1
    raise AssertionError("partition not read to its end in 50 fetches")


def parse_offset_commit_record(key, value):
    """(group, topic, partition), and the value as a dict (None for a tombstone)."""
    r = Reader(key)
    assert r.int16() == 1, key
    k = (r.string(False), r.string(False), r.int32())
    done(r, "OffsetCommitKey")
    if value is None:
        return k, None
    r = Reader(value)
    v = {"version": r.int16()}
    v["offset"] = r.int64()
    v["leader_epoch"] = r.int32() if v["version"] >= 3 else None
    v["metadata"] = r.string(False)
    v["commit_timestamp"] = r.int64()
    v["expire_timestamp"] = r.int64() if v["version"] == 1 else None
    done(r, f"OffsetCommitValue v{v['version']}")
    return k, v


def parse_group_metadata_record(key, value):
    r = Reader(key)
    assert r.int16() == 2, key
    group = r.string(False)
    done(r, "GroupMetadataKey")
    if value is None:
        return group, None
    r = Reader(value)
    v = {"version": r.int16()}
    v.update(protocol_type=r.string(False), generation=r.int32(), protocol=r.string(False),
             leader=r.string(False))
    v["state_timestamp"] = r.int64() if v["version"] >= 2 else None
    members = []
    for _ in range(r.array_len(False)):
        m = {"member_id": r.string(False)}
        m["instance_id"] = r.string(False) if v["version"] >= 3 else None
        m.update(client_id=r.string(False), client_host=r.string(False))
        m["rebalance_timeout"] = r.int32() if v["version"] >= 1 else None
        m.update(session_timeout=r.int32(), subscription=r_bytes(r, False),
                 assignment=r_bytes(r, False))
        members.append(m)
    v["members"] = members
    done(r, f"GroupMetadataValue v{v['version']}")
    return group, v


def coordinator_records(client, group):
    """[("offset", key tuple, value) | ("group", group, value)] of the group's partition of
    __consumer_offsets, in log order (other groups' records left out)."""
    out = []
    for _, key, value in read_partition(client, "__consumer_offsets", offsets_partition(group)):
        version = struct.unpack(">h", key[:2])[0]
        if version in (0, 1):
            k, v = parse_offset_commit_record(key, value)
            if k[0] == group:
                out.append(("offset", k, v))
        elif version == 2:
            g, v = parse_group_metadata_record(key, value)
            if g == group:
                out.append(("group", g, v))
    return out


# ---- the tests ----

class GroupTestCase(unittest.TestCase):
    """One broker per class (its tests use distinct group names), its coordinator ready, and a
    client connection per test. The broker must stop cleanly after the class."""

    OVERRIDES = FAST
    TOPICS = ()

    @classmethod
    def setUpClass(cls):
        cls.broker = harness.Broker(cls.OVERRIDES, name=cls.__name__).start()
        try:
            for name, partitions in cls.TOPICS:
                harness.create_topic(cls.broker, name, partitions)
            coordinator_ready(cls.broker)
        except BaseException:
            cls.broker.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()

    def setUp(self):
        if self.broker not in harness._test_brokers:
            harness._test_brokers.append(self.broker)  # its log is printed if the test fails
        self.client = self.connect()

    def connect(self):
        client = Client(self.broker)
        self.addCleanup(client.close)
        return client

    def member(self, group, **kw):
        m = Member(self.broker, group, **kw)
        self.addCleanup(m.close)
        return m

    def state(self, group):
        return describe_one(self.client, group)["state"]

    def wait_members(self, group, count):
        """Until DescribeGroups lists count members (joins on other connections registered)."""
        harness.wait_until(lambda: len(describe_one(self.client, group)["members"]) == count,
                           5, f"{count} members in {group}")


class FindCoordinator(harness.BrokerTestCase):
    """KafkaApis.getCoordinator: the first lookup auto-creates __consumer_offsets and answers
    COORDINATOR_NOT_AVAILABLE; then the partition leader's endpoint on the listener asked."""

    def setUp(self):
        self.broker = self.start_broker(FAST)
        self.client = Client(self.broker)
        self.addCleanup(self.client.close)

    def node_id(self):
        [b] = kf.metadata(self.broker, [])["brokers"]
        return b["node_id"]

    def wait_found(self, version=4):
        return harness.wait_until(
            lambda: [c for c in find_coordinator(self.client, version, ["g"]) if c["error"] == 0],
            10, "the coordinator")

    def test_batched_lookup_creates_the_offsets_topic_then_finds_this_broker(self):
        first = find_coordinator(self.client, 4, ["g1", "g2"])
        self.assertEqual([(c["key"], c["error"], c["node_id"], c["host"], c["port"])
                          for c in first],
                         [(k, COORDINATOR_NOT_AVAILABLE, -1, "", -1) for k in ("g1", "g2")])
        self.wait_found()
        me = (self.node_id(), self.broker.host, self.broker.port)
        for version in (4, 5, 6):
            got = find_coordinator(self.client, version, ["a", "b", "c"])
            self.assertEqual([(c["key"], c["error"], c["node_id"], c["host"], c["port"])
                              for c in got], [(k, NONE) + me for k in "abc"], f"v{version}")

    def test_batched_entries_carry_no_error_message(self):
        # handleFindCoordinatorRequestV4AndAbove sets key, error, node, host and port of each
        # entry: the message keeps the generated default "" (found or not)
        first = find_coordinator(self.client, 4, ["g1"])
        with self.subTest("COORDINATOR_NOT_AVAILABLE"):
            self.assertEqual((first[0]["error"], first[0]["message"]),
                             (COORDINATOR_NOT_AVAILABLE, ""))
        self.wait_found()
        for version in (4, 6):
            with self.subTest("NONE", version=version):
                got = find_coordinator(self.client, version, ["a", "b"])
                self.assertEqual([(c["error"], c["message"]) for c in got], [(NONE, "")] * 2)

    def test_single_key_versions(self):
        first = find_coordinator(self.client, 1, ["g"])
        # v0-3 errors go through FindCoordinatorResponse.prepareOldResponse(error, noNode):
        # error.message() is the error's default message
        self.assertEqual(first, [{"key": "g", "error": COORDINATOR_NOT_AVAILABLE,
                                  "message": "The coordinator is not available.",
                                  "node_id": -1, "host": "", "port": -1}])
        self.wait_found(1)
        me = {"key": "g", "node_id": self.node_id(), "host": self.broker.host,
              "port": self.broker.port, "error": NONE}
        self.assertEqual(find_coordinator(self.client, 0, ["g"]), [dict(me, message=None)])
        for version in (1, 2, 3):  # Errors.NONE.message() is "NONE"
            self.assertEqual(find_coordinator(self.client, version, ["g"]),
                             [dict(me, message="NONE")], f"v{version}")

    def test_transaction_keys_have_no_coordinator(self):
        # Quire has no transaction coordinator yet (documented): never available
        self.wait_found()
        for version in (1, 3, 4, 6):
            for c in find_coordinator(self.client, version, ["txn-1"], key_type=1):
                self.assertEqual((c["error"], c["node_id"], c["host"], c["port"]),
                                 (COORDINATOR_NOT_AVAILABLE, -1, "", -1), f"v{version}")

    def test_unknown_key_type_is_invalid_request(self):
        self.wait_found()
        for version in (1, 3):
            [c] = find_coordinator(self.client, version, ["k"], key_type=7)
            self.assertEqual((c["error"], c["node_id"], c["host"], c["port"]),
                             (INVALID_REQUEST, -1, "", -1), f"v{version}")
        for version in (4, 6):
            got = find_coordinator(self.client, version, ["k1", "k2"], key_type=7)
            self.assertEqual([(c["key"], c["error"], c["node_id"], c["host"], c["port"])
                              for c in got],
                             [(k, INVALID_REQUEST, -1, "", -1) for k in ("k1", "k2")])

    def test_unknown_key_type_message_is_the_errors_default(self):
        # CoordinatorType.forId throws; KafkaApis answers with request.getErrorResponse(e), which
        # uses Errors.forException(e).message(): INVALID_REQUEST's default message
        self.wait_found()
        default = ("This most likely occurs because of a request being malformed by the client "
                   "library or the message was sent to an incompatible broker. See the broker "
                   "logs for more details.")
        for version in (1, 4):
            with self.subTest(version=version):
                [c] = find_coordinator(self.client, version, ["k"], key_type=7)
                self.assertEqual(c["message"], default)

    def test_the_offsets_topic_is_internal_compacted_with_50_partitions(self):
        self.wait_found()
        [t] = kf.metadata(self.broker, ["__consumer_offsets"])["topics"]
        self.assertEqual((t["name"], t["error"], t["internal"], len(t["partitions"])),
                         ("__consumer_offsets", 0, True, 50))
        self.assertEqual(sorted(p["partition"] for p in t["partitions"]), list(range(50)))
        [res] = test_admin_wire.describe_configs(self.broker,
                                                 [(kf.RESOURCE_TOPIC, "__consumer_offsets", None)])
        configs = {k: c["value"] for k, c in res["configs"].items()}
        # GroupCoordinatorService.groupMetadataTopicConfigs
        self.assertEqual((configs["cleanup.policy"], configs["compression.type"],
                          configs["segment.bytes"]), ("compact", "producer", "104857600"))


class JoinGroup(GroupTestCase):
    def test_v4_plus_unknown_member_gets_member_id_required_then_joins(self):
        for version in range(4, 10):
            m = self.member(f"jg{version}", version=version)
            j = m.join()
            self.assertEqual((j["error"], j["generation"], j["leader"], j["members"]),
                             (MEMBER_ID_REQUIRED, -1, "", []), f"v{version}")
            self.assertRegex(j["member_id"], r"^wire-test-[0-9a-f-]{36}$")  # clientId-UUID
            self.assertEqual(j["protocol_name"], "")
            self.assertIsNone(j["protocol_type"])
            m.member_id = j["member_id"]
            j = m.join()
            self.assertEqual((j["error"], j["generation"], j["member_id"], j["leader"]),
                             (NONE, 1, m.member_id, m.member_id), f"v{version}")
            self.assertEqual(j["protocol_name"], "range")
            self.assertEqual(j["protocol_type"], "consumer" if version >= 7 else None)
            self.assertFalse(j["skip_assignment"])
            self.assertEqual(j["members"], [{"member_id": m.member_id, "instance_id": None,
                                             "metadata": b"\x00\x01"}])

    def test_v0_to_v3_join_without_the_handshake(self):
        for version in range(0, 4):
            j = self.member(f"old{version}", version=version).join()
            self.assertEqual((j["error"], j["generation"]), (NONE, 1), f"v{version}")
            self.assertEqual(j["leader"], j["member_id"])
            self.assertEqual([m["member_id"] for m in j["members"]], [j["member_id"]])

    def test_group_id_and_session_timeout_are_validated_first(self):
        for version in (0, 5, 6, 7, 9):
            self.client.send(JOIN_GROUP, version, join_body(version, "", member_id="m"))
            j = parse_join(self.client.recv(), version)
            self.assertEqual((j["error"], j["member_id"], j["generation"], j["leader"],
                              j["members"]), (INVALID_GROUP_ID, "m", -1, "", []), f"v{version}")
            for session_ms in (99, 60001):  # group.min/max.session.timeout.ms: 100, 60000
                self.client.send(JOIN_GROUP, version,
                                 join_body(version, "st", session_ms=session_ms))
                j = parse_join(self.client.recv(), version)
                self.assertEqual((j["error"], j["member_id"], j["generation"]),
                                 (INVALID_SESSION_TIMEOUT, "", -1), f"v{version} {session_ms}")
        for session_ms in (100, 60000):  # both bounds are allowed
            j = self.member(f"st{session_ms}", version=3, session_ms=session_ms).join()
            self.assertEqual(j["error"], NONE)

    def test_v7_plus_error_answers_keep_an_empty_protocol_name(self):
        # GroupCoordinatorService.joinGroup answers new JoinGroupResponseData() with only the
        # member id and error set: ProtocolName keeps its default "" (not null) at v7+
        for version in (7, 9):
            self.client.send(JOIN_GROUP, version, join_body(version, "", member_id="m"))
            j = parse_join(self.client.recv(), version)
            self.assertEqual((j["error"], j["protocol_name"], j["protocol_type"]),
                             (INVALID_GROUP_ID, "", None), f"v{version}")

    def test_inconsistent_group_protocol(self):
        stable_group(self, self.broker, "ip")
        for kw in ({"protocol_type": "connect"}, {"protocols": (("roundrobin", b"x"),)}):
            j = self.member("ip").join(**kw)
            self.assertEqual((j["error"], j["member_id"], j["generation"]),
                             (INCONSISTENT_GROUP_PROTOCOL, "", -1), kw)
        # a new group needs a protocol type and at least one protocol
        for kw in ({"protocol_type": ""}, {"protocols": ()}):
            j = self.member("fresh").join(**kw)
            self.assertEqual(j["error"], INCONSISTENT_GROUP_PROTOCOL, kw)
        self.assertEqual(self.state("ip"), "Stable")

    def test_unknown_member_id(self):
        stable_group(self, self.broker, "um")
        for group in ("um", "no-such-group"):
            for version in (3, 9):
                j = self.member(group, version=version).join(member_id="stranger")
                self.assertEqual((j["error"], j["member_id"], j["generation"]),
                                 (UNKNOWN_MEMBER_ID, "stranger", -1), f"{group} v{version}")

    def test_a_second_member_rebalances_the_group(self):
        a, = stable_group(self, self.broker, "rb")
        b = self.member("rb")
        b.join_with_id()
        self.assertFalse(b.client.ready(0.3), "the new member's JoinGroup waits for the others")
        self.assertEqual(self.state("rb"), "PreparingRebalance")
        self.assertEqual(a.heartbeat(), REBALANCE_IN_PROGRESS)
        a.send_join()
        ja, jb = a.recv_join(), b.recv_join()
        self.assertEqual((ja["error"], jb["error"]), (NONE, NONE))
        self.assertEqual((ja["generation"], jb["generation"]), (2, 2))
        self.assertEqual((ja["leader"], jb["leader"]), (a.member_id, a.member_id))
        self.assertEqual({m["member_id"] for m in ja["members"]}, {a.member_id, b.member_id})
        self.assertEqual(jb["members"], [])  # the member list goes to the leader only
        self.assertEqual(self.state("rb"), "CompletingRebalance")

    def test_the_leaders_rejoin_while_stable_rebalances(self):
        # GroupMetadataManager: "Force a rebalance if the leader sends JoinGroup"
        a, b = stable_group(self, self.broker, "lr", 2)
        a.send_join()
        self.assertFalse(a.client.ready(0.3))
        self.assertEqual(self.state("lr"), "PreparingRebalance")
        self.assertEqual(b.heartbeat(), REBALANCE_IN_PROGRESS)
        b.send_join()
        self.assertEqual((a.recv_join()["generation"], b.recv_join()["generation"]), (3, 3))

    def test_members_that_do_not_rejoin_in_the_rebalance_timeout_are_dropped(self):
        a, b = stable_group(self, self.broker, "rt", 2, rebalance_ms=800)
        c = self.member("rt", rebalance_ms=800)
        start = time.monotonic()
        c.join_with_id()  # the rebalance starts: 800 ms for every member to rejoin
        harness.wait_until(lambda: self.state("rt") == "PreparingRebalance", 5)
        a.send_join()  # b never rejoins
        ja, jc = a.recv_join(), c.recv_join()
        self.assertGreaterEqual(time.monotonic() - start, 0.6)
        self.assertEqual((ja["generation"], jc["generation"]), (3, 3))
        self.assertEqual({m["member_id"] for m in ja["members"]}, {a.member_id, c.member_id})
        self.assertEqual(b.heartbeat(), UNKNOWN_MEMBER_ID)

    def test_follower_rejoin_while_stable_changes_nothing(self):
        a, b = stable_group(self, self.broker, "fr", 2)
        j = b.join()  # same protocols: the current generation, no rebalance
        self.assertEqual((j["error"], j["generation"], j["leader"], j["members"]),
                         (NONE, 2, a.member_id, []))
        self.assertEqual(a.heartbeat(), NONE)
        self.assertEqual(self.state("fr"), "Stable")


class InitialRebalanceDelay(GroupTestCase):
    """group.initial.rebalance.delay.ms: a new group's first join phase waits for more members."""

    OVERRIDES = FAST[:-1] + ["group.initial.rebalance.delay.ms=500"]

    def test_first_join_is_answered_once_the_second_member_joined(self):
        a, b = self.member("d"), self.member("d")
        a.join_with_id()
        self.assertFalse(a.client.ready(0.25))
        b.join_with_id()
        ja, jb = a.recv_join(), b.recv_join()
        self.assertEqual((ja["error"], jb["error"], ja["generation"], jb["generation"]),
                         (NONE, NONE, 1, 1))
        self.assertEqual((ja["leader"], jb["leader"]), (a.member_id, a.member_id))
        self.assertEqual({m["member_id"] for m in ja["members"]}, {a.member_id, b.member_id})
        self.assertEqual(jb["members"], [])

    def test_the_protocol_all_members_support_is_selected(self):
        a = self.member("p2", protocols=(("range", b"A-range"), ("sticky", b"A-sticky")))
        b = self.member("p2", protocols=(("sticky", b"B-sticky"), ("roundrobin", b"B-rr")))
        a.join_with_id()
        b.join_with_id()
        ja, jb = a.recv_join(), b.recv_join()
        self.assertEqual((ja["protocol_name"], jb["protocol_name"]), ("sticky", "sticky"))
        self.assertEqual({m["member_id"]: m["metadata"] for m in ja["members"]},
                         {a.member_id: b"A-sticky", b.member_id: b"B-sticky"})

    def test_members_vote_for_their_first_candidate_protocol(self):
        # ClassicGroup.selectProtocol: each member votes for its most preferred protocol among
        # those all support; the most votes win (range 1, roundrobin 2)
        prefs = {"A": ("range", "roundrobin"), "B": ("roundrobin", "range"),
                 "C": ("roundrobin", "range")}
        members = {n: self.member("vote", protocols=tuple((p, f"{n}-{p}".encode())
                                                          for p in ps))
                   for n, ps in prefs.items()}
        for m in members.values():
            m.join_with_id()
        joined = {n: m.recv_join() for n, m in members.items()}
        self.assertEqual({j["protocol_name"] for j in joined.values()}, {"roundrobin"})
        self.assertEqual({m["member_id"]: m["metadata"] for m in joined["A"]["members"]},
                         {members[n].member_id: f"{n}-roundrobin".encode() for n in prefs})
        self.assertEqual(describe_one(self.client, "vote")["state"], "CompletingRebalance")


class GroupMaxSize(GroupTestCase):
    OVERRIDES = FAST + ["group.max.size=1"]

    def test_joins_beyond_group_max_size(self):
        # GroupMetadataManager.acceptJoiningMember: a Stable group takes new members up to
        # group.max.size; the refused join's member id is ""
        stable_group(self, self.broker, "mx")
        for kw in ({}, {"version": 3}, {"instance_id": "static"}):
            j = self.member("mx", **kw).join()
            self.assertEqual((j["error"], j["member_id"], j["generation"]),
                             (GROUP_MAX_SIZE_REACHED, "", -1), kw)
        self.assertEqual(len(describe_one(self.client, "mx")["members"]), 1)


class SyncGroup(GroupTestCase):
    def test_the_leaders_assignment_reaches_each_member(self):
        a, b, c = stable_group(self, self.broker, "sg", 3, assignments={0: b"for-a", 1: b"for-b"})
        for m, expected in ((a, b"for-a"), (b, b"for-b"), (c, b"")):
            m.sync()  # Stable: the current assignment again
            s = m.recv_sync()
            self.assertEqual((s["error"], s["assignment"], s["protocol_type"], s["protocol_name"]),
                             (NONE, expected, "consumer", "range"))
        g = describe_one(self.client, "sg")
        self.assertEqual({m["member_id"]: m["assignment"] for m in g["members"]},
                         {a.member_id: b"for-a", b.member_id: b"for-b", c.member_id: b""})

    def test_followers_wait_for_the_leader(self):
        a = self.member("sw")
        a.join_with_id()
        a.recv_join()
        b = self.member("sw")
        b.join_with_id()
        self.wait_members("sw", 2)
        a.send_join()
        a.recv_join(), b.recv_join()
        b.client.send(SYNC_GROUP, 0, sync_body(0, "sw", b.generation, b.member_id))
        self.assertFalse(b.client.ready(0.3), "the follower's SyncGroup waits for the leader's")
        self.assertEqual(self.state("sw"), "CompletingRebalance")
        self.assertEqual(a.heartbeat(), NONE)  # heartbeats are fine while completing
        a.sync([(a.member_id, b"AA"), (b.member_id, b"BB")], version=4)
        sa, sb = a.recv_sync(4), parse_sync(b.client.recv(), 0)
        self.assertEqual((sa["error"], sa["assignment"]), (NONE, b"AA"))
        self.assertEqual((sb["error"], sb["assignment"]), (NONE, b"BB"))
        self.assertEqual(self.state("sw"), "Stable")

    def test_errors_at_every_version(self):
        a, = stable_group(self, self.broker, "se")
        for version in range(0, 6):
            for generation, member, error in ((7, a.member_id, ILLEGAL_GENERATION),
                                              (1, "stranger", UNKNOWN_MEMBER_ID)):
                self.client.send(SYNC_GROUP, version, sync_body(version, "se", generation, member))
                s = parse_sync(self.client.recv(), version)
                self.assertEqual((s["error"], s["assignment"], s["protocol_type"],
                                  s["protocol_name"]), (error, b"", None, None), f"v{version}")
            # a group that does not exist: UNKNOWN_MEMBER_ID
            self.client.send(SYNC_GROUP, version, sync_body(version, "nope", 1, "m"))
            self.assertEqual(parse_sync(self.client.recv(), version)["error"], UNKNOWN_MEMBER_ID)
            self.client.send(SYNC_GROUP, version, sync_body(version, "", 1, "m"))
            self.assertEqual(parse_sync(self.client.recv(), version)["error"], INVALID_GROUP_ID)

    def test_v5_protocol_type_and_name_must_match(self):
        a, = stable_group(self, self.broker, "sp")
        for kw in ({"protocol_type": "connect"}, {"protocol_name": "roundrobin"},
                   {"protocol_type": None}, {"protocol_name": None}):
            a.sync(**kw)
            s = a.recv_sync()
            self.assertEqual((s["error"], s["assignment"]), (INCONSISTENT_GROUP_PROTOCOL, b""), kw)
        a.sync()
        self.assertEqual(a.recv_sync()["error"], NONE)
        a.sync(version=4, protocol_type="ignored")  # v4 does not carry them
        self.assertEqual(a.recv_sync(4)["error"], NONE)

    def test_members_that_never_sync_are_removed_after_the_rebalance_timeout(self):
        a, b = stable_group(self, self.broker, "sy", 2, rebalance_ms=800)
        c = self.member("sy", rebalance_ms=800)
        c.join_with_id()
        harness.wait_until(lambda: self.state("sy") == "PreparingRebalance", 5)
        start = time.monotonic()
        a.send_join()  # the join phase completes: 800 ms for every member to sync
        b.send_join()
        self.assertEqual([m.recv_join()["generation"] for m in (a, b, c)], [3, 3, 3])
        a.sync([(a.member_id, b"A"), (b.member_id, b"B")])
        b.sync()  # c never sends its SyncGroup
        self.assertEqual((a.recv_sync()["assignment"], b.recv_sync()["assignment"]), (b"A", b"B"))
        self.assertEqual(self.state("sy"), "Stable")
        while time.monotonic() - start < 5 and a.heartbeat() == NONE:
            time.sleep(0.05)
        self.assertGreaterEqual(time.monotonic() - start, 0.6)
        g = describe_one(self.client, "sy")
        self.assertEqual((g["state"], {m["member_id"] for m in g["members"]}),
                         ("PreparingRebalance", {a.member_id, b.member_id}))

    def test_rebalance_in_progress(self):
        a, = stable_group(self, self.broker, "sr")
        self.member("sr").join_with_id()
        harness.wait_until(lambda: self.state("sr") == "PreparingRebalance", 5)
        a.sync()
        self.assertEqual(a.recv_sync()["error"], REBALANCE_IN_PROGRESS)


class Heartbeat(GroupTestCase):
    def test_errors_at_every_version(self):
        a, = stable_group(self, self.broker, "hb")
        for version in range(0, 5):
            self.assertEqual(a.heartbeat(version=version), NONE, f"v{version}")
            self.assertEqual(a.heartbeat(generation=9, version=version), ILLEGAL_GENERATION)
            self.assertEqual(a.heartbeat(member_id="stranger", version=version),
                             UNKNOWN_MEMBER_ID)
            self.assertEqual(heartbeat(self.client, "nope", 1, "m", version=version),
                             UNKNOWN_MEMBER_ID)
            self.assertEqual(heartbeat(self.client, "", 1, "m", version=version),
                             INVALID_GROUP_ID)

    def test_rebalance_in_progress_once_another_member_joins(self):
        a, = stable_group(self, self.broker, "hr")
        self.assertEqual(a.heartbeat(), NONE)
        self.member("hr").join_with_id()
        harness.wait_until(lambda: a.heartbeat() == REBALANCE_IN_PROGRESS, 5,
                           "REBALANCE_IN_PROGRESS")

    def test_a_silent_member_is_removed_after_its_session_timeout(self):
        a, = stable_group(self, self.broker, "hs")
        c = self.member("hs", session_ms=600)
        c.join_with_id()
        self.wait_members("hs", 2)
        start = time.monotonic()  # c's session (600 ms) runs from its join's answer at the earliest
        a.send_join()
        ja, jc = a.recv_join(), c.recv_join()
        self.assertEqual((ja["generation"], jc["generation"]), (2, 2))
        a.sync([(a.member_id, b"A"), (c.member_id, b"C")])
        c.sync()
        self.assertEqual((a.recv_sync()["error"], c.recv_sync()["error"]), (NONE, NONE))
        self.assertEqual(self.state("hs"), "Stable")
        # c stops heartbeating, a keeps its heartbeats up
        while time.monotonic() - start < 5 and a.heartbeat() == NONE:
            time.sleep(0.05)
        waited = time.monotonic() - start
        self.assertEqual(a.heartbeat(), REBALANCE_IN_PROGRESS)
        self.assertGreaterEqual(waited, 0.4)
        self.assertLess(waited, 4)
        g = describe_one(self.client, "hs")
        self.assertEqual((g["state"], [m["member_id"] for m in g["members"]]),
                         ("PreparingRebalance", [a.member_id]))
        self.assertEqual(c.heartbeat(), UNKNOWN_MEMBER_ID)
        ja = a.join()
        self.assertEqual((ja["error"], ja["generation"]), (NONE, 3))
        self.assertEqual([m["member_id"] for m in ja["members"]], [a.member_id])

    def test_the_last_member_timing_out_empties_the_group(self):
        a, = stable_group(self, self.broker, "he", session_ms=400)
        harness.wait_until(lambda: self.state("he") == "Empty", 5, "an Empty group")
        self.assertEqual(describe_one(self.client, "he")["members"], [])
        self.assertEqual(a.heartbeat(), UNKNOWN_MEMBER_ID)


class LeaveGroup(GroupTestCase):
    def test_v0_to_v2_one_member(self):
        for version in (0, 1, 2):
            group = f"lv{version}"
            a, = stable_group(self, self.broker, group)
            self.assertEqual(leave_group(self.client, version, group, [("stranger", None)]),
                             (UNKNOWN_MEMBER_ID, []), f"v{version}")
            self.assertEqual(leave_group(self.client, version, group, [(a.member_id, None)]),
                             (NONE, []), f"v{version}")
            g = describe_one(self.client, group)
            self.assertEqual((g["state"], g["members"], g["protocol"], g["protocol_type"]),
                             ("Empty", [], "", "consumer"))
            self.assertEqual(a.heartbeat(), UNKNOWN_MEMBER_ID)

    def test_v3_plus_batches_with_an_error_per_member(self):
        for version in (3, 4, 5):
            group = f"lb{version}"
            a, b = stable_group(self, self.broker, group, 2)
            got = leave_group(self.client, version, group,
                              [("stranger", None), (b.member_id, None)])
            self.assertEqual(got, (NONE, [("stranger", None, UNKNOWN_MEMBER_ID),
                                          (b.member_id, None, NONE)]), f"v{version}")
            self.assertEqual(a.heartbeat(), REBALANCE_IN_PROGRESS)
            got = leave_group(self.client, version, group, [(a.member_id, None)])
            self.assertEqual(got, (NONE, [(a.member_id, None, NONE)]))
            self.assertEqual(self.state(group), "Empty")

    def test_static_members_leave_by_instance_id(self):
        a, b = stable_group(self, self.broker, "ls", 2, instance_id=None)
        s1 = self.member("ls", instance_id="i1")
        s2 = self.member("ls", instance_id="i2")
        s1.send_join()
        s2.send_join()
        self.wait_members("ls", 4)
        a.send_join()
        b.send_join()
        for m in (a, b, s1, s2):
            self.assertEqual(m.recv_join()["error"], NONE)
        got = leave_group(self.client, 3, "ls", [("", "i1"), ("", "unknown-instance"),
                                                 ("wrong-member", "i2")])
        self.assertEqual(got, (NONE, [("", "i1", NONE),
                                      ("", "unknown-instance", UNKNOWN_MEMBER_ID),
                                      ("wrong-member", "i2", FENCED_INSTANCE_ID)]))
        members = {m["member_id"] for m in describe_one(self.client, "ls")["members"]}
        self.assertEqual(members, {a.member_id, b.member_id, s2.member_id})

    def test_unknown_group_and_empty_group_id(self):
        # GroupCoordinatorService.leaveGroup: an unknown group answers UNKNOWN_MEMBER_ID per
        # member (v0-2: the one member's error at the top)
        self.assertEqual(leave_group(self.client, 1, "nope", [("m", None)]),
                         (UNKNOWN_MEMBER_ID, []))
        self.assertEqual(leave_group(self.client, 5, "nope", [("m", None), ("", "i")]),
                         (NONE, [("m", None, UNKNOWN_MEMBER_ID), ("", "i", UNKNOWN_MEMBER_ID)]))
        self.assertEqual(leave_group(self.client, 0, "", [("m", None)]), (INVALID_GROUP_ID, []))
        self.assertEqual(leave_group(self.client, 4, "", [("m", None)]), (INVALID_GROUP_ID, []))

    def test_the_empty_group_starts_a_new_generation_on_the_next_join(self):
        a, = stable_group(self, self.broker, "ln")
        leave_group(self.client, 3, "ln", [(a.member_id, None)])
        self.assertEqual(self.state("ln"), "Empty")  # generation 2, no members
        b = self.member("ln")
        b.join_with_id()
        self.assertEqual(b.recv_join()["generation"], 3)


class StaticMembership(GroupTestCase):
    TOPICS = (("t", 1),)

    def test_rejoin_while_stable_replaces_the_member_without_a_rebalance(self):
        a, b = stable_group(self, self.broker, "st", 2, assignments={0: b"A", 1: b"B"},
                            instance_id=None)
        s = self.member("st", instance_id="inst")
        s.send_join()  # a static member: no MEMBER_ID_REQUIRED
        self.wait_members("st", 3)
        a.send_join()
        b.send_join()
        for m in (a, b, s):
            self.assertEqual(m.recv_join()["error"], NONE)
        self.assertRegex(s.member_id, r"^inst-[0-9a-f-]{36}$")
        a.sync([(a.member_id, b"A"), (b.member_id, b"B"), (s.member_id, b"S")])
        b.sync()
        s.sync()
        for m in (a, b, s):
            self.assertEqual(m.recv_sync()["error"], NONE)
        generation = s.generation

        again = self.member("st", instance_id="inst")
        j = again.join()  # empty member id, same instance id, same protocols, group Stable
        self.assertEqual((j["error"], j["generation"], j["leader"], j["members"]),
                         (NONE, generation, a.member_id, []))
        self.assertNotEqual(again.member_id, s.member_id)
        self.assertRegex(again.member_id, r"^inst-")
        self.assertEqual(self.state("st"), "Stable")
        for m in (a, b, again):
            self.assertEqual(m.heartbeat(), NONE)  # no REBALANCE_IN_PROGRESS
        again.sync()
        self.assertEqual(again.recv_sync()["assignment"], b"S")  # the replaced member's
        # the old member id is fenced wherever it shows up with its instance id
        self.assertEqual(s.heartbeat(version=3), FENCED_INSTANCE_ID)
        s.sync()
        self.assertEqual(s.recv_sync()["error"], FENCED_INSTANCE_ID)
        self.assertEqual(s.join()["error"], FENCED_INSTANCE_ID)
        self.assertEqual(offset_commit(self.client, 8, "st", [("t", [(0, 1)])], generation,
                                       s.member_id, "inst"), {("t", 0): FENCED_INSTANCE_ID})
        members = {m["member_id"]: m["instance_id"]
                   for m in describe_one(self.client, "st")["members"]}
        self.assertEqual(members, {a.member_id: None, b.member_id: None,
                                   again.member_id: "inst"})

    def test_the_static_leader_rejoining_skips_the_assignment(self):
        a = self.member("sl", instance_id="lead")
        j = a.join()
        self.assertEqual(j["error"], NONE)
        a.sync([(a.member_id, b"L")])
        self.assertEqual(a.recv_sync()["error"], NONE)
        again = self.member("sl", instance_id="lead")
        j = again.join()
        # KIP-814: the new leader gets the member list and skip_assignment (v9)
        self.assertEqual((j["error"], j["generation"], j["leader"], j["skip_assignment"]),
                         (NONE, 1, again.member_id, True))
        self.assertEqual([(m["member_id"], m["instance_id"]) for m in j["members"]],
                         [(again.member_id, "lead")])
        self.assertEqual(self.state("sl"), "Stable")



class OffsetCommit(GroupTestCase):
    TOPICS = (("t", 2), ("u", 1))

    def test_simple_commits_at_every_version(self):
        tid = topic_id(self.broker, "t")
        for version in range(2, 11):
            group, key = f"sc{version}", tid if version >= 10 else "t"
            got = offset_commit(self.client, version, group,
                                [(key, [(0, 100 + version, 7, f"m{version}")])])
            self.assertEqual(got, {(key, 0): NONE}, f"v{version}")
            self.assertEqual(fetched(self.client, group, "t", 0),
                             (100 + version, 7 if version >= 6 else -1, f"m{version}", NONE))
            # a simple group: created Empty, without protocol type
            g = describe_one(self.client, group)
            self.assertEqual((g["error"], g["state"], g["protocol_type"], g["members"]),
                             (NONE, "Empty", "", []))

    def test_unknown_topics_and_partitions(self):
        for version in range(2, 10):
            got = offset_commit(self.client, version, "uk",
                                [("nope", [(0, 1)]), ("t", [(0, 1), (2, 1), (-1, 1)])])
            self.assertEqual(got, {("nope", 0): UNKNOWN_TOPIC_OR_PARTITION, ("t", 0): NONE,
                                   ("t", 2): UNKNOWN_TOPIC_OR_PARTITION,
                                   ("t", -1): UNKNOWN_TOPIC_OR_PARTITION}, f"v{version}")
        tid, unknown = topic_id(self.broker, "t"), bytes(range(1, 17))
        got = offset_commit(self.client, 10, "uk", [(unknown, [(0, 1)]), (tid, [(1, 9), (5, 1)])])
        self.assertEqual(got, {(unknown, 0): UNKNOWN_TOPIC_ID, (tid, 1): NONE,
                               (tid, 5): UNKNOWN_TOPIC_OR_PARTITION})
        self.assertEqual(fetched(self.client, "uk", "t", 1)[0], 9)

    def test_metadata_beyond_offset_metadata_max_bytes(self):
        for version in (2, 9):
            group = f"md{version}"
            got = offset_commit(self.client, version, group,
                                [("t", [(0, 1, -1, "x" * 4097), (1, 2, -1, "y" * 4096)])])
            self.assertEqual(got, {("t", 0): OFFSET_METADATA_TOO_LARGE, ("t", 1): NONE})
            self.assertEqual(fetched(self.client, group, "t", 0), (-1, -1, "", NONE))
            self.assertEqual(fetched(self.client, group, "t", 1), (2, -1, "y" * 4096, NONE))
        # null metadata is stored as ""
        self.assertEqual(offset_commit(self.client, 8, "md-null", [("t", [(0, 3, -1, None)])]),
                         {("t", 0): NONE})
        self.assertEqual(fetched(self.client, "md-null", "t", 0), (3, -1, "", NONE))

    def test_members_of_a_group(self):
        a, = stable_group(self, self.broker, "mc")
        for version in (2, 5, 8, 9, 10):
            key = topic_id(self.broker, "t") if version >= 10 else "t"
            commit = lambda generation, member: offset_commit(  # noqa: E731
                self.client, version, "mc", [(key, [(0, version)])], generation, member)
            self.assertEqual(commit(5, a.member_id), {(key, 0): ILLEGAL_GENERATION})
            self.assertEqual(commit(1, "stranger"), {(key, 0): UNKNOWN_MEMBER_ID})
            # generation -1 and no member id: a simple commit, refused while the group has members
            self.assertEqual(commit(-1, ""), {(key, 0): UNKNOWN_MEMBER_ID})
            self.assertEqual(commit(1, a.member_id), {(key, 0): NONE}, f"v{version}")
            self.assertEqual(fetched(self.client, "mc", "t", 0)[0], version)

    def test_a_commit_between_join_and_sync_is_rebalance_in_progress(self):
        a = self.member("cr")
        a.join_with_id()
        a.recv_join()
        got = offset_commit(self.client, 8, "cr", [("t", [(0, 1)])], a.generation, a.member_id)
        self.assertEqual(got, {("t", 0): REBALANCE_IN_PROGRESS})

    def test_a_generation_for_a_group_that_does_not_exist(self):
        # OffsetMetadataManager.validateOffsetCommit: GROUP_ID_NOT_FOUND from v9, before it
        # ILLEGAL_GENERATION
        for version, error in ((2, ILLEGAL_GENERATION), (8, ILLEGAL_GENERATION),
                               (9, GROUP_ID_NOT_FOUND)):
            got = offset_commit(self.client, version, "ghost", [("t", [(0, 1)])], 1, "m")
            self.assertEqual(got, {("t", 0): error}, f"v{version}")
        self.assertEqual(describe_one(self.client, "ghost")["state"], "Dead")

    def test_unknown_topics_are_answered_before_the_group_is_checked(self):
        # KafkaApis.handleOffsetCommitRequest answers unknown topics and partitions itself and
        # hands only the others to the coordinator, whose group error covers those alone
        a, = stable_group(self, self.broker, "ut")
        with self.subTest("mixed"):
            got = offset_commit(self.client, 8, "ut", [("t", [(0, 1), (9, 1)]),
                                                       ("nope", [(0, 1)])], 7, a.member_id)
            self.assertEqual(got, {("t", 0): ILLEGAL_GENERATION,
                                   ("t", 9): UNKNOWN_TOPIC_OR_PARTITION,
                                   ("nope", 0): UNKNOWN_TOPIC_OR_PARTITION})
        with self.subTest("only unknown topics: the coordinator is not asked"):
            got = offset_commit(self.client, 8, "ut", [("nope", [(0, 1)])], 7, a.member_id)
            self.assertEqual(got, {("nope", 0): UNKNOWN_TOPIC_OR_PARTITION})

    def test_the_empty_group_id_is_a_group_for_offsets_describe_and_delete(self):
        # GroupCoordinatorService: "For backwards compatibility, we support offset commits
        # (fetches, DescribeGroups, DeleteGroups) for the empty group id": only a null id is
        # INVALID_GROUP_ID there. OffsetDelete, JoinGroup, SyncGroup, Heartbeat and LeaveGroup
        # refuse "" (isGroupIdNotEmpty).
        with self.subTest("OffsetFetch v7, no group yet"):
            g = offset_fetch(self.client, 7, [("", [("t", [0])])])[""]
            self.assertEqual((g["error"], g["offsets"]), (NONE, {("t", 0): (-1, -1, "", NONE)}))
        with self.subTest("OffsetFetch v8, no group yet"):
            g = offset_fetch(self.client, 8, [("", None)])[""]
            self.assertEqual((g["error"], g["offsets"]), (NONE, {}))
        with self.subTest("DescribeGroups v5, no group yet"):
            g = describe_one(self.client, "", 5)
            self.assertEqual((g["error"], g["state"]), (NONE, "Dead"))
        with self.subTest("DescribeGroups v6, no group yet"):
            g = describe_one(self.client, "", 6)
            self.assertEqual((g["error"], g["state"]), (GROUP_ID_NOT_FOUND, "Dead"))
        with self.subTest("DeleteGroups, no group yet"):
            self.assertEqual(delete_groups(self.client, [""]), {"": GROUP_ID_NOT_FOUND})
        with self.subTest("OffsetDelete refuses it"):
            self.assertEqual(offset_delete(self.client, "", [("t", [0])]), (INVALID_GROUP_ID, {}))
        with self.subTest("a simple commit creates the group"):
            self.assertEqual(offset_commit(self.client, 8, "", [("t", [(0, 11)])]),
                             {("t", 0): NONE})
            self.assertEqual(fetched(self.client, "", "t", 0), (11, -1, "", NONE))
            self.assertEqual(describe_one(self.client, "")["state"], "Empty")
            self.assertEqual(delete_groups(self.client, [""]), {"": NONE})
            self.assertEqual(fetched(self.client, "", "t", 0), (-1, -1, "", NONE))


class OffsetCommitRestart(harness.BrokerTestCase):
    def test_commits_survive_a_restart(self):
        self.broker = self.start_broker(FAST)
        harness.create_topic(self.broker, "t", 2)
        coordinator_ready(self.broker)
        self.client = Client(self.broker)
        self.addCleanup(lambda: self.client.close())
        a, = stable_group(self, self.broker, "rs")
        got = offset_commit(self.client, 8, "rs", [("t", [(0, 42, 3, "meta")])], a.generation,
                            a.member_id)
        self.assertEqual(got, {("t", 0): NONE})
        self.assertEqual(offset_commit(self.client, 3, "simple", [("t", [(1, 7)])]),
                         {("t", 1): NONE})
        self.broker.restart()
        coordinator_ready(self.broker)
        self.client.close()
        self.client = Client(self.broker)
        self.assertEqual(fetched(self.client, "rs", "t", 0), (42, 3, "meta", NONE))
        self.assertEqual(fetched(self.client, "simple", "t", 1), (7, -1, "", NONE))
        # the group itself is loaded back from its GroupMetadata record
        g = describe_one(self.client, "rs")
        self.assertEqual((g["state"], g["protocol"], [m["member_id"] for m in g["members"]]),
                         ("Stable", "range", [a.member_id]))
        self.assertEqual(describe_one(self.client, "simple")["state"], "Empty")


class OffsetCommitCrash(harness.BrokerTestCase):
    def test_acknowledged_commits_survive_kill_9(self):
        """An OffsetCommit is answered once its records are committed (durable with the default
        flush policy), so a SIGKILL right after the answers loses none of them."""
        self.broker = self.start_broker(FAST)
        harness.create_topic(self.broker, "t", 4)
        coordinator_ready(self.broker)
        client = Client(self.broker)
        groups = [f"crash-{i}" for i in range(8)]
        for round_ in range(25):
            for g in groups:
                got = offset_commit(client, 8, g, [("t", [(p, round_ * 10 + p, -1, f"r{round_}")
                                                         for p in range(4)])])
                self.assertEqual(set(got.values()), {NONE})
        client.close()
        self.broker.crash_restart()
        coordinator_ready(self.broker)
        client = Client(self.broker)
        self.addCleanup(client.close)
        for g in groups:
            for p in range(4):
                self.assertEqual(fetched(client, g, "t", p), (240 + p, -1, "r24", NONE), g)


class OffsetFetch(GroupTestCase):
    TOPICS = (("t", 2), ("u", 1))

    def setUp(self):
        super().setUp()
        got = offset_commit(self.client, 9, "of", [("t", [(0, 10, 4, "m0"), (1, 11)]),
                                                   ("u", [(0, 12, 5, None)])])
        self.assertEqual(set(got.values()), {NONE})
        self.assertEqual(offset_commit(self.client, 9, "other", [("u", [(0, 99)])]),
                         {("u", 0): NONE})

    def test_single_group_versions(self):
        for version in range(1, 8):
            got = offset_fetch(self.client, version, [("of", [("t", [0, 1, 5]), ("nope", [0])])])
            g = got["of"]
            epoch = (lambda e: e if version >= 5 else None)
            self.assertEqual(g["error"], None if version < 2 else NONE)
            self.assertEqual(g["order"], [("t", 0), ("t", 1), ("t", 5), ("nope", 0)])
            self.assertEqual(g["offsets"], {("t", 0): (10, epoch(4), "m0", NONE),
                                            ("t", 1): (11, epoch(-1), "", NONE),
                                            ("t", 5): (-1, epoch(-1), "", NONE),
                                            ("nope", 0): (-1, epoch(-1), "", NONE)},
                             f"v{version}")
        # a group that does not exist has no offsets (not an error)
        got = offset_fetch(self.client, 7, [("nope", [("t", [0])])], require_stable=True)
        self.assertEqual(got["nope"]["offsets"], {("t", 0): (-1, -1, "", NONE)})

    def test_null_topics_fetch_every_committed_partition_from_v2(self):
        for version in range(2, 8):
            g = offset_fetch(self.client, version, [("of", None)])["of"]
            epoch = (lambda e: e if version >= 5 else None)
            self.assertEqual((g["error"], g["offsets"]),
                             (NONE, {("t", 0): (10, epoch(4), "m0", NONE),
                                     ("t", 1): (11, epoch(-1), "", NONE),
                                     ("u", 0): (12, epoch(5), "", NONE)}), f"v{version}")
        self.assertEqual(offset_fetch(self.client, 7, [("nope", None)])["nope"]["offsets"], {})

    def test_v8_plus_several_groups(self):
        for version in (8, 9):
            got = offset_fetch(self.client, version, [("of", [("t", [0])]), ("other", None),
                                                      ("nope", [("t", [1])])])
            self.assertEqual(list(got), ["of", "other", "nope"])
            self.assertEqual({g: (v["error"], v["offsets"]) for g, v in got.items()},
                             {"of": (NONE, {("t", 0): (10, 4, "m0", NONE)}),
                              "other": (NONE, {("u", 0): (99, -1, "", NONE)}),
                              "nope": (NONE, {("t", 1): (-1, -1, "", NONE)})}, f"v{version}")

    def test_v10_names_topics_by_id(self):
        tid, uid, unknown = (topic_id(self.broker, "t"), topic_id(self.broker, "u"),
                             bytes(range(1, 17)))
        got = offset_fetch(self.client, 10, [("of", [(tid, [0, 1]), (unknown, [0])]),
                                             ("other", None)])
        self.assertEqual(got["of"]["offsets"], {(tid, 0): (10, 4, "m0", NONE),
                                                (tid, 1): (11, -1, "", NONE),
                                                (unknown, 0): (-1, -1, "", UNKNOWN_TOPIC_ID)})
        self.assertEqual(got["other"]["offsets"], {(uid, 0): (99, -1, "", NONE)})

    def test_leader_epoch_and_metadata_round_trip(self):
        for version in range(6, 11):
            key = topic_id(self.broker, "t") if version >= 10 else "t"
            meta = f"métadonnée {version}"
            got = offset_commit(self.client, version, "rt", [(key, [(1, 1000 + version,
                                                                     20 + version, meta)])])
            self.assertEqual(got, {(key, 1): NONE})
            for fetch_version in (5, 7, 9):
                self.assertEqual(offset_fetch(self.client, fetch_version,
                                              [("rt", [("t", [1])])])["rt"]["offsets"],
                                 {("t", 1): (1000 + version, 20 + version, meta, NONE)})


class OffsetRetention(GroupTestCase):
    """OffsetCommit v2-4 retention_time_ms: an explicit expire timestamp; the expiry check
    (offsets.retention.check.interval.ms) removes the offset and writes its tombstone."""

    OVERRIDES = FAST + ["offsets.retention.check.interval.ms=200"]
    TOPICS = (("t", 2),)

    def test_offsets_with_a_retention_expire(self):
        start = time.monotonic()
        for version in (2, 3, 4):
            got = offset_commit(self.client, version, f"r{version}", [("t", [(0, 5), (1, 6)])],
                                retention_ms=300)
            self.assertEqual(got, {("t", 0): NONE, ("t", 1): NONE})
        self.assertEqual(offset_commit(self.client, 2, "keep", [("t", [(0, 7)])]),
                         {("t", 0): NONE})
        self.assertEqual(offset_commit(self.client, 8, "keep8", [("t", [(0, 8)])]),
                         {("t", 0): NONE})

        def all_gone():
            return all(offset_fetch(self.client, 5, [(f"r{v}", [("t", [0, 1])])])[f"r{v}"]
                       ["offsets"] == {("t", 0): (-1, -1, "", NONE), ("t", 1): (-1, -1, "", NONE)}
                       for v in (2, 3, 4))
        harness.wait_until(all_gone, 5, "expired offsets")
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        self.assertEqual(fetched(self.client, "keep", "t", 0)[0], 7)
        self.assertEqual(fetched(self.client, "keep8", "t", 0)[0], 8)
        # each expired offset has its tombstone; the simple group, left without offsets, goes
        records = coordinator_records(self.client, "r2")
        self.assertEqual({k for kind, k, v in records if kind == "offset" and v is None},
                         {("r2", "t", 0), ("r2", "t", 1)})
        self.assertEqual(describe_one(self.client, "r2")["state"], "Dead")


class DescribeGroups(GroupTestCase):
    TOPICS = (("t", 1),)

    def test_states_members_and_protocols(self):
        a, = stable_group(self, self.broker, "ds")
        for version in range(0, 7):
            [g] = describe_groups(self.client, ["ds"], version)
            self.assertEqual((g["error"], g["group_id"], g["state"], g["protocol_type"],
                              g["protocol"]), (NONE, "ds", "Stable", "consumer", "range"))
            self.assertEqual(g["members"], [{"member_id": a.member_id, "instance_id": None,
                                             "client_id": "wire-test",
                                             "client_host": "/127.0.0.1",
                                             "metadata": b"\x00\x01", "assignment": b"a0"}])
        b = self.member("ds")
        b.join_with_id()
        self.wait_members("ds", 2)
        g = describe_one(self.client, "ds")
        # not Stable: no protocol and no member metadata or assignment
        self.assertEqual((g["state"], g["protocol"]), ("PreparingRebalance", ""))
        self.assertEqual({(m["member_id"], m["metadata"], m["assignment"]) for m in g["members"]},
                         {(a.member_id, b"", b""), (b.member_id, b"", b"")})
        a.send_join()
        a.recv_join(), b.recv_join()
        g = describe_one(self.client, "ds")
        self.assertEqual((g["state"], g["protocol"]), ("CompletingRebalance", ""))
        offset_commit(self.client, 8, "simple", [("t", [(0, 1)])])
        got = describe_groups(self.client, ["simple", "ds", "nope"], 5)
        self.assertEqual([(g["group_id"], g["error"], g["state"], g["protocol_type"])
                          for g in got],
                         [("simple", NONE, "Empty", ""), ("ds", NONE, "CompletingRebalance",
                                                          "consumer"),
                          ("nope", NONE, "Dead", "")])

    def test_a_group_that_does_not_exist(self):
        # v6 (KIP-1043): GROUP_ID_NOT_FOUND with a message; before: NONE and state Dead
        [g] = describe_groups(self.client, ["nope"], 6)
        self.assertEqual(g, {"error": GROUP_ID_NOT_FOUND, "message": "Group nope not found.",
                             "group_id": "nope", "state": "Dead", "protocol_type": "",
                             "protocol": "", "members": [],
                             "authorized_operations": -2147483648})
        for version in (0, 3, 5):
            [g] = describe_groups(self.client, ["nope"], version)
            self.assertEqual((g["error"], g["message"], g["state"], g["protocol_type"],
                              g["protocol"], g["members"]),
                             (NONE, None, "Dead", "", "", []), f"v{version}")

    def test_authorized_operations(self):
        stable_group(self, self.broker, "ao")
        # without an authorizer: every group operation (READ, DELETE, DESCRIBE,
        # DESCRIBE_CONFIGS, ALTER_CONFIGS)
        ops = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11)
        for version in (3, 5, 6):
            [g] = describe_groups(self.client, ["ao"], version, include_ops=True)
            self.assertEqual(g["authorized_operations"], ops, f"v{version}")
            [g] = describe_groups(self.client, ["ao"], version, include_ops=False)
            self.assertEqual(g["authorized_operations"], -2147483648)
        [g] = describe_groups(self.client, ["nope"], 5, include_ops=True)  # NONE, Dead
        self.assertEqual(g["authorized_operations"], ops)

    def test_v6_a_group_not_found_has_no_authorized_operations(self):
        # KafkaApis.handleDescribeGroupsRequest sets authorized operations only on results whose
        # error is NONE
        [g] = describe_groups(self.client, ["nope"], 6, include_ops=True)
        self.assertEqual((g["error"], g["authorized_operations"]),
                         (GROUP_ID_NOT_FOUND, -2147483648))

    def test_the_instance_id_from_v4(self):
        a = self.member("di", instance_id="inst-a")
        a.join()
        a.sync([(a.member_id, b"x")])
        a.recv_sync()
        for version, instance in ((3, None), (4, "inst-a"), (6, "inst-a")):
            [g] = describe_groups(self.client, ["di"], version)
            self.assertEqual([(m["member_id"], m["instance_id"]) for m in g["members"]],
                             [(a.member_id, instance)], f"v{version}")


class ListGroups(GroupTestCase):
    TOPICS = (("t", 1),)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # the members stay for the whole class (a long rebalance timeout keeps l-prep preparing)
        cls.setup = setup = cls("test_every_version_lists_the_groups")
        setup.client = Client(cls.broker)
        try:
            stable_group(setup, cls.broker, "l-stable")
            offset_commit(setup.client, 8, "l-empty", [("t", [(0, 1)])])
            stable_group(setup, cls.broker, "l-prep", protocol_type="connect",
                         rebalance_ms=60000)
            joiner = Member(cls.broker, "l-prep", protocol_type="connect", rebalance_ms=60000)
            setup.addCleanup(joiner.close)
            joiner.join_with_id()
            harness.wait_until(lambda: setup.state("l-prep") == "PreparingRebalance", 5)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.setup.doCleanups()
        cls.setup.client.close()
        super().tearDownClass()

    def listed(self, version=5, **kw):
        error, groups = list_groups(self.client, version, **kw)
        self.assertEqual(error, NONE)
        return {g["group_id"]: g for g in groups}

    def test_every_version_lists_the_groups(self):
        for version in range(0, 6):
            got = self.listed(version)
            self.assertEqual({g: v["protocol_type"] for g, v in got.items()},
                             {"l-stable": "consumer", "l-empty": "", "l-prep": "connect"},
                             f"v{version}")
            if version >= 4:
                self.assertEqual({g: v["state"] for g, v in got.items()},
                                 {"l-stable": "Stable", "l-empty": "Empty",
                                  "l-prep": "PreparingRebalance"})

    def test_v4_states_filter_is_case_insensitive(self):
        self.assertEqual(set(self.listed(4, states=["stable"])), {"l-stable"})
        self.assertEqual(set(self.listed(4, states=["EMPTY", "PreparingRebalance"])),
                         {"l-empty", "l-prep"})
        self.assertEqual(set(self.listed(5, states=["Dead"])), set())
        self.assertEqual(set(self.listed(4, states=[])), {"l-stable", "l-empty", "l-prep"})

    def test_v5_types_filter(self):
        for types in (["classic"], ["Classic"], ["consumer", "classic"]):
            self.assertEqual(set(self.listed(5, types=types)),
                             {"l-stable", "l-empty", "l-prep"}, types)
        self.assertEqual(set(self.listed(5, types=["consumer"])), set())
        self.assertEqual(set(self.listed(5, states=["stable"], types=["classic"])),
                         {"l-stable"})

    def test_v5_answers_name_the_group_type_classic(self):
        # ClassicGroup.asListedGroup: setGroupType(type().toString()), Group.GroupType.CLASSIC's
        # name is "classic"
        self.assertEqual({v["type"] for v in self.listed(5).values()}, {"classic"})


class DeleteGroups(GroupTestCase):
    TOPICS = (("t", 2),)

    def test_only_empty_groups_are_deleted(self):
        for version in (0, 1, 2):
            stable = f"busy{version}"
            a, = stable_group(self, self.broker, stable)
            emptied = f"emptied{version}"
            b, = stable_group(self, self.broker, emptied)
            self.assertEqual(offset_commit(self.client, 8, emptied, [("t", [(0, 5), (1, 6)])],
                                           b.generation, b.member_id),
                             {("t", 0): NONE, ("t", 1): NONE})
            leave_group(self.client, 3, emptied, [(b.member_id, None)])
            got = delete_groups(self.client, [stable, "nope", emptied], version)
            self.assertEqual(got, {stable: NON_EMPTY_GROUP, "nope": GROUP_ID_NOT_FOUND,
                                   emptied: NONE}, f"v{version}")
            self.assertEqual(self.state(stable), "Stable")
            self.assertEqual(self.state(emptied), "Dead")
            g = offset_fetch(self.client, 7, [(emptied, [("t", [0, 1])])])[emptied]
            self.assertEqual(g["offsets"], {("t", 0): (-1, -1, "", NONE),
                                            ("t", 1): (-1, -1, "", NONE)})
            self.assertNotIn(emptied, {g["group_id"] for g in list_groups(self.client)[1]})
            self.assertEqual(delete_groups(self.client, [emptied], version),
                             {emptied: GROUP_ID_NOT_FOUND})

    def test_a_group_named_twice_is_answered_once(self):
        # KafkaApis.handleDeleteGroupsRequest: groupsNames.asScala.distinct
        got = delete_groups_results(self.client, ["nope", "nope", "other"])
        self.assertEqual(sorted(got), [("nope", GROUP_ID_NOT_FOUND), ("other", GROUP_ID_NOT_FOUND)])

    def test_a_simple_group_is_deleted_with_its_offsets(self):
        offset_commit(self.client, 8, "simple", [("t", [(0, 5)])])
        self.assertEqual(delete_groups(self.client, ["simple"]), {"simple": NONE})
        self.assertEqual(fetched(self.client, "simple", "t", 0), (-1, -1, "", NONE))
        self.assertEqual(describe_one(self.client, "simple", 6)["error"], GROUP_ID_NOT_FOUND)


class OffsetDelete(GroupTestCase):
    TOPICS = (("t", 2), ("u", 1))

    def consumer_group(self, group, topics):
        a, = stable_group(self, self.broker, group,
                          protocols=(("range", consumer_subscription(topics)),))
        got = offset_commit(self.client, 8, group, [("t", [(0, 5), (1, 6)]), ("u", [(0, 7)])],
                            a.generation, a.member_id)
        self.assertEqual(set(got.values()), {NONE})
        return a

    def test_subscribed_topics_are_refused_while_the_group_has_members(self):
        self.consumer_group("od", ["t"])
        got = offset_delete(self.client, "od", [("t", [0, 1]), ("u", [0]), ("nope", [0])])
        self.assertEqual(got, (NONE, {("t", 0): GROUP_SUBSCRIBED_TO_TOPIC,
                                      ("t", 1): GROUP_SUBSCRIBED_TO_TOPIC, ("u", 0): NONE,
                                      ("nope", 0): UNKNOWN_TOPIC_OR_PARTITION}))
        self.assertEqual(fetched(self.client, "od", "u", 0), (-1, -1, "", NONE))
        self.assertEqual(fetched(self.client, "od", "t", 0)[0], 5)

    def test_an_empty_group_loses_the_offsets(self):
        a = self.consumer_group("oe", ["t"])
        leave_group(self.client, 3, "oe", [(a.member_id, None)])
        self.assertEqual(self.state("oe"), "Empty")
        # a partition without an offset is answered NONE too ("We always add the partition")
        got = offset_delete(self.client, "oe", [("t", [0]), ("u", [0])])
        self.assertEqual(got, (NONE, {("t", 0): NONE, ("u", 0): NONE}))
        self.assertEqual(fetched(self.client, "oe", "t", 1)[0], 6)
        got = offset_delete(self.client, "oe", [("t", [1])])
        self.assertEqual(got, (NONE, {("t", 1): NONE}))
        g = offset_fetch(self.client, 7, [("oe", None)])["oe"]
        self.assertEqual(g["offsets"], {})
        got = offset_delete(self.client, "oe", [("t", [0])])  # nothing left to delete
        self.assertEqual(got, (NONE, {("t", 0): NONE}))

    def test_partitions_beyond_the_topic_are_unknown(self):
        # KafkaApis.handleOffsetDeleteRequest answers a partition without a leader in the
        # metadata UNKNOWN_TOPIC_OR_PARTITION itself, before the coordinator's subscription check
        self.consumer_group("op", ["t"])
        got = offset_delete(self.client, "op", [("t", [0, 9]), ("u", [5, -1])])
        self.assertEqual(got, (NONE, {("t", 0): GROUP_SUBSCRIBED_TO_TOPIC,
                                      ("t", 9): UNKNOWN_TOPIC_OR_PARTITION,
                                      ("u", 5): UNKNOWN_TOPIC_OR_PARTITION,
                                      ("u", -1): UNKNOWN_TOPIC_OR_PARTITION}))

    def test_group_errors(self):
        self.assertEqual(offset_delete(self.client, "nope", [("t", [0]), ("nope", [0])]),
                         (GROUP_ID_NOT_FOUND, {}))
        self.assertEqual(offset_delete(self.client, "", [("t", [0])]), (INVALID_GROUP_ID, {}))
        stable_group(self, self.broker, "connect", protocol_type="connect")
        self.assertEqual(offset_delete(self.client, "connect", [("t", [0])]),
                         (NON_EMPTY_GROUP, {}))

    def test_unparsable_subscriptions_protect_every_topic(self):
        # ClassicGroup.computeSubscribedTopics cannot parse b"\x00\x01": the subscribed topics
        # are unknown and isSubscribedToTopic answers usesConsumerGroupProtocol() (true)
        stable_group(self, self.broker, "bad")
        got = offset_delete(self.client, "bad", [("t", [0]), ("u", [0])])
        self.assertEqual(got, (NONE, {("t", 0): GROUP_SUBSCRIBED_TO_TOPIC,
                                      ("u", 0): GROUP_SUBSCRIBED_TO_TOPIC}))


class CoordinatorRecords(GroupTestCase):
    """What __consumer_offsets holds, read with Fetch: Kafka's record formats (OffsetCommitKey v1
    + OffsetCommitValue v3, or v1 with an expire timestamp; GroupMetadataKey v2 +
    GroupMetadataValue v3; tombstones with null values)."""

    TOPICS = (("t", 2),)

    def test_a_groups_life_in_the_log(self):
        before = harness.now_ms()
        subscription = consumer_subscription(["t"])
        assignment = consumer_assignment([("t", [0, 1])])
        a, = stable_group(self, self.broker, "life", protocols=(("range", subscription),),
                          assignments={0: assignment})
        self.assertEqual(offset_commit(self.client, 8, "life", [("t", [(0, 5, 3, "meta")])],
                                       a.generation, a.member_id), {("t", 0): NONE})
        self.assertEqual(offset_commit(self.client, 2, "life", [("t", [(1, 6)])], a.generation,
                                       a.member_id, retention_ms=100000), {("t", 1): NONE})
        leave_group(self.client, 3, "life", [(a.member_id, None)])
        self.assertEqual(delete_groups(self.client, ["life"]), {"life": NONE})
        after = harness.now_ms()

        records = coordinator_records(self.client, "life")
        kinds = [(kind, v is None) for kind, _, v in records]
        self.assertEqual(kinds, [("group", False), ("offset", False), ("offset", False),
                                 ("group", False), ("offset", True), ("offset", True),
                                 ("group", True)])
        _, _, stable = records[0]
        self.assertEqual({k: v for k, v in stable.items() if k not in ("state_timestamp",)},
                         {"version": 3, "protocol_type": "consumer", "generation": 1,
                          "protocol": "range", "leader": a.member_id,
                          "members": [{"member_id": a.member_id, "instance_id": None,
                                       "client_id": "wire-test", "client_host": "/127.0.0.1",
                                       "rebalance_timeout": REBALANCE_MS,
                                       "session_timeout": SESSION_MS,
                                       "subscription": subscription,
                                       "assignment": assignment}]})
        self.assertTrue(before <= stable["state_timestamp"] <= after, stable)
        _, key, commit = records[1]
        self.assertEqual(key, ("life", "t", 0))
        self.assertEqual((commit["version"], commit["offset"], commit["leader_epoch"],
                          commit["metadata"]), (3, 5, 3, "meta"))
        self.assertTrue(before <= commit["commit_timestamp"] <= after, commit)
        _, key, retained = records[2]
        self.assertEqual(key, ("life", "t", 1))
        self.assertEqual((retained["version"], retained["offset"], retained["metadata"]),
                         (1, 6, ""))
        self.assertEqual(retained["expire_timestamp"] - retained["commit_timestamp"], 100000)
        _, _, empty = records[3]
        self.assertEqual({k: v for k, v in empty.items() if k != "state_timestamp"},
                         {"version": 3, "protocol_type": "consumer", "generation": 2,
                          "protocol": None, "leader": None, "members": []})
        self.assertEqual({key for _, key, _ in records[4:6]}, {("life", "t", 0), ("life", "t", 1)})
        self.assertEqual(records[6][1], "life")


if __name__ == "__main__":
    harness.main()
