/* meta.properties: first start formats, later starts reuse the identity, and disagreements
 * between the configuration and the dirs stop the start with both values named. */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "file.h"
#include "meta.h"

static char tmp_dir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

static void tmp_setup(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/quire-meta.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void tmp_teardown(void) { nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Loads a config whose log dirs are the given subdirectories of tmp_dir, plus extra overrides. */
static void cfg_load(struct config *cfg, const char *dirs, const char *extra1, const char *extra2) {
  char dirs_ov[600], err[512], ov1[128], ov2[128];
  char *ov[3];
  int n = 0;
  char list[512] = "";
  char copy[256];
  snprintf(copy, sizeof(copy), "%s", dirs);
  for (char *save = NULL, *d = strtok_r(copy, ",", &save); d != NULL;
       d = strtok_r(NULL, ",", &save)) {
    size_t used = strlen(list);
    snprintf(list + used, sizeof(list) - used, "%s%s/%s", used > 0 ? "," : "", tmp_dir, d);
  }
  snprintf(dirs_ov, sizeof(dirs_ov), "log.dirs=%s", list);
  ov[n++] = dirs_ov;
  if (extra1 != NULL) {
    snprintf(ov1, sizeof(ov1), "%s", extra1);
    ov[n++] = ov1;
  }
  if (extra2 != NULL) {
    snprintf(ov2, sizeof(ov2), "%s", extra2);
    ov[n++] = ov2;
  }
  ck_assert_msg(config_load(cfg, NULL, ov, n, err, sizeof(err)) == 0, "%s", err);
}

static char *meta_read(const char *sub) {
  char path[256], *text;
  size_t size;
  snprintf(path, sizeof(path), "%s/%s/meta.properties", tmp_dir, sub);
  ck_assert_int_eq(file_read_all(path, 65536, &text, &size), 0);
  return text;
}

START_TEST(random_ids_are_22_url_safe_characters) {
  char a[23], b[23];
  meta_random_id(a);
  meta_random_id(b);
  ck_assert_uint_eq(strlen(a), 22);
  ck_assert(config_id_valid(a));
  ck_assert(a[0] != '-');
  ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(first_start_formats_the_log_dirs) {
  struct config cfg;
  struct meta_props meta;
  char err[512];
  cfg_load(&cfg, "a,b/c", NULL, NULL);
  ck_assert_msg(meta_prepare(&cfg, &meta, err, sizeof(err)) == 0, "%s", err);
  ck_assert_int_eq(meta.node_id, 1);
  ck_assert_uint_eq(strlen(meta.cluster_id), 22);
  ck_assert_uint_eq(strlen(meta.directory_id), 22);

  char *text = meta_read("a"), line[128];
  ck_assert_ptr_nonnull(strstr(text, "\nversion=1\n"));
  ck_assert_ptr_nonnull(strstr(text, "\nnode.id=1\n"));
  snprintf(line, sizeof(line), "\ncluster.id=%s\n", meta.cluster_id);
  ck_assert_ptr_nonnull(strstr(text, line));
  snprintf(line, sizeof(line), "\ndirectory.id=%s\n", meta.directory_id);
  ck_assert_ptr_nonnull(strstr(text, line));
  ck_assert(text[0] == '#');
  free(text);

  /* the second dir shares the cluster id but has its own directory id */
  text = meta_read("b/c");
  snprintf(line, sizeof(line), "\ncluster.id=%s\n", meta.cluster_id);
  ck_assert_ptr_nonnull(strstr(text, line));
  snprintf(line, sizeof(line), "\ndirectory.id=%s\n", meta.directory_id);
  ck_assert_ptr_null(strstr(text, line));
  free(text);
  config_free(&cfg);
}
END_TEST

START_TEST(second_start_reuses_the_ids) {
  struct config cfg;
  struct meta_props first, second;
  char err[512];
  cfg_load(&cfg, "a", NULL, NULL);
  ck_assert_msg(meta_prepare(&cfg, &first, err, sizeof(err)) == 0, "%s", err);
  ck_assert_msg(meta_prepare(&cfg, &second, err, sizeof(err)) == 0, "%s", err);
  ck_assert_str_eq(first.cluster_id, second.cluster_id);
  ck_assert_str_eq(first.directory_id, second.directory_id);
  config_free(&cfg);

  /* a dir added later joins the existing cluster */
  cfg_load(&cfg, "a,new", NULL, NULL);
  ck_assert_msg(meta_prepare(&cfg, &second, err, sizeof(err)) == 0, "%s", err);
  ck_assert_str_eq(first.cluster_id, second.cluster_id);
  char *text = meta_read("new"), line[128];
  snprintf(line, sizeof(line), "\ncluster.id=%s\n", first.cluster_id);
  ck_assert_ptr_nonnull(strstr(text, line));
  free(text);
  config_free(&cfg);
}
END_TEST

START_TEST(configured_cluster_id_is_used_for_formatting) {
  struct config cfg;
  struct meta_props meta;
  char err[512];
  cfg_load(&cfg, "a", "cluster.id=MkU3OEVBNTcwNTJENDM2Qg", NULL);
  ck_assert_msg(meta_prepare(&cfg, &meta, err, sizeof(err)) == 0, "%s", err);
  ck_assert_str_eq(meta.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
  config_free(&cfg);
}
END_TEST

START_TEST(node_id_mismatch_names_both_values) {
  struct config cfg;
  struct meta_props meta;
  char err[512];
  cfg_load(&cfg, "a", "node.id=2", NULL);
  ck_assert_msg(meta_prepare(&cfg, &meta, err, sizeof(err)) == 0, "%s", err);
  config_free(&cfg);
  cfg_load(&cfg, "a", "node.id=1", NULL);
  ck_assert_int_ne(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  ck_assert_msg(strstr(err, "node.id=2") != NULL && strstr(err, "node.id=1") != NULL, "%s", err);
  ck_assert_msg(strstr(err, tmp_dir) != NULL, "%s", err);
  config_free(&cfg);
}
END_TEST

START_TEST(cluster_id_mismatch_names_both_values) {
  struct config cfg;
  struct meta_props meta;
  char err[512];
  cfg_load(&cfg, "a", NULL, NULL);
  ck_assert_msg(meta_prepare(&cfg, &meta, err, sizeof(err)) == 0, "%s", err);
  config_free(&cfg);
  cfg_load(&cfg, "a", "cluster.id=MkU3OEVBNTcwNTJENDM2Qg", NULL);
  ck_assert_int_ne(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  ck_assert_msg(strstr(err, meta.cluster_id) != NULL, "%s", err);
  ck_assert_msg(strstr(err, "MkU3OEVBNTcwNTJENDM2Qg") != NULL, "%s", err);
  ck_assert_int_ne(meta_format(&cfg, "MkU3OEVBNTcwNTJENDM2Qg", err, sizeof(err)), 0);
  config_free(&cfg);
}
END_TEST

START_TEST(dirs_of_different_clusters_are_refused) {
  struct config cfg;
  struct meta_props meta;
  char err[512];
  cfg_load(&cfg, "a", NULL, NULL);
  ck_assert_int_eq(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  config_free(&cfg);
  cfg_load(&cfg, "b", NULL, NULL);
  ck_assert_int_eq(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  config_free(&cfg);
  cfg_load(&cfg, "a,b", NULL, NULL);
  ck_assert_int_ne(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  ck_assert_msg(strstr(err, "cluster.id=") != NULL && strstr(err, "/b") != NULL, "%s", err);
  config_free(&cfg);
}
END_TEST

START_TEST(format_writes_the_given_cluster_id) {
  struct config cfg;
  struct meta_props meta;
  char err[512];
  cfg_load(&cfg, "a", NULL, NULL);
  ck_assert_msg(meta_format(&cfg, "MkU3OEVBNTcwNTJENDM2Qg", err, sizeof(err)) == 0, "%s", err);
  ck_assert_msg(meta_format(&cfg, "MkU3OEVBNTcwNTJENDM2Qg", err, sizeof(err)) == 0, "%s", err);
  ck_assert_int_ne(meta_format(&cfg, "not-an-id", err, sizeof(err)), 0);
  ck_assert_int_eq(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  ck_assert_str_eq(meta.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
  config_free(&cfg);
}
END_TEST

START_TEST(kafka_written_file_without_directory_id_is_upgraded) {
  struct config cfg;
  struct meta_props meta;
  char err[512], dir[128], path[160];
  snprintf(dir, sizeof(dir), "%s/old", tmp_dir);
  snprintf(path, sizeof(path), "%s/meta.properties", dir);
  ck_assert_int_eq(file_mkdirs(dir), 0);
  static const char old[] = "#\n#Tue Nov 25 18:09:45 UTC 2025\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n"
                            "node.id=1\nversion=1\n";
  ck_assert_int_eq(file_write_atomic(path, old, sizeof(old) - 1), 0);
  cfg_load(&cfg, "old", NULL, NULL);
  ck_assert_msg(meta_prepare(&cfg, &meta, err, sizeof(err)) == 0, "%s", err);
  ck_assert_str_eq(meta.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
  char *text = meta_read("old");
  ck_assert_ptr_nonnull(strstr(text, "directory.id="));
  free(text);
  config_free(&cfg);
}
END_TEST

START_TEST(zookeeper_era_file_is_refused) {
  struct config cfg;
  struct meta_props meta;
  char err[512], dir[128], path[160];
  snprintf(dir, sizeof(dir), "%s/zk", tmp_dir);
  snprintf(path, sizeof(path), "%s/meta.properties", dir);
  ck_assert_int_eq(file_mkdirs(dir), 0);
  static const char old[] = "version=0\nbroker.id=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qg\n";
  ck_assert_int_eq(file_write_atomic(path, old, sizeof(old) - 1), 0);
  cfg_load(&cfg, "zk", NULL, NULL);
  ck_assert_int_ne(meta_prepare(&cfg, &meta, err, sizeof(err)), 0);
  ck_assert_msg(strstr(err, "version=0") != NULL, "%s", err);
  config_free(&cfg);
}
END_TEST

START_TEST(file_helpers_report_errors) {
  char path[160], *text;
  size_t size;
  snprintf(path, sizeof(path), "%s/f", tmp_dir);
  ck_assert_int_eq(file_read_all(path, 10, &text, &size), -ENOENT);
  ck_assert_int_eq(file_write_atomic(path, "hello world", 11), 0);
  ck_assert_int_eq(file_read_all(path, 10, &text, &size), -EFBIG);
  ck_assert_int_eq(file_read_all(path, 11, &text, &size), 0);
  ck_assert_uint_eq(size, 11);
  ck_assert_str_eq(text, "hello world");
  free(text);
  ck_assert_int_eq(file_mkdirs(path), -ENOTDIR);
  snprintf(path, sizeof(path), "%s/no/such/dir/f", tmp_dir);
  ck_assert_int_eq(file_write_atomic(path, "x", 1), -ENOENT);
  snprintf(path, sizeof(path), "%s//x//y/", tmp_dir);
  ck_assert_int_eq(file_mkdirs(path), 0);
  ck_assert_int_eq(file_mkdirs(path), 0);
}
END_TEST

static Suite *meta_suite(void) {
  Suite *s = suite_create("meta");
  TCase *tc = tcase_create("meta");
  tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
  tcase_add_test(tc, random_ids_are_22_url_safe_characters);
  tcase_add_test(tc, first_start_formats_the_log_dirs);
  tcase_add_test(tc, second_start_reuses_the_ids);
  tcase_add_test(tc, configured_cluster_id_is_used_for_formatting);
  tcase_add_test(tc, node_id_mismatch_names_both_values);
  tcase_add_test(tc, cluster_id_mismatch_names_both_values);
  tcase_add_test(tc, dirs_of_different_clusters_are_refused);
  tcase_add_test(tc, format_writes_the_given_cluster_id);
  tcase_add_test(tc, kafka_written_file_without_directory_id_is_upgraded);
  tcase_add_test(tc, zookeeper_era_file_is_refused);
  tcase_add_test(tc, file_helpers_report_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(meta_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
