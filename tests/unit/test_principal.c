/* ssl.principal.mapping.rules (Kafka's SslPrincipalMapper: splitting, validation, mapping, Java's
 * replaceAll) and the RFC 2253 form of certificate subjects that the rules are applied to. Cases
 * marked "Kafka" are those of Kafka's SslPrincipalMapperTest. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "principal.h"
#include "tls.h"

static struct principal_rules *parse_ok(const char *text) {
  struct principal_rules *rules = NULL;
  char err[512] = "";
  ck_assert_msg(principal_rules_parse(text, &rules, err, sizeof(err)) == 0, "'%s' refused: %s",
                text, err);
  return rules;
}

static void expect_invalid(const char *text, const char *needle) {
  struct principal_rules *rules = NULL;
  char err[512] = "";
  ck_assert_msg(principal_rules_parse(text, &rules, err, sizeof(err)) != 0, "'%s' was accepted",
                text);
  ck_assert_ptr_null(rules);
  ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in '%s'", needle, err);
}

static void expect_map(const char *rules_text, const char *dn, const char *expected) {
  struct principal_rules *rules = parse_ok(rules_text);
  char out[256];
  enum principal_map_result r = principal_rules_map(rules, dn, out, sizeof(out));
  ck_assert_msg(r == PRINCIPAL_MAPPED, "%s on %s: result %d", rules_text, dn, (int)r);
  ck_assert_str_eq(out, expected);
  principal_rules_free(rules);
}

START_TEST(default_rules_keep_the_dn) {
  expect_map("DEFAULT", "CN=client,OU=Eng,O=Quire,C=US", "CN=client,OU=Eng,O=Quire,C=US");
  struct principal_rules *rules = NULL;
  char err[64], out[64];
  ck_assert_int_eq(principal_rules_parse(NULL, &rules, err, sizeof(err)), 0);
  ck_assert_int_eq(principal_rules_count(rules), 1);
  ck_assert_int_eq(principal_rules_map(rules, "CN=x", out, sizeof(out)), PRINCIPAL_MAPPED);
  ck_assert_str_eq(out, "CN=x");
  principal_rules_free(rules);
}
END_TEST

START_TEST(kafka_valid_rules_are_accepted) {
  static const char *const valid[] = {
      "DEFAULT",
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
      "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
      "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
      "RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
      "RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
      "RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
  };
  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    struct principal_rules *rules = parse_ok(valid[i]);
    ck_assert_int_eq(principal_rules_count(rules), 1);
    principal_rules_free(rules);
  }
}
END_TEST

START_TEST(kafka_invalid_rules_are_refused) {
  expect_invalid("default", "invalid rule `default`");
  expect_invalid("DEFAUL", "invalid rule `DEFAUL`");
  expect_invalid("DEFAULT/L", "unmatched substring: `/L`");
  expect_invalid("DEFAULT/U", "unmatched substring: `/U`");
  expect_invalid("RULE:CN=(.*?),OU=ServiceUsers.*/$1", "invalid rule");
  expect_invalid("rule:^CN=(.*?),OU=ServiceUsers.*$/$1/", "invalid rule");
  expect_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U", "unmatched substring: `/U`");
  expect_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/L", "invalid rule");
  expect_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/U", "invalid rule");
  expect_invalid("RULE:^CN=(.*?),OU=ServiceUsers.*$/LU", "invalid rule");
}
END_TEST

START_TEST(bad_patterns_and_replacements_are_refused_at_start) {
  expect_invalid("RULE:^CN=(.*$/$1/", "pattern error");
  expect_invalid("RULE:^CN=(.*)$/$x/", "illegal group reference");
  expect_invalid("RULE:^CN=.*$/$1/", "no group 1");
  expect_invalid("RULE:^CN=(?<who>.*)$/${what}/", "no group named 'what'");
}
END_TEST

