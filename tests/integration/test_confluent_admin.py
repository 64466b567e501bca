"""confluent-kafka 1.7's AdminClient (librdkafka 2.0.2) administers Quire's topics and configs:
CreateTopics (validate_only, assignments, configs, Kafka's per-topic errors), CreatePartitions,
DeleteTopics, DescribeConfigs and AlterConfigs; everything survives a restart with its topic ids.

confluent-kafka 1.7 has no incremental_alter_configs (nor has librdkafka 2.0.2: it came in 2.2);
IncrementalAlterConfigs is covered with raw frames in test_admin_wire.py."""

import contextlib
import gc

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AdminClient, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic)

import harness
import kafka_frames

TIMEOUT_S = 15
# Listing a named topic must not create it behind the test's back.
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]


@contextlib.contextmanager
def admin_client(broker):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    try:
        yield admin
    finally:
        # Drop the client (and its connections) now, before the broker is asked to stop.
        del admin
        gc.collect()


def outcomes(futures):
    """{key: None (success) or the KafkaError code} for a dict of admin futures."""
    out = {}
    for key, future in futures.items():
        try:
            future.result(timeout=TIMEOUT_S)
            out[key] = None
        except KafkaException as e:
            out[key] = e.args[0].code()
    return out


def error_of(future):
    """The KafkaError a future failed with (fails the test when it succeeded)."""
    try:
        result = future.result(timeout=TIMEOUT_S)
    except KafkaException as e:
        return e.args[0]
    raise AssertionError(f"expected an error, the request succeeded: {result!r}")


def partition_counts(admin):
    md = admin.list_topics(timeout=TIMEOUT_S)
    return {name: len(t.partitions) for name, t in md.topics.items()}


def describe(admin, rtype, name):
    resource = ConfigResource(rtype, name)
    return admin.describe_configs([resource], request_timeout=TIMEOUT_S)[resource].result(
        timeout=TIMEOUT_S)


def topic_overrides(admin, topic):
    """{name: value} of the topic's dynamic (TOPIC_CONFIG) entries."""
    entries = describe(admin, "topic", topic)
    return {n: e.value for n, e in entries.items()
            if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value}


