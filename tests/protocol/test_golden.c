/* Golden frames: request frames captured from real clients (tests/protocol/golden/<client>/
 * <Api>-v<version>.bin, each a request without its 4-byte length prefix) must decode with the
 * generated codec, consuming every byte; re-encoding the header and body must give the same bytes;
 * and the fields the capture drivers set on purpose must have the values listed in
 * golden/expected.txt. A frame whose version the codec does not have (a client's version that
 * Kafka 4.3 dropped) is listed there as `unsupported` and must be refused with WIRE_EVERSION.
 *
 *   test_golden GOLDEN_DIR           run the checks (meson: protocol-golden)
 *   test_golden --dump FRAME...      print every decoded field as path=value (header fields under
 *                                    header.), for cross-checks against capture/kafkaspec.py */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_print.h"

#define ARENA_LIMIT (64u << 20)

struct expectation {
  char *file;     /* client/Api-vN.bin */
  bool unsupported;
  size_t trailing; /* bytes a client writes after the body (a client bug Kafka tolerates) */
  size_t check_count;
  char **checks;  /* path=value */
};

static const char *golden_dir;
static char **frames; /* client/Api-vN.bin, sorted */
static size_t frame_count;
static struct expectation *expectations;
static size_t expectation_count;

/* ---- small helpers ---- */

static void *xrealloc(void *p, size_t size) {
  p = realloc(p, size);
  if (p == NULL) abort();
  return p;
}

static char *xstrdup(const char *s) {
  char *d = strdup(s);
  if (d == NULL) abort();
  return d;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  uint8_t *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) buf = xrealloc(buf, cap = cap ? 2 * cap : 4096);
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  *len = n;
  return buf;
}

struct text {
  char *buf;
  size_t len, cap;
};

static void text_add(struct text *t, const char *s) {
  size_t n = strlen(s);
  if (t->len + n + 1 > t->cap) {
    t->cap = 2 * (t->len + n + 1);
    t->buf = xrealloc(t->buf, t->cap);
  }
  memcpy(t->buf + t->len, s, n + 1);
  t->len += n;
}

static void emit_line(void *ctx, const char *path, const char *value) {
  struct text *t = ctx;
  text_add(t, path);
  text_add(t, "=");
  text_add(t, value);
  text_add(t, "\n");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- decoding one frame ---- */

struct decoded {
  const struct msg_api *api;
  int16_t key, version, header_version;
  struct msg_request_header header;
  void *body;
  int rc;            /* WIRE_OK or the failing status */
  const char *stage; /* what failed */
  size_t left;       /* bytes the body left undecoded */
};

/* The header version follows the API's flexibility, as broker/dispatch.c does. */
static void decode_frame(const uint8_t *buf, size_t len, struct wire_arena *arena,
                         struct decoded *d) {
  memset(d, 0, sizeof(*d));
  d->rc = WIRE_EINVALID;
  d->stage = "frame";
  if (len < 4) return;
  d->key = (int16_t)((buf[0] << 8) | buf[1]);
  d->version = (int16_t)((buf[2] << 8) | buf[3]);
  d->api = msg_api_find(d->key);
  d->stage = "api key";
  if (d->api == NULL) return;
  d->stage = "version";
  d->rc = WIRE_EVERSION;
  if (d->version < d->api->min_version || d->version > d->api->max_version) return;
  d->header_version = msg_api_flexible(d->api, d->version) ? 2 : 1;
  struct wire_reader r = {buf, buf + len, arena};
  d->stage = "header";
  d->rc = msg_request_header_decode(&d->header, &r, d->header_version);
  if (d->rc != WIRE_OK) return;
  d->body = wire_arena_alloc(arena, d->api->request.struct_size);
  if (d->body == NULL) abort();
  d->stage = "body";
  d->rc = d->api->request.decode(d->body, &r, d->version);
  d->left = wire_left(&r);
}

static const struct msg_print_api *print_api(int16_t key) {
  for (size_t i = 0; i < msg_api_count; i++)
    if (msg_print_apis[i].key == key) return &msg_print_apis[i];
  return NULL;
}

static void dump_decoded(const struct decoded *d, struct text *out) {
  struct msg_print p = {.emit = emit_line, .ctx = out};
  size_t at = msg_print_enter(&p, "header");
  msg_request_header_print(&d->header, d->header_version, &p);
  msg_print_leave(&p, at);
  print_api(d->key)->request(d->body, d->version, &p);
}

/* ---- golden directory and expectations ---- */

static void list_frames(void) {
  DIR *top = opendir(golden_dir);
  if (top == NULL) {
    fprintf(stderr, "test_golden: cannot open %s\n", golden_dir);
    exit(EXIT_FAILURE);
  }
  struct dirent *c;
  while ((c = readdir(top)) != NULL) {
    if (c->d_name[0] == '.' || strcmp(c->d_name, "capture") == 0) continue;
    char sub[4096];
    snprintf(sub, sizeof(sub), "%s/%s", golden_dir, c->d_name);
    DIR *dir = opendir(sub);
    if (dir == NULL) continue;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      size_t n = strlen(e->d_name);
      if (n < 5 || strcmp(e->d_name + n - 4, ".bin") != 0) continue;
      char rel[1024];
      snprintf(rel, sizeof(rel), "%s/%s", c->d_name, e->d_name);
      frames = xrealloc(frames, (frame_count + 1) * sizeof(*frames));
      frames[frame_count++] = xstrdup(rel);
    }
    closedir(dir);
  }
  closedir(top);
  qsort(frames, frame_count, sizeof(*frames), cmp_str);
}

