"""Admin APIs that no installed client speaks, with raw frames (kafka_frames.py, independent of
Quire's codec): IncrementalAlterConfigs (librdkafka 2.0.2, confluent-kafka 1.7 and kafka-python
2.0.2 predate it), DescribeConfigs v4 with documentation and key filters, DescribeCluster,
DescribeTopicPartitions with its pagination cursor, ListConfigResources, DescribeLogDirs; and
Metadata's auto-creation of topics and topic ids."""

import time

import kafka_frames as kf
from kafka_frames import (INVALID_CONFIG, INVALID_REQUEST, LEADER_NOT_AVAILABLE, OP_APPEND,
                          OP_DELETE, OP_SET, OP_SUBTRACT, RESOURCE_BROKER, RESOURCE_TOPIC,
                          UNKNOWN_TOPIC_OR_PARTITION, Conn, create_topics)

import harness

NO_AUTO_CREATE = ["auto.create.topics.enable=false"]
INVALID_TOPIC_EXCEPTION, MISMATCHED_ENDPOINT_TYPE, UNSUPPORTED_ENDPOINT_TYPE = 17, 114, 115
# DescribeConfigs ConfigSource and ConfigType values.
DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG = 1, 4, 5
TYPE_BOOLEAN, TYPE_INT, TYPE_LONG, TYPE_LIST, TYPE_PASSWORD = 1, 3, 5, 7, 9


def incremental_alter(broker, resources, validate_only=False, version=1):
    with Conn(broker) as conn:
        payload = conn.call(kf.INCREMENTAL_ALTER_CONFIGS, version,
                            kf.incremental_alter_configs_body(version, resources, validate_only),
                            flexible=version >= 1)
    return kf.parse_alter_configs_response(payload, version >= 1)


def describe_configs(broker, resources, version=4, synonyms=False, documentation=False):
    with Conn(broker) as conn:
        payload = conn.call(kf.DESCRIBE_CONFIGS, version,
                            kf.describe_configs_body(version, resources, synonyms, documentation),
                            flexible=version >= 4)
    return kf.parse_describe_configs(payload, version)


def topic_overrides(broker, topic):
    [res] = describe_configs(broker, [(RESOURCE_TOPIC, topic, None)])
    assert res["error"] == 0, res
    return {n: c["value"] for n, c in res["configs"].items() if c["source"] == DYNAMIC_TOPIC_CONFIG}


