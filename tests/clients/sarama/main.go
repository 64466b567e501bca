// Reads cluster metadata with sarama 1.22 (Debian's golang-github-shopify-sarama-dev) and prints
// what sarama decoded as one JSON object on stdout, for tests/integration/test_sarama.py.
//
//	sarama_metadata BOOTSTRAP [CA_FILE]
//
// With CA_FILE the connection is TLS (config.Net.TLS) trusting that CA. Build without modules:
//
//	GO111MODULE=off GOPATH=$TMP/gopath:/usr/share/gocode go build -o sarama_metadata main.go
//
// sarama pins request versions from config.Version rather than negotiating them (it sends no
// ApiVersions); V2_2_0_0 is the newest this sarama defines: its client sends Metadata v5, while
// ClusterAdmin.DescribeCluster sends Metadata v0.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"os"
	"sort"
	"time"

	"github.com/Shopify/sarama"
)

type brokerJSON struct {
	ID   int32  `json:"id"`
	Addr string `json:"addr"`
}

type topicJSON struct {
	Name       string `json:"name"`
	ErrorCode  int16  `json:"error_code"`
	Partitions int    `json:"partitions"`
}

type output struct {
	Version string `json:"version"`
	// client.Brokers(), client.Controller(), client.Topics() after NewClient's metadata refresh
	Brokers    []brokerJSON `json:"brokers"`
	Controller brokerJSON   `json:"controller"`
	Topics     []string     `json:"topics"`
	// client.RefreshMetadata("missing"): sarama's error (a KError) for a topic that does not exist
	MissingTopicError     string `json:"missing_topic_error"`
	MissingTopicErrorCode int16  `json:"missing_topic_error_code"`
	// a Metadata request (the version sarama uses for config.Version) sent through the controller
	MetadataVersion int16        `json:"metadata_version"`
	ClusterID       *string      `json:"cluster_id"`
	ControllerID    int32        `json:"controller_id"`
	MetadataBrokers []brokerJSON `json:"metadata_brokers"`
	MetadataTopics  []topicJSON  `json:"metadata_topics"`
	// ClusterAdmin.DescribeCluster()
	AdminBrokers      []brokerJSON `json:"admin_brokers"`
	AdminControllerID int32        `json:"admin_controller_id"`
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "sarama_metadata: %s: %v\n", what, err)
	os.Exit(1)
}

func brokersJSON(bs []*sarama.Broker) []brokerJSON {
	out := []brokerJSON{}
	for _, b := range bs {
		out = append(out, brokerJSON{b.ID(), b.Addr()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: sarama_metadata BOOTSTRAP [CA_FILE]")
		os.Exit(2)
	}
	addrs := []string{os.Args[1]}
	conf := sarama.NewConfig()
	conf.ClientID = "quire-it-sarama"
	conf.Version = sarama.V2_2_0_0
	conf.Net.DialTimeout = 10 * time.Second
	conf.Net.ReadTimeout = 10 * time.Second
	conf.Net.WriteTimeout = 10 * time.Second
	conf.Metadata.Retry.Max = 1
	conf.Metadata.Retry.Backoff = 50 * time.Millisecond
	conf.Admin.Timeout = 10 * time.Second
	if len(os.Args) == 3 {
		pem, err := ioutil.ReadFile(os.Args[2])
		if err != nil {
			fail("reading the CA file", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fail("reading the CA file", fmt.Errorf("no certificate in %s", os.Args[2]))
		}
		conf.Net.TLS.Enable = true
		conf.Net.TLS.Config = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	out := output{Version: conf.Version.String()}

	client, err := sarama.NewClient(addrs, conf)
	if err != nil {
		fail("NewClient", err)
	}
	defer client.Close()
	out.Brokers = brokersJSON(client.Brokers())
	controller, err := client.Controller()
	if err != nil {
		fail("Controller", err)
	}
	out.Controller = brokerJSON{controller.ID(), controller.Addr()}
	if out.Topics, err = client.Topics(); err != nil {
		fail("Topics", err)
	}
	sort.Strings(out.Topics)

	err = client.RefreshMetadata("missing")
	if err == nil {
		fail("RefreshMetadata(missing)", fmt.Errorf("no error for a topic that does not exist"))
	}
	out.MissingTopicError = err.Error()
	if kerr, ok := err.(sarama.KError); ok {
		out.MissingTopicErrorCode = int16(kerr)
	} else {
		out.MissingTopicErrorCode = -1
	}

	// What client.go sends for this config.Version (Metadata v5 from Kafka 1.0 on).
	req := &sarama.MetadataRequest{Topics: []string{"missing"}, AllowAutoTopicCreation: false}
	if conf.Version.IsAtLeast(sarama.V1_0_0_0) {
		req.Version = 5
	} else if conf.Version.IsAtLeast(sarama.V0_10_0_0) {
		req.Version = 1
	}
	out.MetadataVersion = req.Version
	resp, err := controller.GetMetadata(req)
	if err != nil {
		fail("GetMetadata", err)
	}
	out.ClusterID = resp.ClusterID
	out.ControllerID = resp.ControllerID
	out.MetadataBrokers = brokersJSON(resp.Brokers)
	out.MetadataTopics = []topicJSON{}
	for _, t := range resp.Topics {
		out.MetadataTopics = append(out.MetadataTopics,
			topicJSON{t.Name, int16(t.Err), len(t.Partitions)})
	}

	admin, err := sarama.NewClusterAdmin(addrs, conf)
	if err != nil {
		fail("NewClusterAdmin", err)
	}
	defer admin.Close()
	adminBrokers, adminController, err := admin.DescribeCluster()
	if err != nil {
		fail("DescribeCluster", err)
	}
	out.AdminBrokers = brokersJSON(adminBrokers)
	out.AdminControllerID = adminController

	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail("encoding JSON", err)
	}
}
