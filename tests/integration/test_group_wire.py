"""The classic group membership APIs in raw frames against the real broker, as Apache Kafka 4.3
answers them (KafkaApis, GroupCoordinatorService, GroupMetadataManager): FindCoordinator,
JoinGroup, SyncGroup, Heartbeat, LeaveGroup, static membership, DescribeGroups, ListGroups and
DeleteGroups at their version boundaries. Frames come from group_frames.py."""

import time

import harness
import kafka_frames as kf
import test_admin_wire
from group_frames import *  # noqa: F401,F403 (the frames, codes and GroupTestCase)


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


if __name__ == "__main__":
    harness.main()
