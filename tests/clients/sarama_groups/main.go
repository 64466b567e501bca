// Two sarama 1.22 ConsumerGroup members (Debian's golang-github-shopify-sarama-dev) share a topic,
// then sarama's ClusterAdmin and OffsetManager look at the group; prints what sarama reported as
// one JSON object on stdout, for tests/integration/test_sarama_groups.py.
//
//	sarama_groups BOOTSTRAP TOPIC GROUP COUNT
//
// TOPIC must exist. The members "c1" and "c2" (ClientID quire-it-c1/c2, each its own client) run
// ConsumerGroup.Consume in a loop (a rebalance ends a session; Consume is called again), from the
// oldest offset, with the range strategy; c2 starts once c1, alone, claims every partition; every message is marked (MarkMessage) and the offset
// manager commits what was marked every 100 ms and when the session ends. Each session's Setup
// records the generation, member id and claims. Once the latest sessions of both share a
// generation and together claim every partition, COUNT messages (key "k<i>", value "v<i>") go to
// partition i % partitions through a SyncProducer. When all COUNT were consumed (and a second
// passed, for duplicates to show), while both members are still in the group:
// ClusterAdmin.DescribeConsumerGroups, ClusterAdmin.ListConsumerGroups and a DeleteGroups request
// to the coordinator (ClusterAdmin 1.22 has no DeleteConsumerGroup; Kafka must refuse it:
// NON_EMPTY_GROUP). Then both sessions end (committing) and both members leave (Close sends
// LeaveGroup), and: the partitions' newest offsets (client.GetOffset), the committed offsets
// through ClusterAdmin.ListConsumerGroupOffsets and through an OffsetManager's NextOffset,
// DescribeConsumerGroups, ListConsumerGroups, DeleteGroups (now accepted), ListConsumerGroups,
// DescribeConsumerGroups, DeleteGroups again and ListConsumerGroupOffsets once more.
//
// config.Version is V2_2_0_0: sarama 1.22 then sends FindCoordinator v0, JoinGroup v1, SyncGroup,
// Heartbeat, LeaveGroup, DescribeGroups and ListGroups v0, OffsetFetch v1, DeleteGroups v0, and
// OffsetCommit v2 because Consumer.Offsets.Retention is set (with the default, 0, sarama 1.22
// sends OffsetCommit v1, which Kafka 4.0 removed (KIP-896) and Quire does not serve either).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/Shopify/sarama"
)

const waitTimeout = 30 * time.Second

type sessionJSON struct {
	Generation int32              `json:"generation"`
	MemberID   string             `json:"member_id"`
	Claims     map[string][]int32 `json:"claims"`
}

type memberJSON struct {
	MemberID   string             `json:"member_id"`
	ClientID   string             `json:"client_id"`
	ClientHost string             `json:"client_host"`
	Topics     []string           `json:"topics"`
	Assignment map[string][]int32 `json:"assignment"`
}

type groupJSON struct {
	Err          int16        `json:"err"`
	GroupID      string       `json:"group_id"`
	State        string       `json:"state"`
	ProtocolType string       `json:"protocol_type"`
	Protocol     string       `json:"protocol"`
	Members      []memberJSON `json:"members"`
}

type offsetJSON struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	Err       int16 `json:"err"`
}

type output struct {
	Version              string                   `json:"version"`
	Partitions           int                      `json:"partitions"`
	Sessions             map[string][]sessionJSON `json:"sessions"`
	Errors               []string                 `json:"errors"`
	Consumed             [][5]interface{}         `json:"consumed"`
	DescribeActive       []groupJSON              `json:"describe_active"`
	ListActive           map[string]string        `json:"list_active"`
	DeleteActive         map[string]int16         `json:"delete_active"`
	Ends                 []int64                  `json:"ends"`
	CommittedAdmin       []offsetJSON             `json:"committed_admin"`
	CommittedManager     []int64                  `json:"committed_manager"`
	DescribeAfter        []groupJSON              `json:"describe_after"`
	ListAfter            map[string]string        `json:"list_after"`
	Deleted              map[string]int16         `json:"deleted"`
	ListAfterDelete      map[string]string        `json:"list_after_delete"`
	DescribeAfterDelete  []groupJSON              `json:"describe_after_delete"`
	DeleteAgain          map[string]int16         `json:"delete_again"`
	CommittedAfterDelete []offsetJSON             `json:"committed_after_delete"`
}

var (
	mu  sync.Mutex
	out = output{Sessions: map[string][]sessionJSON{}, Errors: []string{},
		Consumed: [][5]interface{}{}}
)

// fail prints what was reported so far (the consumed messages counted by member and partition)
// and exits 1.
func fail(what string, err error) {
	mu.Lock()
	so := out
	so.Consumed = nil
	partial, _ := json.Marshal(so)
	counts := map[string]int{}
	for _, c := range out.Consumed {
		counts[fmt.Sprintf("%v/%v", c[0], c[1])]++
	}
	mu.Unlock()
	fmt.Fprintf(os.Stderr, "sarama_groups: %s: %v\nso far: %s\nconsumed by member/partition: %v\n",
		what, err, partial, counts)
	os.Exit(1)
}

