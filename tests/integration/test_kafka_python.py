"""kafka-python 2.0.2 (an independent pure-Python client) negotiates versions, reads metadata and
administers topics: its KafkaAdminClient pins the versions it knows (CreateTopics v3, DeleteTopics
v3, CreatePartitions v1, DescribeConfigs v2, AlterConfigs v1) and fails on any it cannot match."""

import contextlib

from kafka import KafkaAdminClient, KafkaClient, KafkaConsumer
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
from kafka.errors import (InvalidConfigurationError, InvalidPartitionsError,
                          InvalidReplicationFactorError, InvalidTopicError,
                          TopicAlreadyExistsError, UnknownTopicOrPartitionError)

import harness
import kafka_frames

TIMEOUT_MS = 10000
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]
DYNAMIC_TOPIC_CONFIG, DEFAULT_CONFIG = 1, 5


@contextlib.contextmanager
def admin_client(broker):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap,
                             api_version_auto_timeout_ms=TIMEOUT_MS)
    try:
        yield admin
    finally:
        admin.close()


@contextlib.contextmanager
def consumer(broker):
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, api_version_auto_timeout_ms=TIMEOUT_MS)
    try:
        yield c
    finally:
        c.close()


def topic_error_codes(response):
    """{topic: error code} of a CreateTopics / DeleteTopics / CreatePartitions response."""
    errors = getattr(response, "topic_errors", None) or response.topic_error_codes
    return {t[0]: t[1] for t in errors}


class KafkaPythonMetadata(harness.BrokerTestCase):
    def test_check_version_infers_a_modern_broker(self):
        broker = self.start_broker()
        client = KafkaClient(bootstrap_servers=broker.bootstrap,
                             api_version_auto_timeout_ms=TIMEOUT_MS)
        try:
            version = client.check_version(timeout=10)
        finally:
            client.close()
        self.assertIsInstance(version, tuple)
        self.assertTrue(version and all(isinstance(v, int) for v in version), version)
        self.assertGreaterEqual(version, (0, 10))

    def test_consumer_sees_no_topics(self):
        broker = self.start_broker()
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap,
                                 api_version_auto_timeout_ms=TIMEOUT_MS)
        try:
            topics = consumer.topics()
        finally:
            consumer.close()
        self.assertEqual(topics, set())

    def test_admin_describe_cluster_shows_the_broker(self):
        broker = self.start_broker()
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap,
                                 api_version_auto_timeout_ms=TIMEOUT_MS)
        try:
            cluster = admin.describe_cluster()
            topics = admin.list_topics()
        finally:
            admin.close()
        brokers = [(b["node_id"], b["host"], b["port"]) for b in cluster["brokers"]]
        self.assertEqual(brokers, [(1, "127.0.0.1", broker.port)])
        self.assertEqual(cluster["controller_id"], 1)
        self.assertEqual(cluster["cluster_id"], broker.read_meta_properties()["cluster.id"])
        self.assertEqual(topics, [])



