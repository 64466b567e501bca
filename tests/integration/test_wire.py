"""Raw Kafka frames against the real broker: the rules clients rely on before any client library
gets involved. ApiVersions at every version (and at a future one, KIP-511), Metadata at every
version, response header versions, pipelining, and the connection closing on frames the broker
must not answer. Frames are built and parsed here by hand, independently of Quire's codec."""

import signal
import struct

import harness
from kafka_frames import (API_VERSIONS, INVALID_REQUEST, METADATA, PRODUCE,
                          UNKNOWN_TOPIC_OR_PARTITION, UNSUPPORTED_VERSION, Conn,
                          api_versions_body, metadata_body, parse_api_versions, parse_metadata,
                          request, uvarint)


# What the broker serves, by API key: (min, max) version, as Apache Kafka 4.3 serves them.
SERVED_APIS = {
    PRODUCE: (0, 13),  # v0-2 answered UNSUPPORTED_VERSION (KAFKA-18659)
    1: (4, 18),   # Fetch
    2: (1, 11),   # ListOffsets
    METADATA: (0, 13),
    8: (2, 10),   # OffsetCommit
    9: (1, 10),   # OffsetFetch
    10: (0, 6),   # FindCoordinator
    11: (0, 9),   # JoinGroup
    12: (0, 4),   # Heartbeat
    13: (0, 5),   # LeaveGroup
    14: (0, 5),   # SyncGroup
    15: (0, 6),   # DescribeGroups
    16: (0, 5),   # ListGroups
    API_VERSIONS: (0, 4),
    19: (2, 7),   # CreateTopics
    20: (1, 6),   # DeleteTopics
    21: (0, 2),   # DeleteRecords
    22: (0, 5),   # InitProducerId
    23: (2, 4),   # OffsetForLeaderEpoch
    32: (1, 4),   # DescribeConfigs
    33: (0, 2),   # AlterConfigs
    35: (1, 5),   # DescribeLogDirs
    37: (0, 3),   # CreatePartitions
    42: (0, 2),   # DeleteGroups
    44: (0, 1),   # IncrementalAlterConfigs
    47: (0, 0),   # OffsetDelete
    60: (0, 2),   # DescribeCluster
    74: (0, 1),   # ListConfigResources
    75: (0, 0),   # DescribeTopicPartitions
}