/* expected.txt: `client/Api-vN.bin path=value...` or `client/Api-vN.bin unsupported`; a file may
 * take several lines; `#` starts a comment line; values hold no spaces. `trailing=N` says the
 * client wrote N bytes after the body: they must be left undecoded, and are not re-encoded. */
static void load_expectations(void) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/expected.txt", golden_dir);
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "test_golden: cannot open %s\n", path);
    exit(EXIT_FAILURE);
  }
  char line[8192];
  while (fgets(line, sizeof(line), f) != NULL) {
    char *save = NULL;
    char *file = strtok_r(line, " \t\r\n", &save);
    if (file == NULL || file[0] == '#') continue;
    struct expectation *x = NULL;
    for (size_t i = 0; i < expectation_count; i++)
      if (strcmp(expectations[i].file, file) == 0) x = &expectations[i];
    if (x == NULL) {
      expectations = xrealloc(expectations, (expectation_count + 1) * sizeof(*expectations));
      x = &expectations[expectation_count++];
      *x = (struct expectation){xstrdup(file), false, 0, 0, NULL};
    }
    for (char *tok; (tok = strtok_r(NULL, " \t\r\n", &save)) != NULL;) {
      if (strcmp(tok, "unsupported") == 0) {
        x->unsupported = true;
        continue;
      }
      if (strncmp(tok, "trailing=", 9) == 0) {
        x->trailing = (size_t)strtoul(tok + 9, NULL, 10);
        continue;
      }
      x->checks = xrealloc(x->checks, (x->check_count + 1) * sizeof(*x->checks));
      x->checks[x->check_count++] = xstrdup(tok);
    }
  }
  fclose(f);
}

static const struct expectation *expectation_of(const char *file) {
  for (size_t i = 0; i < expectation_count; i++)
    if (strcmp(expectations[i].file, file) == 0) return &expectations[i];
  return NULL;
}

/* The value printed for path in dump (a text of path=value lines), or NULL. */
static const char *find_path(const char *dump, const char *path, size_t *value_len) {
  size_t n = strlen(path);
  for (const char *line = dump; *line != '\0';) {
    const char *end = strchr(line, '\n');
    if (strncmp(line, path, n) == 0 && line[n] == '=') {
      *value_len = (size_t)(end - line) - n - 1;
      return line + n + 1;
    }
    line = end + 1;
  }
  return NULL;
}

/* ---- tests ---- */

