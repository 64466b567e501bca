"""sarama 1.22 (Go, Debian's golang-github-shopify-sarama-dev) reads Quire's cluster metadata over
PLAINTEXT and over SSL (config.Net.TLS): client.Brokers(), client.Controller(), client.Topics(),
RefreshMetadata of a topic that does not exist, the cluster id of a Metadata v5 response, and
ClusterAdmin.DescribeCluster(). config.Version is sarama.V2_2_0_0, the newest sarama 1.22 defines.

tests/clients/sarama/main.go is built once per run with the Go toolchain (GOPATH mode, the
Debian-packaged sources under /usr/share/gocode; the Go build cache makes later builds fast)."""

import shutil

import certs
import client_programs
import harness

NO_AUTO_CREATE = "auto.create.topics.enable=false"
UNKNOWN_TOPIC_OR_PARTITION = 3
CERTS = certs.TempCerts("quire-sarama-tls-")
_work_dir = None
_binary = None


def setUpModule():
    global _work_dir, _binary
    _work_dir, _binary = client_programs.build_sarama_program("sarama")
    CERTS.make()


def tearDownModule():
    CERTS.remove()
    if _work_dir:
        shutil.rmtree(_work_dir, ignore_errors=True)


def sarama_metadata(bootstrap, ca_file=None):
    return client_programs.run_json([_binary, bootstrap] + ([ca_file] if ca_file else []))


class SaramaMetadata(harness.BrokerTestCase):
    def assert_metadata(self, out, broker, node_id, port):
        expected = [{"id": node_id, "addr": f"127.0.0.1:{port}"}]
        self.assertEqual(out["version"], "2.2.0", out)
        self.assertEqual(out["brokers"], expected, out)
        self.assertEqual(out["controller"], expected[0], out)
        self.assertEqual(out["topics"], [], out)
        # RefreshMetadata("missing") ends, after its retry, with the topic's error as a KError
        self.assertEqual(out["missing_topic_error_code"], UNKNOWN_TOPIC_OR_PARTITION, out)
        # Metadata v5 (what sarama sends for V2_2_0_0) carries the cluster and controller ids
        meta = broker.read_meta_properties()
        self.assertEqual(meta["node.id"], str(node_id))
        self.assertEqual(out["metadata_version"], 5, out)
        self.assertEqual(out["cluster_id"], meta["cluster.id"], out)
        self.assertEqual(out["controller_id"], node_id, out)
        self.assertEqual(out["metadata_brokers"], expected, out)
        self.assertEqual(out["metadata_topics"], [{"name": "missing", "partitions": 0,
                                                   "error_code": UNKNOWN_TOPIC_OR_PARTITION}], out)
        # DescribeCluster sends Metadata v0, which has no controller id: sarama reports -1
        self.assertEqual(out["admin_brokers"], expected, out)
        self.assertEqual(out["admin_controller_id"], -1, out)

    def test_metadata_over_plaintext(self):
        broker = self.start_broker(["node.id=7", NO_AUTO_CREATE])
        self.assert_metadata(sarama_metadata(broker.bootstrap), broker, 7, broker.port)

    def test_metadata_over_ssl_and_plaintext_listeners_of_one_broker(self):
        client_programs.check_plaintext_and_ssl_listeners(self, CERTS, sarama_metadata,
                                                          [NO_AUTO_CREATE])


if __name__ == "__main__":
    harness.main()
