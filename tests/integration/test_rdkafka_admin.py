"""librdkafka 2.0.2's C admin API (tests/clients/rdkafka/rdkafka_admin.c) administers Quire:
CreateTopics (validate_only, assignments, configs, errors), CreatePartitions, DeleteTopics,
DescribeConfigs and AlterConfigs, all checked through what librdkafka decoded.

librdkafka 2.0.2 has no IncrementalAlterConfigs (added in 2.2): test_admin_wire.py covers it."""

import harness
from client_programs import rdkafka_admin, run_json

# librdkafka's rd_kafka_resp_err_t values are Kafka's error codes.
NONE, UNKNOWN_TOPIC_OR_PART, TOPIC_EXCEPTION = 0, 3, 17
TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR = 36, 37, 38
INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG = 39, 40
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]


def admin(broker, *commands):
    """Runs the commands in one librdkafka client; returns the list of per-command results. A
    request-level failure (timeout, transport) fails the test."""
    out = run_json([rdkafka_admin(), broker.bootstrap, *commands])
    assert out["librdkafka"].startswith("2."), out
    results = out["results"]
    for command, result in zip(commands, results):
        assert "request_error" not in result, f"{command!r}: {result}"
    return results


def topic_errors(result):
    return {name: t["error"] for name, t in result["topics"].items()}


def listing(result):
    """{topic: partition count} of a 'list' result."""
    return {name: len(t["partitions"]) for name, t in result["topics"].items()}