START_TEST(golden_frame_decodes_reencodes_identically_and_has_the_expected_fields) {
  const char *file = frames[_i];
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", golden_dir, file);
  size_t len;
  uint8_t *buf = read_file(path, &len);
  ck_assert_msg(buf != NULL, "%s: cannot read", file);
  const struct expectation *x = expectation_of(file);
  ck_assert_msg(x != NULL, "%s: no line in expected.txt", file);

  struct wire_arena arena;
  wire_arena_init(&arena, ARENA_LIMIT);
  struct decoded d;
  decode_frame(buf, len, &arena, &d);
  if (x->unsupported) {
    ck_assert_msg(d.api != NULL && d.rc == WIRE_EVERSION && strcmp(d.stage, "version") == 0,
                  "%s: listed as unsupported, but the codec has this version", file);
    goto done;
  }
  ck_assert_msg(d.rc == WIRE_OK, "%s: %s decode failed: %s", file, d.stage, wire_status_name(d.rc));
  ck_assert_msg(d.left == x->trailing, "%s: the body left %zu of %zu bytes undecoded", file, d.left,
                len);
  len -= d.left;
  ck_assert_int_eq(d.header.request_api_key, d.key);
  ck_assert_int_eq(d.header.request_api_version, d.version);

  size_t header_size = msg_request_header_size(&d.header, d.header_version);
  size_t size = header_size + d.api->request.size(d.body, d.version);
  ck_assert_msg(size == len, "%s: size() gives %zu bytes for a %zu-byte frame", file, size, len);
  uint8_t *again = malloc(size);
  ck_assert_ptr_nonnull(again);
  struct wire_writer w = {again, again + size, WIRE_OK, NULL};
  ck_assert_int_eq(msg_request_header_encode(&d.header, &w, d.header_version), WIRE_OK);
  ck_assert_int_eq(d.api->request.encode(d.body, &w, d.version), WIRE_OK);
  ck_assert(w.p == again + size);
  size_t first_diff = 0;
  while (first_diff < len && again[first_diff] == buf[first_diff]) first_diff++;
  ck_assert_msg(first_diff == len, "%s: re-encoding differs at byte %zu", file, first_diff);
  free(again);

  struct text dump = {0};
  text_add(&dump, "");
  dump_decoded(&d, &dump);
  ck_assert_msg(x->check_count > 0, "%s: expected.txt checks no field", file);
  for (size_t i = 0; i < x->check_count; i++) {
    const char *check = x->checks[i];
    const char *eq = strchr(check, '=');
    ck_assert_msg(eq != NULL, "%s: bad check %s", file, check);
    char want_path[1024];
    snprintf(want_path, sizeof(want_path), "%.*s", (int)(eq - check), check);
    size_t got_len = 0;
    const char *got = find_path(dump.buf, want_path, &got_len);
    ck_assert_msg(got != NULL, "%s: no field %s", file, want_path);
    ck_assert_msg(got_len == strlen(eq + 1) && memcmp(got, eq + 1, got_len) == 0,
                  "%s: %s is %.*s, expected %s", file, want_path, (int)got_len, got, eq + 1);
  }
  free(dump.buf);
done:
  wire_arena_free(&arena);
  free(buf);
}
END_TEST

START_TEST(every_expectation_names_a_captured_frame) {
  for (size_t i = 0; i < expectation_count; i++) {
    const char *file = expectations[i].file;
    ck_assert_msg(bsearch(&file, frames, frame_count, sizeof(*frames), cmp_str) != NULL,
                  "expected.txt names %s, which is not in %s", file, golden_dir);
  }
  ck_assert_uint_gt(frame_count, 0);
}
END_TEST

static int dump_files(int count, char **paths) {
  int status = EXIT_SUCCESS;
  for (int i = 0; i < count; i++) {
    size_t len;
    uint8_t *buf = read_file(paths[i], &len);
    if (buf == NULL) {
      fprintf(stderr, "%s: cannot read\n", paths[i]);
      status = EXIT_FAILURE;
      continue;
    }
    struct wire_arena arena;
    wire_arena_init(&arena, ARENA_LIMIT);
    struct decoded d;
    decode_frame(buf, len, &arena, &d);
    if (d.rc != WIRE_OK) {
      printf("!%s decode failed: %s\n", d.stage, wire_status_name(d.rc));
    } else {
      struct text dump = {0};
      text_add(&dump, "");
      dump_decoded(&d, &dump);
      fputs(dump.buf, stdout);
      if (d.left != 0) printf("!left=%zu\n", d.left);
      free(dump.buf);
    }
    wire_arena_free(&arena);
    free(buf);
  }
  return status;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--dump") == 0) return dump_files(argc - 2, argv + 2);
  if (argc != 2) {
    fprintf(stderr, "usage: test_golden GOLDEN_DIR | test_golden --dump FRAME...\n");
    return EXIT_FAILURE;
  }
  golden_dir = argv[1];
  list_frames();
  load_expectations();

  Suite *s = suite_create("golden");
  TCase *tc = tcase_create("frames");
  tcase_add_loop_test(tc, golden_frame_decodes_reencodes_identically_and_has_the_expected_fields,
                      0, (int)frame_count);
  tcase_add_test(tc, every_expectation_names_a_captured_frame);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
