// Produces and consumes records with sarama 1.22 (Debian's golang-github-shopify-sarama-dev) and
// prints what sarama reported as one JSON object on stdout, for
// tests/integration/test_sarama_records.py.
//
//	sarama_records BOOTSTRAP TOPIC COUNT CODEC [idempotent]
//
// CODEC is none, gzip, snappy, lz4 or zstd. COUNT messages (key "key-%d", value "value-%d",
// headers n=%d and codec=CODEC, timestamp BASE_TS + 10 i) go to partition 0 through a
// SyncProducer (acks=all; with "idempotent", sarama's idempotent producer, which sends
// InitProducerId). Then: the partition's oldest and newest offsets and the offsets for a few
// timestamps (client.GetOffset, ListOffsets v1), the records read back by a partition consumer
// (no group) from the oldest offset, and the error of a partition consumer started past the end.
//
// config.Version is V2_2_0_0: sarama 1.22 then sends Produce v3, Fetch v4 and ListOffsets v1.
// A produce error is reported in the JSON ("produce_error", "produce_error_code") rather than
// failing the program, so a test can expect one (zstd needs Produce v7, which sarama 1.22 never
// sends: Kafka answers UNSUPPORTED_COMPRESSION_TYPE).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/Shopify/sarama"
)

const baseTS = int64(1700000000000)

type recordJSON struct {
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Timestamp int64             `json:"timestamp"`
	Headers   map[string]string `json:"headers"`
}

type output struct {
	Version          string       `json:"version"`
	Produced         [][2]int64   `json:"produced"`
	ProduceError     *string      `json:"produce_error"`
	ProduceErrorCode int16        `json:"produce_error_code"`
	Oldest           int64        `json:"oldest"`
	Newest           int64        `json:"newest"`
	ByTime           []int64      `json:"by_time"`
	Consumed         []recordJSON `json:"consumed"`
	PastEndError     *string      `json:"past_end_error"`
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "sarama_records: %s: %v\n", what, err)
	os.Exit(1)
}

func strp(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func main() {
	if len(os.Args) < 5 || len(os.Args) > 6 {
		fmt.Fprintln(os.Stderr, "usage: sarama_records BOOTSTRAP TOPIC COUNT CODEC [idempotent]")
		os.Exit(2)
	}
	addrs, topic := []string{os.Args[1]}, os.Args[2]
	count, err := strconv.Atoi(os.Args[3])
	if err != nil {
		fail("COUNT", err)
	}
	codecs := map[string]sarama.CompressionCodec{"none": sarama.CompressionNone,
		"gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
		"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD}
	codec, ok := codecs[os.Args[4]]
	if !ok {
		fail("CODEC", fmt.Errorf("unknown codec %q", os.Args[4]))
	}

	conf := sarama.NewConfig()
	conf.ClientID = "quire-it-sarama"
	conf.Version = sarama.V2_2_0_0
	conf.Net.DialTimeout = 10 * time.Second
	conf.Net.ReadTimeout = 10 * time.Second
	conf.Net.WriteTimeout = 10 * time.Second
	conf.Metadata.Retry.Max = 3
	conf.Metadata.Retry.Backoff = 100 * time.Millisecond
	conf.Producer.RequiredAcks = sarama.WaitForAll
	conf.Producer.Return.Successes = true
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	conf.Producer.Compression = codec
	conf.Producer.Flush.Messages = 50
	conf.Producer.Flush.Frequency = 5 * time.Millisecond
	conf.Producer.Retry.Max = 3
	conf.Producer.Retry.Backoff = 100 * time.Millisecond
	if len(os.Args) == 6 && os.Args[5] == "idempotent" {
		conf.Producer.Idempotent = true
		conf.Net.MaxOpenRequests = 1
	}
	conf.Consumer.MaxWaitTime = 100 * time.Millisecond
	conf.Consumer.Return.Errors = true
	out := output{Version: conf.Version.String(), Produced: [][2]int64{}, ByTime: []int64{},
		Consumed: []recordJSON{}}

	client, err := sarama.NewClient(addrs, conf)
	if err != nil {
		fail("NewClient", err)
	}
	defer client.Close()

	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		fail("NewSyncProducer", err)
	}
	msgs := make([]*sarama.ProducerMessage, count)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Partition: 0,
			Key:   sarama.StringEncoder(fmt.Sprintf("key-%d", i)),
			Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i)),
			Headers: []sarama.RecordHeader{{Key: []byte("n"), Value: []byte(strconv.Itoa(i))},
				{Key: []byte("codec"), Value: []byte(os.Args[4])}},
			Timestamp: time.Unix(0, (baseTS+10*int64(i))*int64(time.Millisecond))}
	}
	if err := producer.SendMessages(msgs); err != nil {
		s := err.Error()
		out.ProduceError = &s
		if perrs, ok := err.(sarama.ProducerErrors); ok && len(perrs) > 0 {
			s = perrs[0].Err.Error()
			out.ProduceError = &s
			if kerr, ok := perrs[0].Err.(sarama.KError); ok {
				out.ProduceErrorCode = int16(kerr)
			}
		}
	}
	for _, m := range msgs {
		out.Produced = append(out.Produced, [2]int64{int64(m.Partition), m.Offset})
	}
	producer.Close()

	if out.Oldest, err = client.GetOffset(topic, 0, sarama.OffsetOldest); err != nil {
		fail("GetOffset oldest", err)
	}
	if out.Newest, err = client.GetOffset(topic, 0, sarama.OffsetNewest); err != nil {
		fail("GetOffset newest", err)
	}
	for _, ts := range []int64{baseTS - 1, baseTS + 10*int64(count/2) - 5, baseTS + 10*int64(count)} {
		offset, err := client.GetOffset(topic, 0, ts)
		if err != nil {
			fail("GetOffset by time", err)
		}
		out.ByTime = append(out.ByTime, offset)
	}

	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		fail("NewConsumer", err)
	}
	defer consumer.Close()
	if out.Newest > out.Oldest {
		pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
		if err != nil {
			fail("ConsumePartition", err)
		}
		deadline := time.After(30 * time.Second)
	loop:
		for int64(len(out.Consumed)) < out.Newest-out.Oldest {
			select {
			case m := <-pc.Messages():
				headers := map[string]string{}
				for _, h := range m.Headers {
					headers[string(h.Key)] = string(h.Value)
				}
				out.Consumed = append(out.Consumed, recordJSON{m.Offset, strp(m.Key),
					strp(m.Value), m.Timestamp.UnixNano() / int64(time.Millisecond), headers})
			case cerr := <-pc.Errors():
				fail("consuming", cerr)
			case <-deadline:
				break loop
			}
		}
		pc.Close()
	}
	if pc, err := consumer.ConsumePartition(topic, 0, out.Newest+100); err != nil {
		s := err.Error()
		out.PastEndError = &s
	} else {
		pc.Close()
	}

	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail("encoding JSON", err)
	}
}