class RdkafkaAdmin(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def test_create_lists_partitions_led_by_the_broker_and_makes_directories(self):
        created, listed = admin(self.broker, "create orders 3 1", "list")
        self.assertEqual(created["topics"]["orders"],
                         {"error": NONE, "error_name": None, "message": None})
        self.assertEqual(listed["topics"]["orders"]["error"], NONE)
        self.assertEqual(listed["topics"]["orders"]["partitions"],
                         [{"id": i, "error": NONE, "leader": 1, "replicas": [1], "isrs": [1]}
                          for i in range(3)])
        self.assertEqual(self.broker.partition_dirs(), ["orders-0", "orders-1", "orders-2"])

    def test_validate_only_create_succeeds_without_creating(self):
        validated, listed = admin(self.broker, "create validate dry 2 1 retention.ms=1000",
                                  "list")
        self.assertEqual(topic_errors(validated), {"dry": NONE})
        self.assertEqual(listing(listed), {})
        self.assertEqual(self.broker.partition_dirs(), [])

    def test_validate_only_create_reports_errors(self):
        results = admin(self.broker, "create taken 1 1", "create validate taken 1 1",
                        "create validate zero 0 1", "create validate no.good! 1 1",
                        "create validate cfg 1 1 retention.ms=never", "list")
        self.assertEqual([topic_errors(r) for r in results[1:5]],
                         [{"taken": TOPIC_ALREADY_EXISTS}, {"zero": INVALID_PARTITIONS},
                          {"no.good!": TOPIC_EXCEPTION}, {"cfg": INVALID_CONFIG}])
        self.assertEqual(listing(results[5]), {"taken": 1})

    def test_explicit_assignment_sets_each_partitions_replicas(self):
        created, listed = admin(self.broker, "create-assign placed 1|1", "list")
        self.assertEqual(topic_errors(created), {"placed": NONE})
        parts = listed["topics"]["placed"]["partitions"]
        self.assertEqual([(p["id"], p["leader"], p["replicas"]) for p in parts],
                         [(0, 1, [1]), (1, 1, [1])])

    def test_assignment_to_an_unregistered_broker_is_invalid(self):
        created, listed = admin(self.broker, "create-assign nowhere 5", "list")
        self.assertEqual(topic_errors(created), {"nowhere": INVALID_REPLICA_ASSIGNMENT})
        self.assertEqual(listing(listed), {})

    def test_create_errors_are_kafkas(self):
        results = admin(self.broker, "create dup 1 1", "create dup 2 1", "create .. 1 1",
                        f"create {'n' * 250} 1 1", "create zero 0 1", "create rf3 1 3",
                        "create cfg 1 1 not.a.config=1", "list")
        self.assertEqual([topic_errors(r) for r in results[:7]],
                         [{"dup": NONE}, {"dup": TOPIC_ALREADY_EXISTS},
                          {"..": TOPIC_EXCEPTION}, {"n" * 250: TOPIC_EXCEPTION},
                          {"zero": INVALID_PARTITIONS}, {"rf3": INVALID_REPLICATION_FACTOR},
                          {"cfg": INVALID_CONFIG}])
        self.assertEqual(results[6]["topics"]["cfg"]["message"],
                         "Unknown topic config name: not.a.config")
        self.assertEqual(listing(results[7]), {"dup": 1})

    def test_create_partitions_grows_and_refuses_shrinking_or_unknown_topics(self):
        results = admin(self.broker, "create grow 2 1", "partitions validate grow 6",
                        "partitions grow 4", "partitions grow 4", "partitions grow 3",
                        "partitions ghost 2", "list")
        self.assertEqual([topic_errors(r) for r in results[1:6]],
                         [{"grow": NONE}, {"grow": NONE}, {"grow": INVALID_PARTITIONS},
                          {"grow": INVALID_PARTITIONS}, {"ghost": UNKNOWN_TOPIC_OR_PART}])
        self.assertEqual(listing(results[6]), {"grow": 4})
        self.assertEqual(self.broker.partition_dirs(), [f"grow-{i}" for i in range(4)])

    def test_delete_removes_topics_and_reports_unknown_ones(self):
        results = admin(self.broker, "create a 2 1", "create b 1 1", "delete a ghost", "list")
        self.assertEqual(topic_errors(results[2]), {"a": NONE, "ghost": UNKNOWN_TOPIC_OR_PART})
        self.assertEqual(listing(results[3]), {"b": 1})
        self.assertEqual(self.broker.partition_dirs(), ["b-0"])

    def test_describe_topic_configs_shows_overrides_defaults_and_synonyms(self):
        _, described = admin(self.broker,
                             "create tuned 1 1 retention.ms=1000 cleanup.policy=compact",
                             "describe topic tuned")
        [res] = described["resources"]
        self.assertEqual((res["type"], res["name"], res["error"]), ("TOPIC", "tuned", NONE))
        configs = res["configs"]
        retention = configs["retention.ms"]
        self.assertEqual((retention["value"], retention["source"], retention["is_default"],
                          retention["read_only"], retention["sensitive"]),
                         ("1000", "DYNAMIC_TOPIC_CONFIG", False, False, False))
        self.assertEqual(retention["synonyms"][0], ["retention.ms", "1000", "DYNAMIC_TOPIC_CONFIG"])
        self.assertEqual(configs["cleanup.policy"]["value"], "compact")
        segment = configs["segment.bytes"]
        self.assertEqual((segment["value"], segment["source"], segment["is_default"]),
                         ("1073741824", "DEFAULT_CONFIG", True))

    def test_describe_broker_configs(self):
        [described] = admin(self.broker, "describe broker 1")
        [res] = described["resources"]
        self.assertEqual((res["type"], res["name"], res["error"]), ("BROKER", "1", NONE))
        configs = res["configs"]
        self.assertEqual(configs["auto.create.topics.enable"]["value"], "false")
        self.assertEqual(configs["auto.create.topics.enable"]["source"], "STATIC_BROKER_CONFIG")
        self.assertEqual(configs["log.dirs"]["value"], self.broker.data_dir)
        self.assertTrue(configs["log.dirs"]["read_only"])
        self.assertEqual((configs["num.partitions"]["value"], configs["num.partitions"]["source"]),
                         ("1", "DEFAULT_CONFIG"))
        sensitive = [n for n, c in configs.items() if c["sensitive"]]
        self.assertIn("ssl.key.password", sensitive)
        self.assertEqual({configs[n]["value"] for n in sensitive}, {None})

    def test_describe_unknown_topic_is_unknown_topic(self):
        [described] = admin(self.broker, "describe topic ghost")
        self.assertEqual(described["resources"][0]["error"], UNKNOWN_TOPIC_OR_PART)

    def test_alter_configs_replaces_overrides_and_validates(self):
        results = admin(self.broker, "create t 1 1 retention.ms=1000 cleanup.policy=compact",
                        "alter validate topic t retention.ms=2000",
                        "alter topic t retention.ms=3000",
                        "alter topic t retention.ms=oops",
                        "alter topic ghost retention.ms=1",
                        "describe topic t")
        self.assertEqual([r["resources"][0]["error"] for r in results[1:5]],
                         [NONE, NONE, INVALID_CONFIG, UNKNOWN_TOPIC_OR_PART])
        configs = results[5]["resources"][0]["configs"]
        self.assertEqual((configs["retention.ms"]["value"], configs["retention.ms"]["source"]),
                         ("3000", "DYNAMIC_TOPIC_CONFIG"))
        # AlterConfigs sets the whole override set: cleanup.policy is back to its default.
        self.assertEqual((configs["cleanup.policy"]["value"], configs["cleanup.policy"]["source"]),
                         ("delete", "DEFAULT_CONFIG"))

    def test_everything_survives_a_restart(self):
        before = admin(self.broker, "create kept 3 1 retention.ms=5000", "create-assign placed 1",
                       "partitions placed 2", "create gone 1 1", "delete gone", "list",
                       "describe topic kept")
        self.broker.restart()
        listed, described = admin(self.broker, "list", "describe topic kept")
        self.assertEqual(listing(listed), {"kept": 3, "placed": 2})
        self.assertEqual(listed["topics"], before[5]["topics"])
        self.assertEqual(described["resources"][0]["configs"], before[6]["resources"][0]["configs"])


if __name__ == "__main__":
    harness.main()
