/* Entry point. Design note: main only turns the command line into a configuration and hands
 * over; it owns no state of its own.
 *   quire [server.properties] [--override key=value]...       run the server
 *   quire format [server.properties] [--override key=value]... [--cluster-id ID]
 *   quire --help | --version
 * Server flow: config_load -> log level -> meta_prepare -> server_create/run/destroy. Signals
 * (SIGTERM, SIGINT) belong to the server, which returns from server_run after a clean stop.
 * Exit status: 0 on success, 1 on a configuration, storage or server error, 2 on a usage error. */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "meta.h"
#include "server.h"

#ifndef QUIRE_VERSION
#define QUIRE_VERSION "unknown"
#endif

#define MAIN_OVERRIDES_MAX 256

struct main_args {
  bool format;
  const char *properties_path; /* NULL: defaults only */
  const char *cluster_id;      /* format --cluster-id */
  char *overrides[MAIN_OVERRIDES_MAX];
  int override_count;
};

static void main_usage(FILE *out) {
  fprintf(out,
          "Usage: quire [server.properties] [--override key=value]...\n"
          "       quire format [server.properties] [--override key=value]... [--cluster-id ID]\n"
          "       quire --help | --version\n"
          "\n"
          "Quire is a broker that speaks the Apache Kafka protocol. Configuration keys and\n"
          "defaults are Apache Kafka's; without a file Quire runs a single node on\n"
          "PLAINTEXT://127.0.0.1:9092 with data in ./quire-data.\n"
          "\n"
          "  --override key=value  set a configuration key (wins over the file; repeatable)\n"
          "  format                prepare the log dirs (meta.properties) and print the cluster\n"
          "                        id; the server also does this on first start\n"
          "  --cluster-id ID       cluster id for format (default: cluster.id, an existing one,\n"
          "                        or a new random id)\n"
          "  --help                show this help\n"
          "  --version             show the version\n");
}

/* Returns 0 to continue, 1 when done (help/version printed), -1 on a usage error. */
static int main_args_parse(int argc, char **argv, struct main_args *args) {
  int i = 1;
  memset(args, 0, sizeof(*args));
  if (argc > 1 && strcmp(argv[1], "format") == 0) {
    args->format = true;
    i = 2;
  }
  for (; i < argc; i++) {
    char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      main_usage(stdout);
      return 1;
    }
    if (strcmp(a, "--version") == 0) {
      printf("quire %s\n", QUIRE_VERSION);
      return 1;
    }
    char *value = NULL;
    bool is_override = false, is_cluster_id = false;
    if (strcmp(a, "--override") == 0 || strcmp(a, "--cluster-id") == 0) {
      is_override = a[2] == 'o';
      is_cluster_id = !is_override;
      if (i + 1 >= argc) {
        fprintf(stderr, "quire: %s needs a value\n", a);
        return -1;
      }
      value = argv[++i];
    } else if (strncmp(a, "--override=", 11) == 0) {
      is_override = true;
      value = a + 11;
    } else if (strncmp(a, "--cluster-id=", 13) == 0) {
      is_cluster_id = true;
      value = a + 13;
    }
    if (is_override) {
      if (args->override_count >= MAIN_OVERRIDES_MAX) {
        fprintf(stderr, "quire: more than %d --override options\n", MAIN_OVERRIDES_MAX);
        return -1;
      }
      args->overrides[args->override_count++] = value;
    } else if (is_cluster_id) {
      if (!args->format) {
        fprintf(stderr, "quire: --cluster-id is an option of `quire format`\n");
        return -1;
      }
      args->cluster_id = value;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "quire: unknown option %s (see quire --help)\n", a);
      return -1;
    } else if (args->properties_path == NULL) {
      args->properties_path = a;
    } else {
      fprintf(stderr, "quire: more than one properties file (%s and %s)\n", args->properties_path,
              a);
      return -1;
    }
  }
  return 0;
}

static int main_format(const struct config *cfg, const char *cluster_id) {
  char err[1024];
  struct meta_props meta;
  if (cluster_id != NULL) {
    if (meta_format(cfg, cluster_id, err, sizeof(err)) != 0) goto fail;
    printf("%s\n", cluster_id);
    return 0;
  }
  /* no explicit id: the configured one, the one already on disk, or a new one */
  if (meta_prepare(cfg, &meta, err, sizeof(err)) != 0) goto fail;
  printf("%s\n", meta.cluster_id);
  return 0;
fail:
  fprintf(stderr, "quire: %s\n", err);
  return 1;
}

static int main_serve(const struct config *cfg) {
  char err[1024], dirs[2048];
  struct meta_props meta;
  struct server *srv = NULL;
  size_t used = 0;

  log_info("main", "quire %s starting", QUIRE_VERSION);
  if (meta_prepare(cfg, &meta, err, sizeof(err)) != 0) {
    log_error("main", "%s", err);
    return 1;
  }
  dirs[0] = '\0';
  for (int i = 0; i < cfg->log_dir_count && used < sizeof(dirs); i++) {
    int n = snprintf(dirs + used, sizeof(dirs) - used, "%s%s", i > 0 ? "," : "", cfg->log_dirs[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
  log_info("main", "node.id=%d cluster.id=%s log.dirs=%s process.roles=%s", cfg->node_id,
           meta.cluster_id, dirs, config_get(cfg, "process.roles"));

  if (server_create(&srv, cfg, &meta) != 0) {
    log_error("main", "server start-up failed");
    return 1;
  }
  int rc = server_run(srv);
  server_destroy(srv);
  if (rc != 0) {
    log_error("main", "server stopped with an error");
    return 1;
  }
  log_info("main", "quire stopped");
  return 0;
}

int main(int argc, char **argv) {
  struct main_args args;
  struct config cfg;
  char err[1024];
  enum log_level level;

  /* The heap keeps up to 32 MiB free at its top instead of giving it back: trimming and
   * regrowing it as requests come and go cost a page-table teardown (with a TLB shootdown to
   * the flusher's CPU), then a page fault per page. Setting the trim threshold stops glibc from
   * raising the mmap threshold as it goes, so that is set too: buffers up to 32 MiB (produce
   * frames among them) come from the heap, not from an mmap and munmap each. */
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  int rc = main_args_parse(argc, argv, &args);
  if (rc != 0) return rc > 0 ? 0 : 2;

  if (config_load(&cfg, args.properties_path, args.overrides, args.override_count, err,
                  sizeof(err)) != 0) {
    fprintf(stderr, "quire: %s\n", err);
    return 1;
  }
  if (log_level_parse(cfg.log_level, &level) == 0) log_set_level(level);

  rc = args.format ? main_format(&cfg, args.cluster_id) : main_serve(&cfg);
  config_free(&cfg);
  return rc;
}
