/*
 * A Kafka cluster for tests: librdkafka's mock cluster (rdkafka_mock.h) serving the real Kafka wire
 * protocol on loopback. Usage: kafka-mock <brokers> [topic[:partitions]]...
 * Prints "BOOTSTRAP <host:port,...>" once listening, then reads commands on stdin, one per line,
 * answering "OK <command>" or "ERR <command>":
 *   down <broker id | -1>     disconnect the broker(s) and refuse new connections (data is kept)
 *   up <broker id | -1>       accept connections again
 *   topic <name> <partitions> create a topic
 * Exits when stdin closes (or on SIGTERM).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static int create_topic (rd_kafka_mock_cluster_t *mc, const char *spec, int brokers) {
  char name[256];
  int partitions = 1;
  const char *colon = strchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  if (len == 0 || len >= sizeof name) return -1;
  memcpy(name, spec, len);
  name[len] = '\0';
  if (colon) partitions = atoi(colon + 1);
  if (partitions < 1) return -1;
  return rd_kafka_mock_topic_create(mc, name, partitions, brokers) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int main (int argc, char **argv) {
  char errstr[512];
  char line[512];
  int brokers = argc > 1 ? atoi(argv[1]) : 1;
  if (brokers < 1) brokers = 1;

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    fprintf(stderr, "rd_kafka_new: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
    return 1;
  }
  for (int i = 2; i < argc; i++) {
    if (create_topic(mc, argv[i], brokers) != 0) {
      fprintf(stderr, "cannot create topic %s\n", argv[i]);
      return 1;
    }
  }
  printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  while (fgets(line, sizeof line, stdin)) {
    char cmd[32], arg[256];
    int n = 0, ok = 0;
    line[strcspn(line, "\r\n")] = '\0';
    if (sscanf(line, "%31s %255s %d", cmd, arg, &n) >= 2) {
      if (strcmp(cmd, "down") == 0) ok = rd_kafka_mock_broker_set_down(mc, atoi(arg)) == RD_KAFKA_RESP_ERR_NO_ERROR;
      else if (strcmp(cmd, "up") == 0) ok = rd_kafka_mock_broker_set_up(mc, atoi(arg)) == RD_KAFKA_RESP_ERR_NO_ERROR;
      else if (strcmp(cmd, "topic") == 0) ok = rd_kafka_mock_topic_create(mc, arg, n > 0 ? n : 1, brokers) == RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    printf("%s %s\n", ok ? "OK" : "ERR", line);
    fflush(stdout);
  }

  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
