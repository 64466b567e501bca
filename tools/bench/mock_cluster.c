/* mock-cluster: serves librdkafka's in-memory mock cluster (one broker) on loopback, the
 * reference that tools/bench-compare measures Quire against.
 *
 *   mock-cluster [--topic NAME:PARTITIONS]...
 *
 * Creates each --topic (replication factor 1), then prints one line `BOOTSTRAP host:port` on
 * stdout and serves until SIGTERM or SIGINT. The mock keeps at most about 5 MiB per partition in
 * memory (older batches are dropped), so topics that must keep their data need enough
 * partitions. Its CPU time and peak RSS are this process's. Exit status: 0 after a signal,
 * 2 on bad usage, 1 on any other failure. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int usage(void) {
  fprintf(stderr, "usage: mock-cluster [--topic NAME:PARTITIONS]...\n");
  return 2;
}

/* Creates the topic described by "NAME:PARTITIONS"; returns 0, or -1 after printing why. */
static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec) {
  const char *colon = strrchr(spec, ':');
  if (colon == NULL || colon == spec) {
    fprintf(stderr, "mock-cluster: --topic wants NAME:PARTITIONS, not '%s'\n", spec);
    return -1;
  }
  char *end;
  errno = 0;
  long parts = strtol(colon + 1, &end, 10);
  if (errno != 0 || *end != '\0' || parts < 1 || parts > 100000) {
    fprintf(stderr, "mock-cluster: bad partition count in '%s'\n", spec);
    return -1;
  }
  char name[256];
  size_t len = (size_t)(colon - spec);
  if (len >= sizeof(name)) {
    fprintf(stderr, "mock-cluster: topic name too long in '%s'\n", spec);
    return -1;
  }
  memcpy(name, spec, len);
  name[len] = '\0';
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, name, (int)parts, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "mock-cluster: creating %s: %s\n", spec, rd_kafka_err2str(err));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i += 2)
    if (strcmp(argv[i], "--topic") != 0 || i + 1 >= argc)
      return usage();

  /* Block the stop signals before librdkafka starts its threads, so they inherit the mask and
   * sigwait below is the only place the signals are taken. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
    fprintf(stderr, "mock-cluster: pthread_sigmask failed\n");
    return 1;
  }

  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "mock-cluster: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == NULL) {
    fprintf(stderr, "mock-cluster: rd_kafka_new: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
  if (mc == NULL) {
    fprintf(stderr, "mock-cluster: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }

  int status = 0;
  for (int i = 2; i < argc && status == 0; i += 2)
    if (create_topic(mc, argv[i]) != 0)
      status = 1;
  if (status == 0) {
    printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    if (fflush(stdout) != 0)
      status = 1;
  }
  if (status == 0) {
    int sig = 0;
    if (sigwait(&stop, &sig) != 0)
      status = 1;
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return status;
}