class ConfluentCreateTopics(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def test_created_topics_are_listed_with_their_partitions_on_the_single_broker(self):
        with admin_client(self.broker) as admin:
            self.assertEqual(outcomes(admin.create_topics(
                [NewTopic("orders", 3, 1), NewTopic("audit", 1, 1)],
                request_timeout=TIMEOUT_S)), {"orders": None, "audit": None})
            md = admin.list_topics(timeout=TIMEOUT_S)
        self.assertEqual(sorted(md.topics), ["audit", "orders"])
        orders = md.topics["orders"]
        self.assertIsNone(orders.error)
        self.assertEqual(sorted(orders.partitions), [0, 1, 2])
        for p in orders.partitions.values():
            self.assertIsNone(p.error)
            self.assertEqual((p.leader, p.replicas, p.isrs), (1, [1], [1]))
        self.assertEqual(self.broker.partition_dirs(),
                         ["audit-0", "orders-0", "orders-1", "orders-2"])

    def test_validate_only_answers_success_and_creates_nothing(self):
        with admin_client(self.broker) as admin:
            self.assertEqual(outcomes(admin.create_topics(
                [NewTopic("dry", 4, 1, config={"retention.ms": "60000"})], validate_only=True,
                request_timeout=TIMEOUT_S)), {"dry": None})
            self.assertEqual(partition_counts(admin), {})
            md = admin.list_topics(topic="dry", timeout=TIMEOUT_S)
            self.assertEqual(md.topics["dry"].error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
            # A real create of the same name afterwards works: validation reserved nothing.
            self.assertEqual(outcomes(admin.create_topics([NewTopic("dry", 2, 1)])),
                             {"dry": None})
            self.assertEqual(partition_counts(admin), {"dry": 2})
        self.assertEqual(self.broker.partition_dirs(), ["dry-0", "dry-1"])

    def test_validate_only_reports_the_errors_a_real_create_would(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("taken", 1, 1)]))
            got = outcomes(admin.create_topics(
                [NewTopic("taken", 1, 1), NewTopic("bad name", 1, 1), NewTopic("zero", 0, 1),
                 NewTopic("rf2", 1, 2), NewTopic("cfg", 1, 1, config={"no.such.config": "1"})],
                validate_only=True, request_timeout=TIMEOUT_S))
            self.assertEqual(partition_counts(admin), {"taken": 1})
        self.assertEqual(got, {"taken": KafkaError.TOPIC_ALREADY_EXISTS,
                               "bad name": KafkaError.TOPIC_EXCEPTION,
                               "zero": KafkaError.INVALID_PARTITIONS,
                               "rf2": KafkaError.INVALID_REPLICATION_FACTOR,
                               "cfg": KafkaError.INVALID_CONFIG})

    def test_explicit_replica_assignment_creates_one_partition_per_entry(self):
        with admin_client(self.broker) as admin:
            self.assertEqual(outcomes(admin.create_topics(
                [NewTopic("assigned", 3, replica_assignment=[[1], [1], [1]])],
                request_timeout=TIMEOUT_S)), {"assigned": None})
            md = admin.list_topics(timeout=TIMEOUT_S)
        parts = md.topics["assigned"].partitions
        self.assertEqual(sorted(parts), [0, 1, 2])
        self.assertEqual([parts[i].replicas for i in range(3)], [[1], [1], [1]])
        self.assertEqual([parts[i].leader for i in range(3)], [1, 1, 1])

    def test_assignment_to_an_unknown_or_repeated_broker_is_an_invalid_replica_assignment(self):
        with admin_client(self.broker) as admin:
            got = outcomes(admin.create_topics(
                [NewTopic("elsewhere", 1, replica_assignment=[[2]]),
                 NewTopic("twice", 1, replica_assignment=[[1, 1]])],
                request_timeout=TIMEOUT_S))
            self.assertEqual(partition_counts(admin), {})
        self.assertEqual(got, {"elsewhere": KafkaError.INVALID_REPLICA_ASSIGNMENT,
                               "twice": KafkaError.INVALID_REPLICA_ASSIGNMENT})

    def test_configs_given_at_creation_are_described_as_topic_overrides(self):
        with admin_client(self.broker) as admin:
            self.assertEqual(outcomes(admin.create_topics(
                [NewTopic("tuned", 1, 1, config={"retention.ms": "3600000",
                                                 "cleanup.policy": "compact",
                                                 "max.message.bytes": "2048"})],
                request_timeout=TIMEOUT_S)), {"tuned": None})
            self.assertEqual(topic_overrides(admin, "tuned"),
                             {"retention.ms": "3600000", "cleanup.policy": "compact",
                              "max.message.bytes": "2048"})

    def test_bad_topic_names_are_topic_exceptions(self):
        names = ["", ".", "..", "a" * 250, "bad!", "with space", "slash/name", "ümlaut"]
        with admin_client(self.broker) as admin:
            got = outcomes(admin.create_topics([NewTopic(n, 1, 1) for n in names],
                                               request_timeout=TIMEOUT_S))
            self.assertEqual(partition_counts(admin), {})
        self.assertEqual(got, {n: KafkaError.TOPIC_EXCEPTION for n in names})
        self.assertEqual(self.broker.partition_dirs(), [])

    def test_longest_legal_name_and_every_legal_character_are_accepted(self):
        longest = "x" * 249
        legal = "Az09._-"
        with admin_client(self.broker) as admin:
            self.assertEqual(outcomes(admin.create_topics(
                [NewTopic(longest, 1, 1), NewTopic(legal, 1, 1)], request_timeout=TIMEOUT_S)),
                {longest: None, legal: None})
            self.assertEqual(partition_counts(admin), {longest: 1, legal: 1})

    def test_existing_topic_is_topic_already_exists_and_keeps_its_partitions(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("once", 2, 1)]))
            err = error_of(admin.create_topics([NewTopic("once", 5, 1)])["once"])
            self.assertEqual(err.code(), KafkaError.TOPIC_ALREADY_EXISTS, err.str())
            self.assertIn("once", err.str())
            self.assertEqual(partition_counts(admin), {"once": 2})

    def test_zero_or_negative_partitions_are_invalid_partitions(self):
        with admin_client(self.broker) as admin:
            err = error_of(admin.create_topics([NewTopic("none", 0, 1)])["none"])
            self.assertEqual(err.code(), KafkaError.INVALID_PARTITIONS, err.str())
            self.assertEqual(partition_counts(admin), {})

    def test_replication_factor_above_the_broker_count_is_invalid(self):
        with admin_client(self.broker) as admin:
            err = error_of(admin.create_topics([NewTopic("rf2", 1, 2)])["rf2"])
            self.assertEqual(partition_counts(admin), {})
        self.assertEqual(err.code(), KafkaError.INVALID_REPLICATION_FACTOR, err.str())
        # Kafka: "Unable to replicate the partition 2 time(s): The target replication factor of
        # 2 cannot be reached because only 1 broker(s) are registered."
        self.assertIn("only 1 broker(s) are registered", err.str())

    def test_unknown_or_invalid_configs_are_invalid_config(self):
        with admin_client(self.broker) as admin:
            futures = admin.create_topics(
                [NewTopic("unknown-cfg", 1, 1, config={"no.such.config": "1"}),
                 NewTopic("not-a-number", 1, 1, config={"retention.ms": "soon"}),
                 NewTopic("bad-choice", 1, 1, config={"cleanup.policy": "sometimes"}),
                 NewTopic("too-small", 1, 1, config={"segment.bytes": "1"})],
                request_timeout=TIMEOUT_S)
            errors = {k: error_of(f) for k, f in futures.items()}
            self.assertEqual(partition_counts(admin), {})
        self.assertEqual({k: e.code() for k, e in errors.items()},
                         {k: KafkaError.INVALID_CONFIG for k in errors})
        self.assertIn("Unknown topic config name: no.such.config", errors["unknown-cfg"].str())
        self.assertIn("Invalid value soon for configuration retention.ms",
                      errors["not-a-number"].str())

    def test_each_topic_of_a_request_gets_its_own_outcome(self):
        with admin_client(self.broker) as admin:
            got = outcomes(admin.create_topics(
                [NewTopic("good", 1, 1), NewTopic("..", 1, 1), NewTopic("also-good", 2, 1)],
                request_timeout=TIMEOUT_S))
            self.assertEqual(partition_counts(admin), {"good": 1, "also-good": 2})
        self.assertEqual(got, {"good": None, "..": KafkaError.TOPIC_EXCEPTION,
                               "also-good": None})


