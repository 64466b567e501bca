"""kafka-python 2.0.2 (an independent pure-Python client) negotiates versions and reads metadata."""

from kafka import KafkaAdminClient, KafkaClient, KafkaConsumer

import harness

TIMEOUT_MS = 10000


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


if __name__ == "__main__":
    harness.main()