class IncrementalAlterConfigs(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)
        self.assertEqual(create_topics(self.broker, [("t", 1, {"retention.ms": "1000",
                                                              "segment.ms": "3600000"})]),
                         {"t": 0})

    def test_set_changes_only_the_named_keys(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_SET, "5000"),
                                                ("max.message.bytes", OP_SET, "4096")])])
        self.assertEqual(got, {(RESOURCE_TOPIC, "t"): (0, None)})
        self.assertEqual(topic_overrides(self.broker, "t"),
                         {"retention.ms": "5000", "segment.ms": "3600000",
                          "max.message.bytes": "4096"})

    def test_delete_reverts_a_key_to_its_default(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_DELETE, None)])])
        self.assertEqual(got, {(RESOURCE_TOPIC, "t"): (0, None)})
        self.assertEqual(topic_overrides(self.broker, "t"), {"segment.ms": "3600000"})
        [res] = describe_configs(self.broker, [(RESOURCE_TOPIC, "t", ["retention.ms"])])
        self.assertEqual(res["configs"]["retention.ms"]["value"], "604800000")
        self.assertEqual(res["configs"]["retention.ms"]["source"], DEFAULT_CONFIG)

    def test_append_and_subtract_edit_list_values(self):
        # APPEND starts from the default ("delete") when the topic has no override.
        self.assertEqual(incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                                          [("cleanup.policy", OP_APPEND,
                                                            "compact")])]),
                         {(RESOURCE_TOPIC, "t"): (0, None)})
        self.assertEqual(topic_overrides(self.broker, "t")["cleanup.policy"], "delete,compact")
        # Appending a value already present changes nothing.
        incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                         [("cleanup.policy", OP_APPEND, "compact")])])
        self.assertEqual(topic_overrides(self.broker, "t")["cleanup.policy"], "delete,compact")
        self.assertEqual(incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                                          [("cleanup.policy", OP_SUBTRACT,
                                                            "delete")])]),
                         {(RESOURCE_TOPIC, "t"): (0, None)})
        self.assertEqual(topic_overrides(self.broker, "t")["cleanup.policy"], "compact")

    def test_append_or_subtract_on_a_non_list_key_is_invalid_config(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_APPEND, "5")])])
        self.assertEqual(got[(RESOURCE_TOPIC, "t")][0], INVALID_CONFIG)
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_SUBTRACT, "5")])])
        self.assertEqual(got[(RESOURCE_TOPIC, "t")][0], INVALID_CONFIG)
        self.assertEqual(topic_overrides(self.broker, "t")["retention.ms"], "1000")

    def test_bad_values_and_unknown_keys_are_invalid_config_and_change_nothing(self):
        for config in (("retention.ms", OP_SET, "soon"), ("no.such.config", OP_SET, "1"),
                       ("cleanup.policy", OP_SET, "sometimes")):
            got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                                   [("segment.ms", OP_SET, "1"), config])])
            error, message = got[(RESOURCE_TOPIC, "t")]
            self.assertEqual(error, INVALID_CONFIG, (config, message))
        self.assertEqual(topic_overrides(self.broker, "t"),
                         {"retention.ms": "1000", "segment.ms": "3600000"})

    def test_validate_only_changes_nothing(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_SET, "9999")])],
                                validate_only=True)
        self.assertEqual(got, {(RESOURCE_TOPIC, "t"): (0, None)})
        self.assertEqual(topic_overrides(self.broker, "t")["retention.ms"], "1000")

    def test_unknown_topic_is_unknown_topic_and_other_resources_still_apply(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "ghost",
                                               [("retention.ms", OP_SET, "1")]),
                                              (RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_SET, "2000")])])
        self.assertEqual(got[(RESOURCE_TOPIC, "ghost")][0], UNKNOWN_TOPIC_OR_PARTITION)
        self.assertEqual(got[(RESOURCE_TOPIC, "t")], (0, None))
        self.assertEqual(topic_overrides(self.broker, "t")["retention.ms"], "2000")

    def test_the_same_key_twice_is_invalid_request(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_SET, "2000"),
                                                ("retention.ms", OP_DELETE, None)])])
        self.assertEqual(got[(RESOURCE_TOPIC, "t")][0], INVALID_REQUEST)
        self.assertEqual(topic_overrides(self.broker, "t")["retention.ms"], "1000")

    def test_version_0_works_like_version_1(self):
        got = incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                               [("retention.ms", OP_SET, "7000")])], version=0)
        self.assertEqual(got, {(RESOURCE_TOPIC, "t"): (0, None)})
        self.assertEqual(topic_overrides(self.broker, "t")["retention.ms"], "7000")

    def test_changes_survive_a_restart(self):
        incremental_alter(self.broker, [(RESOURCE_TOPIC, "t",
                                         [("retention.ms", OP_DELETE, None),
                                          ("cleanup.policy", OP_SET, "compact")])])
        self.broker.restart()
        self.assertEqual(topic_overrides(self.broker, "t"),
                         {"segment.ms": "3600000", "cleanup.policy": "compact"})