START_TEST(rules_split_like_kafka) {
  static const struct {
    const char *text;
    int count;
  } cases[] = {
      {"DEFAULT", 1},
      {"  DEFAULT  , DEFAULT   ", 2},
      {"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,DEFAULT", 2},
      {"  RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/  ,  DEFAULT  ", 2},
      {"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT", 2},
      {"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/U,DEFAULT", 2},
      {"DEFAULT,,DEFAULT", 2}, /* an empty rule is dropped */
      {"", 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct principal_rules *rules = parse_ok(cases[i].text);
    ck_assert_msg(principal_rules_count(rules) == cases[i].count, "'%s': %d rules, expected %d",
                  cases[i].text, principal_rules_count(rules), cases[i].count);
    principal_rules_free(rules);
  }
}
END_TEST

START_TEST(kafka_mapper_cases) {
  const char *rules = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, "
                      "RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L, "
                      "RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U, "
                      "RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U, "
                      "DEFAULT";
  expect_map(rules, "CN=Duke,OU=ServiceUsers,O=Org,C=US", "duke");
  expect_map(rules, "CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme");
  expect_map(rules, "cn=duke,ou=sme,dc=mycp,dc=com", "DUKE@SME");
  expect_map(rules, "cN=duke,OU=JavaSoft,O=Sun Microsystems", "DUKE");
  expect_map(rules, "OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US");
}
END_TEST

START_TEST(escaped_commas_in_a_dn_survive_the_rules) {
  /* Kafka's testCommaWithWhitespace */
  expect_map("RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT",
             "CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz", "Tkac\\, Adam");
  expect_map("RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT", "OU=ITZ,DC=geodis,DC=cz",
             "OU=ITZ,DC=geodis,DC=cz");
}
END_TEST

START_TEST(replacement_follows_java_replace_all) {
  /* "abc".replaceAll(".*", "X") is "XX" in Java: the whole string, then the empty end */
  expect_map("RULE:.*/X/", "CN=a", "XX");
  /* a reference to a group the pattern does not have stays literal (Kafka) */
  expect_map("RULE:^CN=([^,]*).*$/$1-$2/", "CN=a,O=b", "a-$2");
  /* $12 with one group is group 1 then '2' (Matcher.appendReplacement) */
  expect_map("RULE:^CN=([^,]*).*$/$12/", "CN=a,O=b", "a2");
  expect_map("RULE:^CN=(?<who>[^,]*).*$/user-${who}/", "CN=a,O=b", "user-a");
  expect_map("RULE:^CN=([^,]*).*$/\\$1 is $1/", "CN=a,O=b", "$1 is a");
  expect_map("RULE:^CN=([^,]*),O=(.*)$/$2\\/$1/", "CN=a,O=b", "b/a");
  expect_map("RULE:^CN=([^,]*).*$/$0/U", "CN=a,O=b", "CN=A,O=B");
}
END_TEST

START_TEST(first_applicable_rule_wins_and_none_is_an_error) {
  expect_map("RULE:^CN=admin.*$/root/,RULE:^CN=([^,]*).*$/$1/", "CN=admin,O=x", "root");
  expect_map("RULE:^CN=admin.*$/root/,RULE:^CN=([^,]*).*$/$1/", "CN=bob,O=x", "bob");
  struct principal_rules *rules = parse_ok("RULE:^CN=admin$/root/");
  char out[64];
  ck_assert_int_eq(principal_rules_map(rules, "CN=bob", out, sizeof(out)), PRINCIPAL_NO_RULE);
  /* the pattern must match the whole DN, as Java's matches() */
  ck_assert_int_eq(principal_rules_map(rules, "CN=admin,O=x", out, sizeof(out)), PRINCIPAL_NO_RULE);
  ck_assert_int_eq(principal_rules_map(rules, "CN=admin", out, 4), PRINCIPAL_TOO_LONG);
  principal_rules_free(rules);
}
END_TEST

/* ---- subjects ----------------------------------------------------------------------------- */

static X509_NAME *name_of(const char *const *fields) {
  X509_NAME *name = X509_NAME_new();
  ck_assert_ptr_nonnull(name);
  for (int i = 0; fields[i] != NULL; i += 2) {
    const char *field = fields[i];
    int set = 0;
    if (field[0] == '+') { /* same RDN as the previous attribute */
      field++;
      set = -1;
    }
    ck_assert(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                         (const unsigned char *)fields[i + 1], -1, -1, set) == 1);
  }
  return name;
}