class ConfluentPartitionsAndDeletion(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def test_create_partitions_adds_partitions_and_their_directories(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("grow", 2, 1)]))
            self.assertEqual(outcomes(admin.create_partitions([NewPartitions("grow", 5)],
                                                              request_timeout=TIMEOUT_S)),
                             {"grow": None})
            md = admin.list_topics(timeout=TIMEOUT_S)
        parts = md.topics["grow"].partitions
        self.assertEqual(sorted(parts), [0, 1, 2, 3, 4])
        self.assertEqual({p.leader for p in parts.values()}, {1})
        self.assertEqual(self.broker.partition_dirs(), [f"grow-{i}" for i in range(5)])

    def test_create_partitions_validate_only_changes_nothing(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("grow", 2, 1)]))
            self.assertEqual(outcomes(admin.create_partitions(
                [NewPartitions("grow", 4)], validate_only=True, request_timeout=TIMEOUT_S)),
                {"grow": None})
            self.assertEqual(partition_counts(admin), {"grow": 2})
        self.assertEqual(self.broker.partition_dirs(), ["grow-0", "grow-1"])

    def test_same_or_smaller_partition_count_is_invalid_partitions(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("three", 3, 1)]))
            same = error_of(admin.create_partitions([NewPartitions("three", 3)])["three"])
            fewer = error_of(admin.create_partitions([NewPartitions("three", 2)])["three"])
            self.assertEqual(partition_counts(admin), {"three": 3})
        self.assertEqual(same.code(), KafkaError.INVALID_PARTITIONS, same.str())
        self.assertEqual(fewer.code(), KafkaError.INVALID_PARTITIONS, fewer.str())
        # Kafka's messages: "Topic already has 3 partition(s)." / "The topic three currently
        # has 3 partition(s); 2 would not be an increase."
        self.assertIn("3 partition", same.str())
        self.assertIn("2 would not be an increase", fewer.str())

    def test_create_partitions_of_an_unknown_topic_is_unknown_topic(self):
        with admin_client(self.broker) as admin:
            err = error_of(admin.create_partitions([NewPartitions("ghost", 4)])["ghost"])
            self.assertEqual(partition_counts(admin), {})
        self.assertEqual(err.code(), KafkaError.UNKNOWN_TOPIC_OR_PART, err.str())

    def test_delete_topics_removes_the_topic_and_its_directories(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("doomed", 3, 1), NewTopic("kept", 1, 1)]))
            self.assertEqual(len(self.broker.partition_dirs()), 4)
            self.assertEqual(outcomes(admin.delete_topics(["doomed"],
                                                          request_timeout=TIMEOUT_S)),
                             {"doomed": None})
            self.assertEqual(partition_counts(admin), {"kept": 1})
            md = admin.list_topics(topic="doomed", timeout=TIMEOUT_S)
        self.assertEqual(md.topics["doomed"].error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART)
        self.assertEqual(self.broker.partition_dirs(), ["kept-0"])

    def test_deleting_an_unknown_topic_is_unknown_topic(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("kept", 1, 1)]))
            got = outcomes(admin.delete_topics(["ghost", "kept"], request_timeout=TIMEOUT_S))
            self.assertEqual(partition_counts(admin), {})
        self.assertEqual(got, {"ghost": KafkaError.UNKNOWN_TOPIC_OR_PART, "kept": None})

    def test_a_deleted_name_can_be_created_again_with_a_new_topic_id(self):
        with admin_client(self.broker) as admin:
            outcomes(admin.create_topics([NewTopic("phoenix", 2, 1)]))
            first_id = kafka_frames.metadata(self.broker, ["phoenix"])["topics"][0]["topic_id"]
            self.assertEqual(outcomes(admin.delete_topics(["phoenix"])), {"phoenix": None})
            self.assertEqual(outcomes(admin.create_topics([NewTopic("phoenix", 1, 1)])),
                             {"phoenix": None})
            self.assertEqual(partition_counts(admin), {"phoenix": 1})
        second_id = kafka_frames.metadata(self.broker, ["phoenix"])["topics"][0]["topic_id"]
        self.assertNotEqual(first_id, second_id)
        self.assertEqual(self.broker.partition_dirs(), ["phoenix-0"])
        self.assertEqual(self.broker.read_partition_metadata("phoenix", 0)["topic_id"], second_id)


