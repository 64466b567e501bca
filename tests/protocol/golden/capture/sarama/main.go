// Drives sarama 1.22 (config.Version V2_2_0_0, its newest) through every API it can send, against
// the capture broker. Build: GO111MODULE=off GOPATH=$PWD/gopath:/usr/share/gocode go build.
//   sarama_driver BOOTSTRAP
// Deliberate values: client id golden-sarama, topic golden-topic, group golden-group, created
// topic golden-created (3 partitions, retention.ms=3600000).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
)

func report(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "sarama_driver: %s: %v\n", what, err)
	} else {
		fmt.Fprintf(os.Stderr, "sarama_driver: %s: ok\n", what)
	}
}

type handler struct{ done chan struct{} }

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "golden-meta")
		select {
		case <-h.done:
		default:
			close(h.done)
		}
	}
	return nil
}

func config() *sarama.Config {
	c := sarama.NewConfig()
	c.ClientID = "golden-sarama"
	c.Version = sarama.V2_2_0_0
	c.Metadata.Retry.Max = 1
	c.Admin.Timeout = 5 * time.Second
	return c
}

func main() {
	addrs := []string{os.Args[1]}

	pc := config()
	pc.Producer.Idempotent = true
	pc.Producer.RequiredAcks = sarama.WaitForAll
	pc.Net.MaxOpenRequests = 1
	pc.Producer.Return.Successes = true
	pc.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(addrs, pc)
	report("producer", err)
	if err == nil {
		_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: "golden-topic", Partition: 0,
			Key: sarama.StringEncoder("golden-key"), Value: sarama.StringEncoder("golden-value"),
			Headers: []sarama.RecordHeader{{Key: []byte("golden-header"), Value: []byte("h")}}})
		report("send", err)
		p.Close()
	}

	cc := config()
	cc.Consumer.Offsets.Initial = sarama.OffsetOldest
	cc.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cc.Consumer.Group.Session.Timeout = 6 * time.Second
	cc.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
	g, err := sarama.NewConsumerGroup(addrs, "golden-group", cc)
	report("consumer group", err)
	if err == nil {
		h := &handler{done: make(chan struct{})}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		go func() {
			select {
			case <-h.done:
				time.Sleep(700 * time.Millisecond)
			case <-ctx.Done():
			}
			cancel()
		}()
		report("consume", g.Consume(ctx, []string{"golden-topic"}, h))
		report("consumer close", g.Close())
	}

	client, err := sarama.NewClient(addrs, config())
	report("client", err)
	if err == nil {
		_, err = client.GetOffset("golden-topic", 0, sarama.OffsetNewest)
		report("GetOffset", err)
		client.Close()
	}

	a, err := sarama.NewClusterAdmin(addrs, config())
	report("admin", err)
	if err != nil {
		return
	}
	retention := "3600000"
	report("CreateTopic", a.CreateTopic("golden-created", &sarama.TopicDetail{NumPartitions: 3,
		ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}, false))
	report("CreatePartitions", a.CreatePartitions("golden-created", 5, nil, false))
	_, err = a.DescribeTopics([]string{"golden-topic"})
	report("DescribeTopics", err)
	_, _, err = a.DescribeCluster()
	report("DescribeCluster", err)
	_, err = a.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "golden-topic",
		ConfigNames: []string{"cleanup.policy"}})
	report("DescribeConfig", err)
	compact := "compact"
	report("AlterConfig", a.AlterConfig(sarama.TopicResource, "golden-topic",
		map[string]*string{"cleanup.policy": &compact}, false))
	report("DeleteRecords", a.DeleteRecords("golden-topic", map[int32]int64{0: 1}))
	res := sarama.Resource{ResourceType: sarama.AclResourceTopic, ResourceName: "golden-topic",
		ResoucePatternType: sarama.AclPatternLiteral} // sic: sarama 1.22 spells it so
	acl := sarama.Acl{Principal: "User:golden", Host: "*", Operation: sarama.AclOperationRead,
		PermissionType: sarama.AclPermissionAllow}
	report("CreateACL", a.CreateACL(res, acl))
	name, principal := "golden-topic", "User:golden"
	filter := sarama.AclFilter{Version: 1, ResourceType: sarama.AclResourceTopic, ResourceName: &name,
		ResourcePatternTypeFilter: sarama.AclPatternLiteral, Principal: &principal,
		Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny}
	_, err = a.ListAcls(filter)
	report("ListAcls", err)
	_, err = a.DeleteACL(filter, false)
	report("DeleteACL", err)
	_, err = a.ListConsumerGroups()
	report("ListConsumerGroups", err)
	_, err = a.DescribeConsumerGroups([]string{"golden-group"})
	report("DescribeConsumerGroups", err)
	_, err = a.ListConsumerGroupOffsets("golden-group", map[string][]int32{"golden-topic": {0}})
	report("ListConsumerGroupOffsets", err)
	report("DeleteTopic", a.DeleteTopic("golden-created"))
	a.Close()

	sc := config()
	sc.Net.SASL.Enable = true
	sc.Net.SASL.User = "golden"
	sc.Net.SASL.Password = "golden-secret"
	sc.Net.SASL.Handshake = true
	sclient, err := sarama.NewClient(addrs, sc)
	report("sasl client", err)
	if err == nil {
		sclient.Close()
	}
}