static void expect_dn(const char *const *fields, const char *expected) {
  X509_NAME *name = name_of(fields);
  char out[256];
  ck_assert_int_eq(tls_dn_format(name, out, sizeof(out)), 0);
  ck_assert_str_eq(out, expected);
  X509_NAME_free(name);
}

START_TEST(subject_is_written_last_rdn_first_with_java_keywords) {
  expect_dn((const char *const[]){"C", "US", "ST", "CA", "L", "Palo Alto", "O", "Quire", "OU",
                                  "Eng", "CN", "client", NULL},
            "CN=client,OU=Eng,O=Quire,L=Palo Alto,ST=CA,C=US");
  expect_dn(
      (const char *const[]){"DC", "com", "DC", "example", "UID", "jdoe", "street", "Main 1", NULL},
      "STREET=Main 1,UID=jdoe,DC=example,DC=com");
}
END_TEST

START_TEST(subject_escapes_special_characters_as_java_does) {
  expect_dn((const char *const[]){"CN", "Tkac, Adam", NULL}, "CN=Tkac\\, Adam");
  expect_dn((const char *const[]){"CN", "a+b=c<d>e#f;g\"h\\i", NULL},
            "CN=a\\+b\\=c\\<d\\>e\\#f\\;g\\\"h\\\\i");
  expect_dn((const char *const[]){"CN", "  padded ", NULL}, "CN=\\ \\ padded\\ ");
  expect_dn((const char *const[]){"O", "Zürich AG", NULL}, "O=Zürich AG");
}
END_TEST

START_TEST(subject_writes_other_attributes_as_oid_and_der_hex) {
  /* emailAddress is an IA5String (tag 0x16): Java prints 1.2.840.113549.1.9.1=#16... */
  expect_dn((const char *const[]){"emailAddress", "a@b", "CN", "c", NULL},
            "CN=c,1.2.840.113549.1.9.1=#1603614062");
  expect_dn((const char *const[]){"CN", "a", "+UID", "b", "O", "o", NULL}, "O=o,CN=a+UID=b");
}
END_TEST

START_TEST(subject_too_long_is_an_error) {
  X509_NAME *name = name_of((const char *const[]){"CN", "a-rather-long-common-name", NULL});
  char out[8];
  ck_assert_int_eq(tls_dn_format(name, out, sizeof(out)), -1);
  X509_NAME_free(name);
}
END_TEST

static Suite *principal_suite(void) {
  Suite *s = suite_create("principal");
  TCase *rules = tcase_create("rules");
  tcase_add_test(rules, default_rules_keep_the_dn);
  tcase_add_test(rules, kafka_valid_rules_are_accepted);
  tcase_add_test(rules, kafka_invalid_rules_are_refused);
  tcase_add_test(rules, bad_patterns_and_replacements_are_refused_at_start);
  tcase_add_test(rules, rules_split_like_kafka);
  tcase_add_test(rules, kafka_mapper_cases);
  tcase_add_test(rules, escaped_commas_in_a_dn_survive_the_rules);
  tcase_add_test(rules, replacement_follows_java_replace_all);
  tcase_add_test(rules, first_applicable_rule_wins_and_none_is_an_error);
  suite_add_tcase(s, rules);
  TCase *dn = tcase_create("subject");
  tcase_add_test(dn, subject_is_written_last_rdn_first_with_java_keywords);
  tcase_add_test(dn, subject_escapes_special_characters_as_java_does);
  tcase_add_test(dn, subject_writes_other_attributes_as_oid_and_der_hex);
  tcase_add_test(dn, subject_too_long_is_an_error);
  suite_add_tcase(s, dn);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(principal_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
