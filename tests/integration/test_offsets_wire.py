"""Committed offsets in raw frames against the real broker, as Apache Kafka 4.3 answers them
(KafkaApis, OffsetMetadataManager): OffsetCommit, OffsetFetch and OffsetDelete at their version
boundaries, retention and expiry, commits across a restart and a kill -9, and the records they
leave in __consumer_offsets. Frames come from group_frames.py."""

import time

import harness
from group_frames import *  # noqa: F401,F403 (the frames, codes and GroupTestCase)


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
        # each expired offset has its tombstone; the simple group, left without offsets, goes.
        # The offsets leave the cache when the tombstones are appended; a reader sees those once
        # they are durable (the high watermark), a flush later.
        def tombstones():
            records = coordinator_records(self.client, "r2")
            return {k for kind, k, v in records if kind == "offset" and v is None}
        harness.wait_until(lambda: tombstones() == {("r2", "t", 0), ("r2", "t", 1)}, 5,
                           "the tombstones of r2's expired offsets")
        self.assertEqual(describe_one(self.client, "r2")["state"], "Dead")


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
