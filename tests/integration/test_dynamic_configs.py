"""Dynamic broker configs (KIP-226) as Kafka 4.3 has them: IncrementalAlterConfigs (raw frames,
kafka_frames.py: confluent-kafka 1.7 predates it) and legacy AlterConfigs (confluent-kafka's
AdminClient) on the BROKER resources "1" (this broker) and "" (the cluster-wide default), stored
as ConfigRecords in the metadata log. DescribeConfigs reports them with the sources
DYNAMIC_BROKER_CONFIG (2) and DYNAMIC_DEFAULT_BROKER_CONFIG (3) in Kafka's synonym order, topics
without overrides take them as their defaults, they survive a restart, keys Kafka cannot change
at run time are refused with its messages, and DELETE reverts. BROKER_LOGGER's root level
changes at run time (KIP-412)."""

import contextlib
import gc

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

import kafka_frames as kf
from kafka_frames import (INVALID_CONFIG, INVALID_REQUEST, OP_APPEND, OP_DELETE, OP_SET,
                          OP_SUBTRACT, RESOURCE_BROKER, RESOURCE_TOPIC, Conn, create_topics)

import harness

NO_AUTO_CREATE = ["auto.create.topics.enable=false"]
RESOURCE_BROKER_LOGGER = 8
NODE = "1"  # Quire's default node.id
# DescribeConfigs ConfigSource values.
DYNAMIC_BROKER, DYNAMIC_DEFAULT, STATIC, DEFAULT = 2, 3, 4, 5
WEEK_MS = "604800000"
TIMEOUT_S = 15


def incremental_alter(broker, resources, validate_only=False):
    with Conn(broker) as conn:
        payload = conn.call(kf.INCREMENTAL_ALTER_CONFIGS, 1,
                            kf.incremental_alter_configs_body(1, resources, validate_only),
                            flexible=True)
    return kf.parse_alter_configs_response(payload, True)


def describe(broker, rtype, name, keys=None):
    with Conn(broker) as conn:
        payload = conn.call(kf.DESCRIBE_CONFIGS, 4,
                            kf.describe_configs_body(4, [(rtype, name, keys)], True, False),
                            flexible=True)
    [res] = kf.parse_describe_configs(payload, 4)
    assert res["error"] == 0, res
    return res["configs"]


def set_broker(broker, resource, **values):
    """SETs key=value (dots written as underscores) on a broker resource; requires success."""
    ops = [(k.replace("_", "."), OP_SET, v) for k, v in values.items()]
    got = incremental_alter(broker, [(RESOURCE_BROKER, resource, ops)])
    assert got == {(RESOURCE_BROKER, resource): (0, None)}, got


def entry(broker, rtype, name, key):
    return describe(broker, rtype, name, [key])[key]