func addError(format string, args ...interface{}) {
	mu.Lock()
	out.Errors = append(out.Errors, fmt.Sprintf(format, args...))
	mu.Unlock()
}

// handler records each session and every message, and marks what it consumed.
type handler struct{ name string }

func (h handler) Setup(s sarama.ConsumerGroupSession) error {
	claims := map[string][]int32{}
	for topic, partitions := range s.Claims() {
		claims[topic] = append([]int32{}, partitions...)
	}
	mu.Lock()
	out.Sessions[h.name] = append(out.Sessions[h.name],
		sessionJSON{s.GenerationID(), s.MemberID(), claims})
	mu.Unlock()
	return nil
}

func (h handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h handler) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		mu.Lock()
		out.Consumed = append(out.Consumed, [5]interface{}{h.name, msg.Partition, msg.Offset,
			string(msg.Key), string(msg.Value)})
		mu.Unlock()
		s.MarkMessage(msg, "")
	}
	return nil
}

func waitFor(what string, probe func() bool) {
	deadline := time.Now().Add(waitTimeout)
	for {
		mu.Lock()
		ok := probe()
		mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			fail("waiting", fmt.Errorf("no %s within %v", what, waitTimeout))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func describe(admin sarama.ClusterAdmin, group string) []groupJSON {
	groups, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil {
		fail("DescribeConsumerGroups", err)
	}
	result := []groupJSON{}
	for _, g := range groups {
		members := []memberJSON{}
		for id, m := range g.Members {
			member := memberJSON{MemberID: id, ClientID: m.ClientId, ClientHost: m.ClientHost}
			if len(m.MemberMetadata) > 0 {
				meta, err := m.GetMemberMetadata()
				if err != nil {
					fail("decoding member metadata", err)
				}
				member.Topics = meta.Topics
			}
			if len(m.MemberAssignment) > 0 {
				assignment, err := m.GetMemberAssignment()
				if err != nil {
					fail("decoding member assignment", err)
				}
				member.Assignment = assignment.Topics
				for _, ps := range member.Assignment {
					sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				}
			}
			members = append(members, member)
		}
		sort.Slice(members, func(i, j int) bool { return members[i].MemberID < members[j].MemberID })
		result = append(result, groupJSON{int16(g.Err), g.GroupId, g.State, g.ProtocolType,
			g.Protocol, members})
	}
	return result
}

func list(admin sarama.ClusterAdmin) map[string]string {
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		fail("ListConsumerGroups", err)
	}
	return groups
}

// deleteGroup sends DeleteGroups v0 to the group's coordinator: the per-group error codes.
func deleteGroup(client sarama.Client, group string) map[string]int16 {
	if err := client.RefreshCoordinator(group); err != nil {
		fail("RefreshCoordinator", err)
	}
	coordinator, err := client.Coordinator(group)
	if err != nil {
		fail("Coordinator", err)
	}
	req := &sarama.DeleteGroupsRequest{}
	req.AddGroup(group)
	resp, err := coordinator.DeleteGroups(req)
	if err != nil {
		fail("DeleteGroups", err)
	}
	codes := map[string]int16{}
	for g, code := range resp.GroupErrorCodes {
		codes[g] = int16(code)
	}
	return codes
}

func committedAdmin(admin sarama.ClusterAdmin, group, topic string, partitions []int32) []offsetJSON {
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: partitions})
	if err != nil {
		fail("ListConsumerGroupOffsets", err)
	}
	if resp.Err != sarama.ErrNoError {
		fail("ListConsumerGroupOffsets", resp.Err)
	}
	offsets := []offsetJSON{}
	for _, p := range partitions {
		block := resp.GetBlock(topic, p)
		if block == nil {
			fail("ListConsumerGroupOffsets", fmt.Errorf("no block for partition %d", p))
		}
		offsets = append(offsets, offsetJSON{p, block.Offset, int16(block.Err)})
	}
	return offsets
}

