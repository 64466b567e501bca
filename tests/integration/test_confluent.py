"""confluent-kafka 1.7 (Python over librdkafka) reads Quire's cluster metadata."""

import gc

from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient

import harness

# base64url("QuireTestCluster") without padding: a valid 22-character Kafka cluster id.
FIXED_CLUSTER_ID = "UXVpcmVUZXN0Q2x1c3Rlcg"
NO_AUTO_CREATE = ["auto.create.topics.enable=false"]


def list_topics(broker, **kwargs):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    try:
        return admin.list_topics(timeout=10, **kwargs)
    finally:
        # Drop the client (and its connections) now, before the broker is asked to stop.
        del admin
        gc.collect()


class ConfluentMetadata(harness.BrokerTestCase):
    def assert_single_broker(self, md, broker, node_id=1):
        self.assertEqual(sorted(md.brokers), [node_id])
        b = md.brokers[node_id]
        self.assertEqual((b.id, b.host, b.port), (node_id, "127.0.0.1", broker.port))

    def test_cluster_metadata_of_a_fresh_broker(self):
        broker = self.start_broker()
        md = list_topics(broker)
        meta = broker.read_meta_properties()
        self.assertIsInstance(md.cluster_id, str)
        self.assertEqual(len(md.cluster_id), 22, md.cluster_id)
        self.assertEqual(md.cluster_id, meta["cluster.id"])
        self.assertEqual(meta["node.id"], "1")
        self.assertEqual(md.controller_id, 1)
        self.assert_single_broker(md, broker)
        self.assertEqual(md.orig_broker_id, 1)
        self.assertEqual(md.topics, {})

    def test_configured_cluster_id_is_reported_and_stored(self):
        broker = self.start_broker([f"cluster.id={FIXED_CLUSTER_ID}"])
        md = list_topics(broker)
        self.assertEqual(md.cluster_id, FIXED_CLUSTER_ID)
        self.assertEqual(broker.read_meta_properties()["cluster.id"], FIXED_CLUSTER_ID)
        self.assert_single_broker(md, broker)

    def test_missing_topic_has_unknown_topic_error(self):
        broker = self.start_broker(NO_AUTO_CREATE)
        md = list_topics(broker, topic="missing")
        self.assertEqual(list(md.topics), ["missing"])
        topic = md.topics["missing"]
        self.assertIsNotNone(topic.error, "expected an error for a topic that does not exist")
        self.assertEqual(topic.error.code(), KafkaError.UNKNOWN_TOPIC_OR_PART, str(topic.error))
        self.assertEqual(topic.partitions, {})
        self.assert_single_broker(md, broker)


if __name__ == "__main__":
    harness.main()