@contextlib.contextmanager
def admin_client(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    try:
        yield admin
    finally:
        del admin
        gc.collect()


class DynamicBrokerConfigs(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)
        self.assertEqual(create_topics(self.broker, [("plain", 1, {}),
                                                     ("own", 1, {"retention.ms": "1000"})]),
                         {"plain": 0, "own": 0})

    def test_a_per_broker_value_is_dynamic_broker_config_and_reaches_topics(self):
        set_broker(self.broker, NODE, log_retention_ms="3600000")
        e = entry(self.broker, RESOURCE_BROKER, NODE, "log.retention.ms")
        self.assertEqual((e["value"], e["source"], e["read_only"]), ("3600000", DYNAMIC_BROKER,
                                                                     False))
        self.assertEqual(e["synonyms"], [("log.retention.ms", "3600000", DYNAMIC_BROKER),
                                         ("log.retention.hours", "168", DEFAULT)])
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "retention.ms")
        self.assertEqual((t["value"], t["source"]), ("3600000", DYNAMIC_BROKER))
        self.assertEqual(t["synonyms"][0], ("log.retention.ms", "3600000", DYNAMIC_BROKER))
        # a topic override still wins, with the broker's value behind it
        o = entry(self.broker, RESOURCE_TOPIC, "own", "retention.ms")
        self.assertEqual((o["value"], o["source"]), ("1000", 1))
        self.assertEqual(o["synonyms"][1], ("log.retention.ms", "3600000", DYNAMIC_BROKER))
        # the cluster default resource lists nothing: only this broker's value is set
        self.assertEqual(describe(self.broker, RESOURCE_BROKER, ""), {})

    def test_the_cluster_default_is_dynamic_default_and_a_per_broker_value_wins(self):
        set_broker(self.broker, "", log_retention_ms="7200000", log_cleaner_threads="2")
        default = describe(self.broker, RESOURCE_BROKER, "")
        self.assertEqual({n: (c["value"], c["source"]) for n, c in default.items()},
                         {"log.retention.ms": ("7200000", DYNAMIC_DEFAULT),
                          "log.cleaner.threads": ("2", DYNAMIC_DEFAULT)})
        self.assertEqual(default["log.retention.ms"]["synonyms"],
                         [("log.retention.ms", "7200000", DYNAMIC_DEFAULT)])
        e = entry(self.broker, RESOURCE_BROKER, NODE, "log.retention.ms")
        self.assertEqual((e["value"], e["source"]), ("7200000", DYNAMIC_DEFAULT))
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "retention.ms")
        self.assertEqual((t["value"], t["source"]), ("7200000", DYNAMIC_DEFAULT))

        set_broker(self.broker, NODE, log_retention_ms="3600000")
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "retention.ms")
        self.assertEqual((t["value"], t["source"]), ("3600000", DYNAMIC_BROKER))
        self.assertEqual(t["synonyms"], [("log.retention.ms", "3600000", DYNAMIC_BROKER),
                                         ("log.retention.ms", "7200000", DYNAMIC_DEFAULT),
                                         ("log.retention.hours", "168", DEFAULT)])

    def test_delete_reverts_to_the_next_layer(self):
        set_broker(self.broker, "", log_retention_ms="7200000")
        set_broker(self.broker, NODE, log_retention_ms="3600000")
        got = incremental_alter(self.broker, [(RESOURCE_BROKER, NODE,
                                               [("log.retention.ms", OP_DELETE, None)])])
        self.assertEqual(got, {(RESOURCE_BROKER, NODE): (0, None)})
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "retention.ms")
        self.assertEqual((t["value"], t["source"]), ("7200000", DYNAMIC_DEFAULT))
        incremental_alter(self.broker, [(RESOURCE_BROKER, "",
                                         [("log.retention.ms", OP_DELETE, None)])])
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "retention.ms")
        self.assertEqual((t["value"], t["source"], t["synonyms"]), (WEEK_MS, DEFAULT, []))
        e = entry(self.broker, RESOURCE_BROKER, NODE, "log.retention.ms")
        self.assertEqual((e["value"], e["source"]), (None, DEFAULT))
        self.assertEqual(describe(self.broker, RESOURCE_BROKER, ""), {})

    def test_dynamic_values_survive_a_restart(self):
        set_broker(self.broker, "", log_retention_ms="7200000", log_segment_bytes="2097152")
        set_broker(self.broker, NODE, log_retention_ms="3600000")
        self.broker.restart()
        t = describe(self.broker, RESOURCE_TOPIC, "plain", ["retention.ms", "segment.bytes"])
        self.assertEqual((t["retention.ms"]["value"], t["retention.ms"]["source"]),
                         ("3600000", DYNAMIC_BROKER))
        self.assertEqual((t["segment.bytes"]["value"], t["segment.bytes"]["source"]),
                         ("2097152", DYNAMIC_DEFAULT))
        default = describe(self.broker, RESOURCE_BROKER, "")
        self.assertEqual(sorted(default), ["log.retention.ms", "log.segment.bytes"])

    def test_keys_kafka_cannot_change_at_run_time_are_refused(self):
        cases = [
            (NODE, [("log.dirs", OP_SET, "/elsewhere")],
             (INVALID_REQUEST, "Cannot update these configs dynamically: [log.dirs]")),
            ("", [("listeners", OP_SET, "PLAINTEXT://127.0.0.1:9999")],
             (INVALID_REQUEST, "Cannot update these configs at default cluster level, broker id "
                               "must be specified: [listeners]")),
            (NODE, [("log.retention.ms", OP_SET, "abc")],
             (INVALID_REQUEST, "Invalid value abc for configuration log.retention.ms: Not a "
                               "number of type LONG")),
            ("7", [("log.retention.ms", OP_SET, "1000")],
             (INVALID_REQUEST, "Unexpected broker id, expected 1, but received 7")),
            (NODE, [("log.retention.ms", OP_APPEND, "1000")],
             (INVALID_CONFIG, "Config value append is not allowed for config key: "
                              "log.retention.ms")),
        ]
        for resource, ops, want in cases:
            with self.subTest(resource=resource, ops=ops):
                got = incremental_alter(self.broker, [(RESOURCE_BROKER, resource, ops)])
                self.assertEqual(got, {(RESOURCE_BROKER, resource): want})
        e = entry(self.broker, RESOURCE_BROKER, NODE, "log.retention.ms")
        self.assertEqual(e["source"], DEFAULT)
        self.assertEqual(describe(self.broker, RESOURCE_BROKER, ""), {})

    def test_validate_only_writes_nothing(self):
        got = incremental_alter(self.broker, [(RESOURCE_BROKER, NODE,
                                               [("log.retention.ms", OP_SET, "1000")])],
                                validate_only=True)
        self.assertEqual(got, {(RESOURCE_BROKER, NODE): (0, None)})
        self.assertEqual(entry(self.broker, RESOURCE_BROKER, NODE, "log.retention.ms")["source"],
                         DEFAULT)

    def test_append_and_subtract_edit_a_list_key(self):
        got = incremental_alter(self.broker, [(RESOURCE_BROKER, "",
                                               [("log.cleanup.policy", OP_APPEND, "compact")])])
        self.assertEqual(got, {(RESOURCE_BROKER, ""): (0, None)})
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "cleanup.policy")
        self.assertEqual((t["value"], t["source"]), ("delete,compact", DYNAMIC_DEFAULT))
        incremental_alter(self.broker, [(RESOURCE_BROKER, "",
                                         [("log.cleanup.policy", OP_SUBTRACT, "delete")])])
        t = entry(self.broker, RESOURCE_TOPIC, "plain", "cleanup.policy")
        self.assertEqual((t["value"], t["source"]), ("compact", DYNAMIC_DEFAULT))

    def test_legacy_alter_configs_replaces_the_resources_whole_set(self):
        set_broker(self.broker, NODE, log_retention_ms="3600000", log_cleaner_threads="2")
        with admin_client(self.broker) as admin:
            resource = ConfigResource("broker", NODE, set_config={"log.cleaner.threads": "3"})
            admin.alter_configs([resource], request_timeout=TIMEOUT_S)[resource].result(
                timeout=TIMEOUT_S)
            bad = ConfigResource("broker", NODE, set_config={"num.partitions": "3"})
            with self.assertRaises(KafkaException) as ctx:
                admin.alter_configs([bad], request_timeout=TIMEOUT_S)[bad].result(
                    timeout=TIMEOUT_S)
            self.assertEqual(ctx.exception.args[0].code(), INVALID_REQUEST)
        got = describe(self.broker, RESOURCE_BROKER, NODE,
                       ["log.retention.ms", "log.cleaner.threads"])
        self.assertEqual((got["log.cleaner.threads"]["value"],
                          got["log.cleaner.threads"]["source"]), ("3", DYNAMIC_BROKER))
        self.assertEqual(got["log.retention.ms"]["source"], DEFAULT)

    def test_the_root_log_level_changes_at_run_time(self):
        got = incremental_alter(self.broker, [(RESOURCE_BROKER_LOGGER, NODE,
                                               [("root", OP_SET, "DEBUG")])])
        self.assertEqual(got, {(RESOURCE_BROKER_LOGGER, NODE): (0, None)})
        self.assertEqual(entry(self.broker, RESOURCE_BROKER_LOGGER, NODE, "root")["value"],
                         "DEBUG")
        got = incremental_alter(self.broker, [(RESOURCE_BROKER_LOGGER, NODE,
                                               [("root", OP_DELETE, None)])])
        self.assertEqual(got, {(RESOURCE_BROKER_LOGGER, NODE): (
            INVALID_REQUEST, "Removing the log level of the root logger is not allowed")})
        incremental_alter(self.broker, [(RESOURCE_BROKER_LOGGER, NODE, [("root", OP_SET, "INFO")])])
        self.assertEqual(entry(self.broker, RESOURCE_BROKER_LOGGER, NODE, "root")["value"],
                         "INFO")


if __name__ == "__main__":
    harness.main()