func main() {
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: sarama_groups BOOTSTRAP TOPIC GROUP COUNT")
		os.Exit(2)
	}
	addrs, topic, group := []string{os.Args[1]}, os.Args[2], os.Args[3]
	count, err := strconv.Atoi(os.Args[4])
	if err != nil {
		fail("COUNT", err)
	}

	newConfig := func(clientID string) *sarama.Config {
		conf := sarama.NewConfig()
		conf.ClientID = clientID
		conf.Version = sarama.V2_2_0_0
		conf.Net.DialTimeout = 10 * time.Second
		conf.Net.ReadTimeout = 15 * time.Second
		conf.Net.WriteTimeout = 10 * time.Second
		conf.Metadata.Retry.Max = 5
		conf.Metadata.Retry.Backoff = 100 * time.Millisecond
		conf.Producer.RequiredAcks = sarama.WaitForAll
		conf.Producer.Return.Successes = true
		conf.Producer.Partitioner = sarama.NewManualPartitioner
		conf.Consumer.MaxWaitTime = 100 * time.Millisecond
		conf.Consumer.Return.Errors = true
		conf.Consumer.Offsets.Initial = sarama.OffsetOldest
		conf.Consumer.Offsets.CommitInterval = 100 * time.Millisecond
		conf.Consumer.Offsets.Retention = time.Hour // OffsetCommit v2, see above
		conf.Consumer.Group.Session.Timeout = 6 * time.Second
		conf.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
		conf.Consumer.Group.Rebalance.Timeout = 10 * time.Second
		conf.Consumer.Group.Rebalance.Retry.Max = 10
		conf.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
		conf.Consumer.Group.Rebalance.Strategy = sarama.BalanceStrategyRange
		return conf
	}
	out.Version = newConfig("").Version.String()
	// sarama's log goes to stderr, which the test shows only when the program fails.
	sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)

	adminConf := newConfig("quire-it-admin")
	client, err := sarama.NewClient(addrs, adminConf)
	if err != nil {
		fail("NewClient", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdmin(addrs, adminConf)
	if err != nil {
		fail("NewClusterAdmin", err)
	}
	defer admin.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		fail("Partitions", err)
	}
	out.Partitions = len(partitions)

	// The members: each Consume call is one session; a rebalance ends it and the loop joins again.
	// c1 first, alone in the group until it claims every partition; then c2 joins, which makes
	// c1 rebalance (its heartbeat gets REBALANCE_IN_PROGRESS, its session ends, it joins again).
	ctx, stop := context.WithCancel(context.Background())
	groups := map[string]sarama.ConsumerGroup{}
	var loops sync.WaitGroup
	start := func(name string) {
		cg, err := sarama.NewConsumerGroup(addrs, group, newConfig("quire-it-"+name))
		if err != nil {
			fail("NewConsumerGroup "+name, err)
		}
		groups[name] = cg
		go func() {
			for err := range cg.Errors() {
				addError("%s: %v", name, err)
			}
		}()
		loops.Add(1)
		go func() {
			defer loops.Done()
			for round := 0; round < 50 && ctx.Err() == nil; round++ {
				if err := cg.Consume(ctx, []string{topic}, handler{name}); err != nil {
					addError("%s: Consume: %v", name, err)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	start("c1")
	waitFor("c1 alone claiming every partition", func() bool {
		s := out.Sessions["c1"]
		return len(s) > 0 && len(s[len(s)-1].Claims[topic]) == len(partitions)
	})
	start("c2")

	// Both in one generation, claiming every partition between them.
	waitFor("assignment over both members", func() bool {
		a, b := out.Sessions["c1"], out.Sessions["c2"]
		if len(a) == 0 || len(b) == 0 {
			return false
		}
		la, lb := a[len(a)-1], b[len(b)-1]
		if la.Generation != lb.Generation {
			return false
		}
		seen := map[int32]bool{}
		for _, p := range append(append([]int32{}, la.Claims[topic]...), lb.Claims[topic]...) {
			seen[p] = true
		}
		return len(seen) == len(partitions) &&
			len(la.Claims[topic])+len(lb.Claims[topic]) == len(partitions)
	})

	producer, err := sarama.NewSyncProducer(addrs, newConfig("quire-it-producer"))
	if err != nil {
		fail("NewSyncProducer", err)
	}
	msgs := make([]*sarama.ProducerMessage, count)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Partition: int32(i % len(partitions)),
			Key:   sarama.StringEncoder(fmt.Sprintf("k%d", i)),
			Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))}
	}
	if err := producer.SendMessages(msgs); err != nil {
		fail("SendMessages", err)
	}
	producer.Close()
	waitFor(fmt.Sprintf("%d messages consumed", count), func() bool {
		return len(out.Consumed) >= count
	})
	time.Sleep(time.Second)

	out.DescribeActive = describe(admin, group)
	out.ListActive = list(admin)
	out.DeleteActive = deleteGroup(client, group)

	// End the sessions (the offset manager commits what was marked), then leave.
	stop()
	loops.Wait()
	for _, name := range []string{"c1", "c2"} {
		if err := groups[name].Close(); err != nil {
			addError("%s: Close: %v", name, err)
		}
	}

	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			fail("GetOffset", err)
		}
		out.Ends = append(out.Ends, end)
	}
	out.CommittedAdmin = committedAdmin(admin, group, topic, partitions)
	manager, err := sarama.NewOffsetManagerFromClient(group, client)
	if err != nil {
		fail("NewOffsetManagerFromClient", err)
	}
	for _, p := range partitions {
		pom, err := manager.ManagePartition(topic, p)
		if err != nil {
			fail("ManagePartition", err)
		}
		next, _ := pom.NextOffset()
		out.CommittedManager = append(out.CommittedManager, next)
		pom.AsyncClose()
	}
	manager.Close()

	out.DescribeAfter = describe(admin, group)
	out.ListAfter = list(admin)
	out.Deleted = deleteGroup(client, group)
	out.ListAfterDelete = list(admin)
	out.DescribeAfterDelete = describe(admin, group)
	out.DeleteAgain = deleteGroup(client, group)
	out.CommittedAfterDelete = committedAdmin(admin, group, topic, partitions)

	mu.Lock()
	defer mu.Unlock()
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("encoding JSON", err)
	}
}