class DescribeConfigsV4(harness.BrokerTestCase):
    def test_documentation_types_and_key_filter(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("t", 1, {"retention.ms": "1000"})])
        [res] = describe_configs(broker, [(RESOURCE_TOPIC, "t",
                                           ["retention.ms", "cleanup.policy", "preallocate",
                                            "max.message.bytes"])],
                                 synonyms=True, documentation=True)
        self.assertEqual((res["error"], res["type"], res["name"]), (0, RESOURCE_TOPIC, "t"))
        configs = res["configs"]
        self.assertEqual(sorted(configs), ["cleanup.policy", "max.message.bytes", "preallocate",
                                           "retention.ms"])
        self.assertEqual({n: c["type"] for n, c in configs.items()},
                         {"retention.ms": TYPE_LONG, "cleanup.policy": TYPE_LIST,
                          "preallocate": TYPE_BOOLEAN, "max.message.bytes": TYPE_INT})
        for name, c in configs.items():
            self.assertIsInstance(c["doc"], str, name)
            self.assertTrue(c["doc"], name)
        self.assertEqual(configs["retention.ms"]["synonyms"][0],
                         ("retention.ms", "1000", DYNAMIC_TOPIC_CONFIG))

    def test_without_documentation_docs_are_null(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("t", 1, {})])
        [res] = describe_configs(broker, [(RESOURCE_TOPIC, "t", ["retention.ms"])])
        self.assertIsNone(res["configs"]["retention.ms"]["doc"])
        self.assertEqual(res["configs"]["retention.ms"]["synonyms"], [])

    def test_every_version_describes_topic_and_broker(self):
        broker = self.start_broker(NO_AUTO_CREATE + ["num.partitions=2"])
        create_topics(broker, [("t", 1, {"retention.ms": "1000"})])
        for version in range(1, 5):
            topic, node = describe_configs(broker, [(RESOURCE_TOPIC, "t", None),
                                                    (RESOURCE_BROKER, "1", None)], version)
            self.assertEqual((topic["error"], topic["name"]), (0, "t"), f"v{version}")
            self.assertEqual(topic["configs"]["retention.ms"]["value"], "1000")
            self.assertEqual(topic["configs"]["retention.ms"]["source"], DYNAMIC_TOPIC_CONFIG)
            self.assertEqual((node["error"], node["type"], node["name"]),
                             (0, RESOURCE_BROKER, "1"), f"v{version}")
            self.assertEqual(node["configs"]["num.partitions"]["value"], "2")
            self.assertEqual(node["configs"]["num.partitions"]["source"], STATIC_BROKER_CONFIG)
            password = node["configs"]["ssl.key.password"]
            self.assertEqual((password["value"], password["sensitive"]), (None, True))

    def test_another_brokers_id_is_refused(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        [res] = describe_configs(broker, [(RESOURCE_BROKER, "2", None)])
        # Kafka answers a broker resource naming another node with an error, not with configs.
        self.assertNotEqual(res["error"], 0, res)
        self.assertEqual(res["configs"], {})


class DescribeCluster(harness.BrokerTestCase):
    def test_every_version_describes_the_single_broker(self):
        broker = self.start_broker(["node.id=3"])
        cluster_id = broker.read_meta_properties()["cluster.id"]
        for version in range(0, 3):
            with Conn(broker) as conn:
                out = kf.parse_describe_cluster(
                    conn.call(kf.DESCRIBE_CLUSTER, version, kf.describe_cluster_body(version),
                              flexible=True), version)
            self.assertEqual((out["error"], out["cluster_id"], out["controller_id"]),
                             (0, cluster_id, 3), f"v{version}")
            expected = {"node_id": 3, "host": "127.0.0.1", "port": broker.port, "rack": None}
            if version >= 2:
                expected["fenced"] = False
            self.assertEqual(out["brokers"], [expected], f"v{version}")
            if version >= 1:
                self.assertEqual(out["endpoint_type"], 1)

    def describe(self, broker, version, endpoint_type):
        with Conn(broker) as conn:
            return kf.parse_describe_cluster(
                conn.call(kf.DESCRIBE_CLUSTER, version,
                          kf.describe_cluster_body(version, endpoint_type=endpoint_type),
                          flexible=True), version)

    def test_asking_a_broker_listener_for_controllers_is_a_mismatched_endpoint_type(self):
        # Kafka's AuthHelper.computeDescribeClusterResponse: the broker listener expects
        # BROKER (1); CONTROLLER (2) is MISMATCHED_ENDPOINT_TYPE, with no brokers listed.
        broker = self.start_broker()
        out = self.describe(broker, 1, 2)
        self.assertEqual((out["error"], out["brokers"]), (MISMATCHED_ENDPOINT_TYPE, []))
        self.assertEqual(out["message"], "The request was sent to an endpoint of type BROKER, "
                                         "but we wanted an endpoint of type CONTROLLER")
        # v0 has no endpoint type field: only a v1+ request can ask for controllers.

    def test_version_0_answers_brokers(self):
        broker = self.start_broker()
        out = self.describe(broker, 0, 1)
        self.assertEqual((out["error"], len(out["brokers"])), (0, 1))

    def test_an_unknown_endpoint_type_is_unsupported(self):
        broker = self.start_broker()
        out = self.describe(broker, 1, 9)
        self.assertEqual((out["error"], out["brokers"]), (UNSUPPORTED_ENDPOINT_TYPE, []))
        self.assertEqual(out["message"], "Unsupported endpoint type 9")


class DescribeTopicPartitions(harness.BrokerTestCase):
    def page(self, broker, topics, limit, cursor=None):
        with Conn(broker) as conn:
            return kf.parse_describe_topic_partitions(
                conn.call(kf.DESCRIBE_TOPIC_PARTITIONS, 0,
                          kf.describe_topic_partitions_body(topics, limit, cursor),
                          flexible=True))

    @staticmethod
    def flat(page):
        return [(t["name"], p["partition"]) for t in page["topics"] for p in t["partitions"]]

    def test_pages_follow_the_cursor_in_name_order(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        self.assertEqual(create_topics(broker, [("b", 2, {}), ("a", 3, {})]), {"b": 0, "a": 0})
        first = self.page(broker, ["b", "a"], 2)
        self.assertEqual(self.flat(first), [("a", 0), ("a", 1)])
        self.assertEqual(first["next_cursor"], ("a", 2))
        second = self.page(broker, ["b", "a"], 2, first["next_cursor"])
        self.assertEqual(self.flat(second), [("a", 2), ("b", 0)])
        self.assertEqual(second["next_cursor"], ("b", 1))
        third = self.page(broker, ["b", "a"], 2, second["next_cursor"])
        self.assertEqual(self.flat(third), [("b", 1)])
        self.assertIsNone(third["next_cursor"])

    def test_partitions_topic_ids_and_unknown_topics(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("a", 2, {})])
        out = self.page(broker, ["a", "ghost"], 100)
        self.assertIsNone(out["next_cursor"])
        by_name = {t["name"]: t for t in out["topics"]}
        self.assertEqual(sorted(by_name), ["a", "ghost"])
        ghost = by_name["ghost"]
        self.assertEqual((ghost["error"], ghost["topic_id"], ghost["partitions"]),
                         (UNKNOWN_TOPIC_OR_PARTITION, kf.ZERO_UUID, []))
        a = by_name["a"]
        md_id = kf.metadata(broker, ["a"])["topics"][0]["topic_id"]
        self.assertEqual((a["error"], a["topic_id"], a["internal"]), (0, md_id, False))
        for i, p in enumerate(a["partitions"]):
            self.assertEqual((p["error"], p["partition"], p["leader"], p["replicas"], p["isr"],
                              p["offline"]), (0, i, 1, [1], [1], []))

    def test_an_empty_topic_list_describes_every_topic(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("x", 1, {}), ("y", 2, {})])
        out = self.page(broker, [], 100)
        self.assertEqual(self.flat(out), [("x", 0), ("y", 0), ("y", 1)])
        self.assertIsNone(out["next_cursor"])