class ConfluentConfigs(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE + ["num.partitions=3"])

    def create(self, admin, topic, config=None):
        created = admin.create_topics([NewTopic(topic, 1, 1, config=config or {})])
        self.assertEqual(outcomes(created), {topic: None})

    def test_topic_configs_report_overrides_and_kafka_defaults_with_their_sources(self):
        with admin_client(self.broker) as admin:
            self.create(admin, "described", {"retention.ms": "1000"})
            entries = describe(admin, "topic", "described")
        retention = entries["retention.ms"]
        self.assertEqual(retention.value, "1000")
        self.assertEqual(retention.source, ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        self.assertFalse(retention.is_default)
        self.assertFalse(retention.is_read_only)
        self.assertFalse(retention.is_sensitive)
        # librdkafka asks for synonyms (DescribeConfigs v1+): the topic override comes first.
        first = list(retention.synonyms.values())[0]
        self.assertEqual((first.name, first.value, first.source),
                         ("retention.ms", "1000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value))
        defaults = {"cleanup.policy": "delete", "segment.bytes": "1073741824",
                    "max.message.bytes": "1048588", "min.insync.replicas": "1",
                    "compression.type": "producer", "message.timestamp.type": "CreateTime",
                    "retention.bytes": "-1", "unclean.leader.election.enable": "false"}
        for name, value in defaults.items():
            e = entries[name]
            self.assertEqual((e.value, e.source, e.is_default, e.is_read_only, e.is_sensitive),
                             (value, ConfigSource.DEFAULT_CONFIG.value, True, False, False),
                             name)
        # Every topic key of Kafka 4.3 is described, none of them read-only or sensitive.
        for name in ("segment.ms", "flush.messages", "delete.retention.ms",
                     "min.compaction.lag.ms", "max.compaction.lag.ms", "preallocate",
                     "message.timestamp.after.max.ms", "file.delete.delay.ms"):
            self.assertIn(name, entries)
        self.assertFalse([n for n, e in entries.items() if e.is_read_only or e.is_sensitive])

    def test_topic_default_from_a_broker_setting_is_a_static_broker_config(self):
        broker = self.start_broker(NO_AUTO_CREATE + ["log.retention.ms=7200000"])
        with admin_client(broker) as admin:
            self.create(admin, "inherits")
            e = describe(admin, "topic", "inherits")["retention.ms"]
        self.assertEqual(e.value, "7200000")
        self.assertEqual(e.source, ConfigSource.STATIC_BROKER_CONFIG.value)
        self.assertFalse(e.is_default)
        first = list(e.synonyms.values())[0]
        self.assertEqual((first.name, first.value, first.source),
                         ("log.retention.ms", "7200000",
                          ConfigSource.STATIC_BROKER_CONFIG.value))

    def test_broker_configs_report_values_sources_and_flags(self):
        with admin_client(self.broker) as admin:
            entries = describe(admin, "broker", "1")
        num_partitions = entries["num.partitions"]
        self.assertEqual((num_partitions.value, num_partitions.source, num_partitions.is_default),
                         ("3", ConfigSource.STATIC_BROKER_CONFIG.value, False))
        max_bytes = entries["message.max.bytes"]
        self.assertEqual((max_bytes.value, max_bytes.source, max_bytes.is_default,
                          max_bytes.is_read_only),
                         ("1048588", ConfigSource.DEFAULT_CONFIG.value, True, False))
        log_dirs = entries["log.dirs"]
        self.assertEqual((log_dirs.value, log_dirs.source, log_dirs.is_read_only),
                         (self.broker.data_dir, ConfigSource.STATIC_BROKER_CONFIG.value, True))
        self.assertEqual(entries["node.id"].value, "1")
        self.assertTrue(entries["node.id"].is_read_only)
        self.assertEqual(entries["auto.create.topics.enable"].value, "false")
        # Password-typed configs are sensitive and their values are never sent.
        password = entries["ssl.keystore.password"]
        self.assertTrue(password.is_sensitive)
        self.assertIsNone(password.value)

    def test_describe_configs_of_an_unknown_topic_is_unknown_topic(self):
        with admin_client(self.broker) as admin:
            resource = ConfigResource("topic", "ghost")
            err = error_of(admin.describe_configs([resource])[resource])
        self.assertEqual(err.code(), KafkaError.UNKNOWN_TOPIC_OR_PART, err.str())

    def test_alter_configs_replaces_the_whole_set_of_overrides(self):
        with admin_client(self.broker) as admin:
            self.create(admin, "altered", {"retention.ms": "1000", "cleanup.policy": "compact"})
            resource = ConfigResource("topic", "altered",
                                      set_config={"retention.ms": "5000",
                                                  "max.message.bytes": "4096"})
            self.assertEqual(outcomes(admin.alter_configs([resource],
                                                          request_timeout=TIMEOUT_S)),
                             {resource: None})
            # Legacy AlterConfigs: what is not named reverts to its default.
            self.assertEqual(topic_overrides(admin, "altered"),
                             {"retention.ms": "5000", "max.message.bytes": "4096"})
            self.assertEqual(describe(admin, "topic", "altered")["cleanup.policy"].value,
                             "delete")

    def test_alter_configs_validate_only_changes_nothing(self):
        with admin_client(self.broker) as admin:
            self.create(admin, "steady", {"retention.ms": "1000"})
            resource = ConfigResource("topic", "steady", set_config={"retention.ms": "9000"})
            self.assertEqual(outcomes(admin.alter_configs([resource], validate_only=True)),
                             {resource: None})
            self.assertEqual(topic_overrides(admin, "steady"), {"retention.ms": "1000"})

    def test_alter_configs_with_a_bad_value_is_invalid_config_and_changes_nothing(self):
        with admin_client(self.broker) as admin:
            self.create(admin, "steady", {"retention.ms": "1000"})
            bad_value = ConfigResource("topic", "steady", set_config={"retention.ms": "later"})
            unknown = ConfigResource("topic", "steady", set_config={"no.such.config": "1"})
            self.assertEqual(outcomes(admin.alter_configs([bad_value])),
                             {bad_value: KafkaError.INVALID_CONFIG})
            self.assertEqual(outcomes(admin.alter_configs([unknown])),
                             {unknown: KafkaError.INVALID_CONFIG})
            self.assertEqual(topic_overrides(admin, "steady"), {"retention.ms": "1000"})

    def test_alter_configs_of_an_unknown_topic_is_unknown_topic(self):
        with admin_client(self.broker) as admin:
            resource = ConfigResource("topic", "ghost", set_config={"retention.ms": "1000"})
            self.assertEqual(outcomes(admin.alter_configs([resource])),
                             {resource: KafkaError.UNKNOWN_TOPIC_OR_PART})


class ConfluentRestart(harness.BrokerTestCase):
    def test_topics_partitions_configs_and_ids_survive_a_restart(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        with admin_client(broker) as admin:
            self.assertEqual(outcomes(admin.create_topics(
                [NewTopic("events", 2, 1, config={"retention.ms": "86400000",
                                                  "cleanup.policy": "compact,delete"}),
                 NewTopic("assigned", 2, replica_assignment=[[1], [1]]),
                 NewTopic("doomed", 1, 1), NewTopic("plain", 1, 1)])),
                {"events": None, "assigned": None, "doomed": None, "plain": None})
            self.assertEqual(outcomes(admin.create_partitions([NewPartitions("events", 4)])),
                             {"events": None})
            altered = ConfigResource("topic", "plain", set_config={"segment.bytes": "2097152"})
            self.assertEqual(outcomes(admin.alter_configs([altered])), {altered: None})
            self.assertEqual(outcomes(admin.delete_topics(["doomed"])), {"doomed": None})
            counts = partition_counts(admin)
            overrides = {t: topic_overrides(admin, t) for t in counts}
        before = kafka_frames.metadata(broker)
        ids = {t["name"]: t["topic_id"] for t in before["topics"]}
        self.assertEqual(counts, {"events": 4, "assigned": 2, "plain": 1})
        self.assertEqual(overrides, {"events": {"retention.ms": "86400000",
                                                "cleanup.policy": "compact,delete"},
                                     "assigned": {}, "plain": {"segment.bytes": "2097152"}})
        self.assertEqual(sorted(ids), sorted(counts))
        self.assertNotIn(kafka_frames.ZERO_UUID, ids.values())
        self.assertEqual(len(set(ids.values())), 3)

        broker.restart()

        with admin_client(broker) as admin:
            self.assertEqual(partition_counts(admin), counts)
            self.assertEqual({t: topic_overrides(admin, t) for t in counts}, overrides)
        after = kafka_frames.metadata(broker)
        self.assertEqual({t["name"]: t["topic_id"] for t in after["topics"]}, ids)
        self.assertEqual(broker.partition_dirs(),
                         ["assigned-0", "assigned-1", "events-0", "events-1", "events-2",
                          "events-3", "plain-0"])
        for topic, n in counts.items():
            for p in range(n):
                self.assertEqual(broker.read_partition_metadata(topic, p)["topic_id"], ids[topic],
                                 f"{topic}-{p}")

    def test_topics_created_after_a_restart_get_fresh_ids(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        with admin_client(broker) as admin:
            outcomes(admin.create_topics([NewTopic("first", 1, 1)]))
        first_id = kafka_frames.metadata(broker, ["first"])["topics"][0]["topic_id"]
        broker.restart()
        with admin_client(broker) as admin:
            self.assertEqual(outcomes(admin.create_topics([NewTopic("second", 1, 1),
                                                           NewTopic("first", 1, 1)])),
                             {"second": None, "first": KafkaError.TOPIC_ALREADY_EXISTS})
        ids = {t["name"]: t["topic_id"] for t in kafka_frames.metadata(broker)["topics"]}
        self.assertEqual(ids["first"], first_id)
        self.assertNotIn(ids["second"], (first_id, kafka_frames.ZERO_UUID))


if __name__ == "__main__":
    harness.main()