class KafkaPythonAdmin(harness.BrokerTestCase):
    def setUp(self):
        self.broker = self.start_broker(NO_AUTO_CREATE)

    def test_created_topics_are_seen_by_admin_consumer_and_the_wire(self):
        with admin_client(self.broker) as admin:
            response = admin.create_topics([NewTopic("orders", 3, 1), NewTopic("audit", 1, 1)])
            self.assertEqual(topic_error_codes(response), {"orders": 0, "audit": 0})
            self.assertEqual(sorted(admin.list_topics()), ["audit", "orders"])
            described = {t["topic"]: t for t in admin.describe_topics(["orders"])}
        self.assertEqual(described["orders"]["error_code"], 0)
        self.assertEqual(sorted((p["partition"], p["leader"], p["replicas"], p["isr"])
                                for p in described["orders"]["partitions"]),
                         [(i, 1, [1], [1]) for i in range(3)])
        with consumer(self.broker) as c:
            self.assertEqual(c.topics(), {"orders", "audit"})
            self.assertEqual(c.partitions_for_topic("orders"), {0, 1, 2})
            self.assertEqual(c.partitions_for_topic("audit"), {0})
        raw = kafka_frames.listed_topics(self.broker)
        self.assertEqual({n: len(t["partitions"]) for n, t in raw.items()},
                         {"orders": 3, "audit": 1})

    def test_create_topics_errors_are_raised_as_kafkas(self):
        cases = [(NewTopic("..", 1, 1), InvalidTopicError),
                 (NewTopic("zero", 0, 1), InvalidPartitionsError),
                 (NewTopic("rf2", 1, 2), InvalidReplicationFactorError),
                 (NewTopic("cfg", 1, 1, topic_configs={"no.such.config": "1"}),
                  InvalidConfigurationError)]
        with admin_client(self.broker) as admin:
            admin.create_topics([NewTopic("taken", 1, 1)])
            cases.append((NewTopic("taken", 1, 1), TopicAlreadyExistsError))
            for topic, error in cases:
                with self.assertRaises(error, msg=topic.name):
                    admin.create_topics([topic])
            self.assertEqual(admin.list_topics(), ["taken"])

    def test_validate_only_creates_nothing(self):
        with admin_client(self.broker) as admin:
            response = admin.create_topics([NewTopic("dry", 2, 1)], validate_only=True)
            self.assertEqual(topic_error_codes(response), {"dry": 0})
            self.assertEqual(admin.list_topics(), [])

    def test_create_partitions_and_delete_topics(self):
        with admin_client(self.broker) as admin:
            admin.create_topics([NewTopic("grow", 2, 1), NewTopic("doomed", 1, 1)])
            self.assertEqual(topic_error_codes(admin.create_partitions(
                {"grow": NewPartitions(5)})), {"grow": 0})
            with self.assertRaises(InvalidPartitionsError):
                admin.create_partitions({"grow": NewPartitions(5)})
            with self.assertRaises(UnknownTopicOrPartitionError):
                admin.create_partitions({"ghost": NewPartitions(2)})
            self.assertEqual(topic_error_codes(admin.delete_topics(["doomed"])), {"doomed": 0})
            with self.assertRaises(UnknownTopicOrPartitionError):
                admin.delete_topics(["ghost"])
        with consumer(self.broker) as c:
            self.assertEqual(c.topics(), {"grow"})
            self.assertEqual(c.partitions_for_topic("grow"), set(range(5)))
        self.assertEqual(self.broker.partition_dirs(), [f"grow-{i}" for i in range(5)])

    def test_describe_and_alter_configs(self):
        with admin_client(self.broker) as admin:
            admin.create_topics([NewTopic("tuned", 1, 1, topic_configs={"retention.ms": "1000"})])
            resource = ConfigResource(ConfigResourceType.TOPIC, "tuned")
            [response] = admin.describe_configs([resource])
            [(error, _, rtype, name, entries)] = response.resources
            self.assertEqual((error, rtype, name), (0, 2, "tuned"))
            configs = {e[0]: e for e in entries}
            # DescribeConfigs v2 entries: name, value, read_only, source, sensitive, synonyms.
            self.assertEqual(configs["retention.ms"][1:4], ("1000", False, DYNAMIC_TOPIC_CONFIG))
            self.assertEqual(configs["cleanup.policy"][1:4], ("delete", False, DEFAULT_CONFIG))
            altered = ConfigResource(ConfigResourceType.TOPIC, "tuned",
                                     configs={"retention.ms": "2000"})
            response = admin.alter_configs([altered])  # one response, not a list
            self.assertEqual([tuple(r) for r in response.resources], [(0, None, 2, "tuned")])
            [response] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC,
                                                                "tuned", {"retention.ms": None})])
            entries = response.resources[0][4]
        self.assertEqual([(e[0], e[1], e[3]) for e in entries],
                         [("retention.ms", "2000", DYNAMIC_TOPIC_CONFIG)])

    def test_describe_broker_configs(self):
        with admin_client(self.broker) as admin:
            [response] = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
        [(error, _, rtype, name, entries)] = response.resources
        self.assertEqual((error, rtype, name), (0, 4, "1"))
        configs = {e[0]: e for e in entries}
        self.assertEqual(configs["auto.create.topics.enable"][1], "false")
        self.assertEqual(configs["log.dirs"][1], self.broker.data_dir)


class KafkaPythonAutoCreation(harness.BrokerTestCase):
    def test_a_metadata_request_for_a_new_topic_creates_it(self):
        broker = self.start_broker(["num.partitions=3"])
        # kafka-python's metadata requests for named topics allow auto-creation.
        client = KafkaClient(bootstrap_servers=broker.bootstrap,
                             api_version_auto_timeout_ms=TIMEOUT_MS)
        try:
            client.add_topic("fresh")
            harness.wait_until(lambda: (client.poll(timeout_ms=100) or True) and
                               client.cluster.partitions_for_topic("fresh"),
                               what="partitions of the auto-created topic")
            self.assertEqual(client.cluster.partitions_for_topic("fresh"), {0, 1, 2})
        finally:
            client.close()
        with consumer(broker) as c:
            self.assertEqual(c.topics(), {"fresh"})


if __name__ == "__main__":
    harness.main()
