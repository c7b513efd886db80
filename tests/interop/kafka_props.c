// SPDX-License-Identifier: GPL-2.0-only
/*
 * kafka_props: librdkafka's own verdict on the Kafka properties of a
 * collector configuration (tests/static/t_kafka_conf.sh).  rsyslogd -N1
 * checks rsyslog's parameters but hands confParam/topicConfParam to
 * librdkafka only when omkafka first produces; without a broker nothing
 * else would ever read them.  This sets each property as omkafka does
 * (rd_kafka_conf_set, rd_kafka_topic_conf_set) and then creates the
 * producer or consumer handle, which checks the properties against each
 * other (idempotence and acks, ...) and loads the TLS files.  No broker
 * is contacted: none is configured.
 *
 * Usage: kafka_props producer|consumer < LINES
 *   each line "global NAME=VALUE" or "topic NAME=VALUE"
 * Exit 0 when librdkafka takes every property and creates the handle;
 * 1 with the reason on stderr otherwise; 2 for a usage error.
 */
#include <stdio.h>
#include <string.h>
#include <librdkafka/rdkafka.h>

/* A property line, at most: longer ones are refused, not cut. */
#define LINE_MAX_BYTES	4096

int main(int argc, char **argv)
{
	char line[LINE_MAX_BYTES + 2], err[512];
	rd_kafka_conf_t *conf;
	rd_kafka_topic_conf_t *tconf;
	rd_kafka_type_t type;
	rd_kafka_t *rk;
	unsigned int lineno = 0;
	int bad = 0;

	if (argc != 2 || (strcmp(argv[1], "producer") && strcmp(argv[1], "consumer"))) {
		fprintf(stderr, "usage: kafka_props producer|consumer < LINES\n");
		return 2;
	}
	type = strcmp(argv[1], "producer") ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER;
	conf = rd_kafka_conf_new();
	tconf = rd_kafka_topic_conf_new();
	if (!conf || !tconf) {
		fprintf(stderr, "kafka_props: out of memory\n");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strlen(line);
		char *name, *eq;
		int topic;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (len > LINE_MAX_BYTES) {
			fprintf(stderr, "kafka_props: line %u longer than %d bytes\n",
				lineno, LINE_MAX_BYTES);
			bad = 1;
			break;
		}
		if (!strncmp(line, "global ", 7)) {
			topic = 0;
			name = line + 7;
		} else if (!strncmp(line, "topic ", 6)) {
			topic = 1;
			name = line + 6;
		} else {
			fprintf(stderr, "kafka_props: line %u: not \"global|topic NAME=VALUE\"\n",
				lineno);
			bad = 1;
			continue;
		}
		eq = strchr(name, '=');
		if (!eq || eq == name) {
			fprintf(stderr, "kafka_props: line %u: no NAME=VALUE\n", lineno);
			bad = 1;
			continue;
		}
		*eq = '\0';
		if ((topic ? rd_kafka_topic_conf_set(tconf, name, eq + 1, err, sizeof(err)) :
			     rd_kafka_conf_set(conf, name, eq + 1, err, sizeof(err))) !=
		    RD_KAFKA_CONF_OK) {
			fprintf(stderr, "kafka_props: %s property %s=%s: %s\n",
				topic ? "topic" : "global", name, eq + 1, err);
			bad = 1;
		}
	}
	if (bad) {
		rd_kafka_topic_conf_destroy(tconf);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	/* The topic properties become the default topic's, as a producer's
	 * first topic would take them; the handle owns both from here. */
	rd_kafka_conf_set_default_topic_conf(conf, tconf);
	rk = rd_kafka_new(type, conf, err, sizeof(err));
	if (!rk) {
		fprintf(stderr, "kafka_props: the %s refuses these properties: %s\n",
			argv[1], err);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	rd_kafka_destroy(rk);
	printf("librdkafka %s takes the %s's properties\n", rd_kafka_version_str(), argv[1]);
	return 0;
}