class ListConfigResources(harness.BrokerTestCase):
    def list(self, broker, version, types=()):
        with Conn(broker) as conn:
            return kf.parse_list_config_resources(
                conn.call(kf.LIST_CONFIG_RESOURCES, version,
                          kf.list_config_resources_body(version, types), flexible=True), version)

    def test_topics_and_brokers_are_listed_by_type(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("x", 1, {}), ("y", 1, {})])
        topics = self.list(broker, 1, [RESOURCE_TOPIC])
        self.assertEqual(topics["error"], 0)
        self.assertEqual(sorted(topics["resources"]),
                         [("x", RESOURCE_TOPIC), ("y", RESOURCE_TOPIC)])
        brokers = self.list(broker, 1, [RESOURCE_BROKER])
        self.assertEqual(brokers, {"error": 0, "resources": [("1", RESOURCE_BROKER)]})

    def test_version_0_lists_only_client_metrics_resources(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("x", 1, {})])
        # v0 was ListClientMetricsResources: topics are not among its answers.
        self.assertEqual(self.list(broker, 0), {"error": 0, "resources": []})


class DescribeLogDirs(harness.BrokerTestCase):
    def describe(self, broker, version, topics=None):
        with Conn(broker) as conn:
            return kf.parse_describe_log_dirs(
                conn.call(kf.DESCRIBE_LOG_DIRS, version, kf.describe_log_dirs_body(version, topics),
                          flexible=version >= 2), version)

    def test_every_version_lists_the_log_dir_and_its_partitions(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("a", 2, {}), ("b", 1, {})])
        for version in range(1, 6):
            out = self.describe(broker, version)
            if version >= 3:
                self.assertEqual(out["error"], 0)
            [res] = out["results"]
            self.assertEqual((res["error"], res["log_dir"]), (0, broker.data_dir), f"v{version}")
            # Topic partitions only (the metadata log is not a replica the broker manages); no
            # data yet, so every size is 0, and no lag, no future replicas.
            self.assertEqual(res["partitions"], {("a", 0): (0, 0, False), ("a", 1): (0, 0, False),
                                                 ("b", 0): (0, 0, False)}, f"v{version}")
            if version >= 4:
                self.assertGreater(res["total_bytes"], 0)
                self.assertGreater(res["usable_bytes"], 0)
                self.assertLessEqual(res["usable_bytes"], res["total_bytes"])
            if version >= 5:
                self.assertFalse(res["cordoned"])

    def test_named_partitions_only_and_unknown_ones_left_out(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        create_topics(broker, [("a", 3, {})])
        out = self.describe(broker, 4, [("a", [1, 2, 7]), ("ghost", [0])])
        self.assertEqual(sorted(out["results"][0]["partitions"]), [("a", 1), ("a", 2)])


class MetadataAutoCreation(harness.BrokerTestCase):
    def topics_after_a_barrier(self, broker):
        """Auto-creation is asynchronous: have a topic "barrier" auto-created after the requests
        under test and wait for it, so any creation they started has completed too; returns the
        names then listed."""
        kf.metadata(broker, ["barrier"], allow_auto_create=True)
        listed = harness.wait_until(lambda: kf.listed_topics(broker).get("barrier") and
                                    kf.listed_topics(broker), what="barrier topic")
        return sorted(listed)

    def test_a_named_unknown_topic_is_created_with_num_partitions(self):
        broker = self.start_broker(["num.partitions=3"])
        first = kf.metadata(broker, ["fresh"], allow_auto_create=True)
        [topic] = first["topics"]
        # Kafka answers the request that triggers the creation with LEADER_NOT_AVAILABLE.
        self.assertEqual((topic["name"], topic["error"]), ("fresh", LEADER_NOT_AVAILABLE))
        # The creation completes asynchronously, as in Kafka; then every listing has it.
        listed = harness.wait_until(lambda: kf.listed_topics(broker), what="auto-created topic")
        self.assertEqual(sorted(listed), ["fresh"])
        topic = listed["fresh"]
        self.assertEqual([p["partition"] for p in topic["partitions"]], [0, 1, 2])
        self.assertNotEqual(topic["topic_id"], kf.ZERO_UUID)
        self.assertEqual(broker.partition_dirs(), ["fresh-0", "fresh-1", "fresh-2"])

    def test_old_versions_imply_auto_creation(self):
        broker = self.start_broker(["num.partitions=2"])
        with Conn(broker) as conn:
            md = kf.parse_metadata(conn.call(kf.METADATA, 3, kf.metadata_body(3, ["legacy"]),
                                             flexible=False), 3, detail=True)
        self.assertEqual(md["topics"][0]["error"], LEADER_NOT_AVAILABLE)
        listed = harness.wait_until(lambda: kf.listed_topics(broker), what="auto-created topic")
        self.assertEqual({n: len(t["partitions"]) for n, t in listed.items()}, {"legacy": 2})

    def test_request_without_the_flag_does_not_create(self):
        broker = self.start_broker(["num.partitions=3"])
        [topic] = kf.metadata(broker, ["fresh"], allow_auto_create=False)["topics"]
        self.assertEqual(topic["error"], UNKNOWN_TOPIC_OR_PARTITION)
        self.assertEqual(self.topics_after_a_barrier(broker), ["barrier"])

    def test_disabled_on_the_broker_nothing_is_created(self):
        broker = self.start_broker(NO_AUTO_CREATE + ["num.partitions=3"])
        [topic] = kf.metadata(broker, ["fresh"], allow_auto_create=True)["topics"]
        self.assertEqual(topic["error"], UNKNOWN_TOPIC_OR_PARTITION)
        # No barrier topic can be auto-created here: give a creation time to show instead.
        time.sleep(0.5)
        self.assertEqual(kf.metadata(broker)["topics"], [])
        self.assertEqual(broker.partition_dirs(), [])

    def test_internal_topics_are_never_created_by_a_clients_metadata_request(self):
        broker = self.start_broker()
        md = kf.metadata(broker, ["__consumer_offsets", "__transaction_state"],
                         allow_auto_create=True)
        self.assertEqual({t["name"]: t["error"] for t in md["topics"]},
                         {"__consumer_offsets": UNKNOWN_TOPIC_OR_PARTITION,
                          "__transaction_state": UNKNOWN_TOPIC_OR_PARTITION})
        self.assertEqual(self.topics_after_a_barrier(broker), ["barrier"])
        self.assertEqual(broker.partition_dirs(), ["barrier-0"])

    def test_an_illegal_name_is_an_invalid_topic_and_not_created(self):
        broker = self.start_broker()
        [topic] = kf.metadata(broker, ["bad!name"], allow_auto_create=True)["topics"]
        self.assertEqual(topic["error"], INVALID_TOPIC_EXCEPTION)
        self.assertEqual(self.topics_after_a_barrier(broker), ["barrier"])

    def test_auto_created_topic_keeps_its_id_across_a_restart(self):
        broker = self.start_broker(["num.partitions=2"])
        kf.metadata(broker, ["fresh"], allow_auto_create=True)
        before = harness.wait_until(lambda: kf.listed_topics(broker), what="auto-created topic")
        before = before["fresh"]
        broker.restart()
        [after] = kf.metadata(broker)["topics"]
        self.assertEqual((after["name"], after["topic_id"], len(after["partitions"])),
                         ("fresh", before["topic_id"], 2))
        self.assertEqual(broker.read_partition_metadata("fresh", 1)["topic_id"],
                         before["topic_id"])


if __name__ == "__main__":
    harness.main()