class Wire(harness.BrokerTestCase):
    def connect(self, broker):
        conn = Conn(broker)
        self.addCleanup(conn.close)
        return conn

    def test_api_versions_at_every_version_lists_exactly_the_served_apis(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        for version in range(0, 5):
            conn.send(request(API_VERSIONS, version, 100 + version, api_versions_body(version),
                              flexible=version >= 3))
            correlation, error, apis = parse_api_versions(conn.response(), version)
            self.assertEqual(correlation, 100 + version)
            self.assertEqual(error, 0)
            self.assertEqual(apis, SERVED_APIS)

    def test_future_api_versions_gets_a_v0_answer_with_its_own_range(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        conn.send(request(API_VERSIONS, 9, 7, b"\x01\x01\x00whatever", flexible=True))
        correlation, error, apis = parse_api_versions(conn.response(), 0)
        self.assertEqual((correlation, error), (7, UNSUPPORTED_VERSION))
        self.assertEqual(apis, {API_VERSIONS: (0, 4)})
        # The connection stays usable for a retry at a version both sides know.
        conn.send(request(API_VERSIONS, 3, 8, api_versions_body(3), flexible=True))
        self.assertEqual(parse_api_versions(conn.response(), 3)[:2], (8, 0))

    def test_api_versions_refuses_a_malformed_client_software_name(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        body = uvarint(5) + b"-bad" + uvarint(4) + b"1.0" + b"\x00"
        conn.send(request(API_VERSIONS, 3, 1, body, flexible=True))
        _, error, apis = parse_api_versions(conn.response(), 3)
        self.assertEqual(error, INVALID_REQUEST)
        self.assertEqual(apis, {})

    def test_metadata_at_every_version(self):
        broker = self.start_broker(["node.id=4"])
        cluster_id = broker.read_meta_properties()["cluster.id"]
        conn = self.connect(broker)
        for version in range(0, 14):
            conn.send(request(METADATA, version, version, metadata_body(version, None),
                              flexible=version >= 9))
            md = parse_metadata(conn.response(), version)
            self.assertEqual(md["correlation"], version)
            self.assertEqual([(b["node_id"], b["host"], b["port"]) for b in md["brokers"]],
                             [(4, "127.0.0.1", broker.port)], f"v{version}")
            if version >= 1:
                self.assertEqual(md["controller_id"], 4)
                self.assertIsNone(md["brokers"][0]["rack"])
            if version >= 2:
                self.assertEqual(md["cluster_id"], cluster_id)
            self.assertEqual(md["topics"], [])

    def test_metadata_names_unknown_topics_at_old_and_new_versions(self):
        broker = self.start_broker(["auto.create.topics.enable=false"])
        conn = self.connect(broker)
        for version in (1, 9, 12):
            conn.send(request(METADATA, version, 1, metadata_body(version, ["a", "bb"]),
                              flexible=version >= 9))
            md = parse_metadata(conn.response(), version)
            self.assertEqual(md["topics"], [{"error": UNKNOWN_TOPIC_OR_PARTITION, "name": "a"},
                                            {"error": UNKNOWN_TOPIC_OR_PARTITION, "name": "bb"}])

    def test_pipelined_requests_are_answered_in_order(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        batch = b"".join(
            request(METADATA, 12, 10 + i, metadata_body(12, None), flexible=True) if i % 2 else
            request(API_VERSIONS, 3, 10 + i, api_versions_body(3), flexible=True)
            for i in range(6))
        conn.send(batch)
        for i in range(6):
            payload = conn.response()
            self.assertEqual(struct.unpack(">i", payload[:4])[0], 10 + i)

    def test_oversized_frame_closes_the_connection(self):
        broker = self.start_broker(["socket.request.max.bytes=1000"])
        conn = self.connect(broker)
        conn.send(struct.pack(">i", 1001) + b"\x00" * 64)
        self.assertTrue(conn.is_closed())
        self.assertIn("socket.request.max.bytes", broker.log_text())

    def test_negative_length_closes_the_connection(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        conn.send(struct.pack(">i", -5))
        self.assertTrue(conn.is_closed())

    def test_unserved_and_unknown_apis_close_the_connection(self):
        broker = self.start_broker()
        for key in (57, 9999):  # UpdateFeatures (in the codec, not served), unknown
            conn = self.connect(broker)
            conn.send(request(key, 9, 1, b"\x00" * 8, flexible=True))
            self.assertTrue(conn.is_closed(), f"api key {key}")

    def test_undecodable_body_closes_the_connection(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        # Metadata v1 announcing 1,000,000 topics in a 4-byte body.
        conn.send(request(METADATA, 1, 1, struct.pack(">i", 1000000), flexible=False))
        self.assertTrue(conn.is_closed())
        # The broker itself is fine.
        again = self.connect(broker)
        again.send(request(METADATA, 1, 2, metadata_body(1, None), flexible=False))
        self.assertEqual(parse_metadata(again.response(), 1)["correlation"], 2)

    def test_sigint_with_open_connections_stops_cleanly(self):
        broker = self.start_broker()
        conn = self.connect(broker)
        conn.send(request(API_VERSIONS, 0, 1, b"", flexible=False))
        conn.response()
        broker.proc.send_signal(signal.SIGINT)
        self.assertEqual(broker.proc.wait(10), 0)
        self.assertTrue(conn.is_closed())
        self.assertIn("SIGINT received", broker.log_text())

    def test_sigterm_as_soon_as_the_listener_is_logged_stops_cleanly(self):
        # The harness (and any supervisor) may stop a broker the moment it logs "listening on":
        # startup work after that line (metadata replay) must not leave SIGTERM fatal.
        for _ in range(3):
            broker = self.start_broker()
            broker.proc.send_signal(signal.SIGTERM)
            self.assertEqual(broker.proc.wait(10), 0, broker.log_text())


if __name__ == "__main__":
    harness.main()
