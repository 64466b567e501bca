/* ssl.principal.mapping.rules, after Kafka's SslPrincipalMapper. Design note:
 *   - Splitting follows Kafka's RULE_SPLITTER regex
 *       \s*((DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?))\s*(,\s*|$)
 *     applied with find() to the trimmed value; it is hand-written here (split_next) so that the
 *     lazy ".*?" and the alternation order behave exactly alike: a comma inside a pattern or
 *     replacement does not split, anything else does.
 *   - Each item is then DEFAULT, RULE:pattern/replacement/[LU] with nothing after it, or empty
 *     (dropped); anything else is an invalid rule, as with Kafka's RULE_PARSER.
 *   - A rule applies when its pattern matches the whole DN (Java's Matcher.matches(): PCRE2 with
 *     ANCHORED|ENDANCHORED). Its result is Java's String.replaceAll(pattern, replacement):
 *     every match from the left, an empty match moving the next search one character on
 *     (Matcher.find()), and the replacement expanded by Matcher.appendReplacement's rules after
 *     Kafka's escapeLiteralBackReferences (a $N whose first digit names no group is literal). */
#include "principal.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRINCIPAL_RULES_MAX 64

struct principal_rule {
  bool is_default;
  pcre2_code *re;
  char *replacement;
  uint32_t group_count;
  bool lower, upper;
};

struct principal_rules {
  struct principal_rule items[PRINCIPAL_RULES_MAX];
  int count;
};

static int rules_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rules_fail(char *err, size_t err_size, const char *fmt, ...) {
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Java's \s */
static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Whether s[k..n) starts with \s*(,\s*|$); *next is the index after that separator. */
static bool sep_at(const char *s, size_t n, size_t k, size_t *next) {
  size_t i = k;
  while (i < n && is_space(s[i])) i++;
  if (i < n && s[i] != ',') return false;
  if (i < n) {
    i++;
    while (i < n && is_space(s[i])) i++;
  }
  *next = i;
  return true;
}

/* The smallest k >= from at which a separator starts (".*?" followed by the separator). */
static size_t lazy_end(const char *s, size_t n, size_t from, size_t *next) {
  for (size_t k = from;; k++)
    if (sep_at(s, n, k, next)) return k; /* k == n always matches */
}

/* (\\.|[^\\/])* from i: the end of a pattern or replacement. Java's "." skips line ends. */
static size_t scan_part(const char *s, size_t n, size_t i) {
  while (i < n) {
    if (s[i] == '\\' && i + 1 < n && s[i + 1] != '\n' && s[i + 1] != '\r')
      i += 2;
    else if (s[i] == '\\' || s[i] == '/')
      break;
    else
      i++;
  }
  return i;
}

/* One find() of RULE_SPLITTER at pos: the item is s[*start, *end), the next search at *next. */
static void split_next(const char *s, size_t n, size_t pos, size_t *start, size_t *end,
                       size_t *next) {
  size_t i = pos;
  while (i < n && is_space(s[i])) i++;
  *start = i;
  if (n - i >= 7 && memcmp(s + i, "DEFAULT", 7) == 0 && sep_at(s, n, i + 7, next)) {
    *end = i + 7;
    return;
  }
  if (n - i >= 5 && memcmp(s + i, "RULE:", 5) == 0) {
    size_t j = scan_part(s, n, i + 5);
    if (j < n && s[j] == '/') {
      size_t k = scan_part(s, n, j + 1);
      if (k < n && s[k] == '/') {
        size_t f = k + 1;
        if (f < n && (s[f] == 'L' || s[f] == 'U')) f++;
        *end = lazy_end(s, n, f, next);
        return;
      }
    }
  }
  *end = lazy_end(s, n, i, next);
}

/* Checks a replacement against Matcher.appendReplacement's syntax for this pattern. */
static int replacement_check(const pcre2_code *re, uint32_t groups, const char *r, char *err,
                             size_t err_size, const char *rule) {
  for (size_t i = 0; r[i] != '\0'; i++) {
    if (r[i] == '\\') {
      if (r[i + 1] == '\0')
        return rules_fail(err, err_size, "invalid rule `%s`: the replacement ends with '\\'", rule);
      i++;
    } else if (r[i] == '$') {
      if (r[i + 1] == '{') {
        const char *close = strchr(r + i + 2, '}');
        char name[64];
        size_t len = close != NULL ? (size_t)(close - (r + i + 2)) : 0;
        if (close == NULL || len == 0 || len >= sizeof(name))
          return rules_fail(err, err_size, "invalid rule `%s`: bad group name after '${'", rule);
        memcpy(name, r + i + 2, len);
        name[len] = '\0';
        if (pcre2_substring_number_from_name(re, (PCRE2_SPTR)name) < 0)
          return rules_fail(err, err_size, "invalid rule `%s`: no group named '%s'", rule, name);
        i = (size_t)(close - r);
      } else if (!isdigit((unsigned char)r[i + 1])) {
        return rules_fail(err, err_size,
                          "invalid rule `%s`: illegal group reference in the replacement (write "
                          "\\$ for a literal $)",
                          rule);
      } else if (groups == 0 && r[i + 1] != '0') {
        return rules_fail(err, err_size, "invalid rule `%s`: the pattern has no group %c", rule,
                          r[i + 1]);
      }
    }
  }
  return 0;
}

static int rule_compile(struct principal_rule *rule, const char *item, size_t len, char *err,
                        size_t err_size) {
  /* item is "RULE:pattern/replacement/[LU]" exactly (checked by the caller) */
  size_t j = scan_part(item, len, 5), k = scan_part(item, len, j + 1);
  int code;
  PCRE2_SIZE offset;
  rule->re = pcre2_compile((PCRE2_SPTR)(item + 5), j - 5, PCRE2_UTF, &code, &offset, NULL);
  if (rule->re == NULL) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof(msg));
    return rules_fail(err, err_size, "invalid rule `%s`: pattern error at offset %zu: %s", item,
                      (size_t)offset, (const char *)msg);
  }
  pcre2_pattern_info(rule->re, PCRE2_INFO_CAPTURECOUNT, &rule->group_count);
  rule->replacement = strndup(item + j + 1, k - j - 1);
  if (rule->replacement == NULL) return rules_fail(err, err_size, "out of memory");
  rule->lower = k + 1 < len && item[k + 1] == 'L';
  rule->upper = k + 1 < len && item[k + 1] == 'U';
  return replacement_check(rule->re, rule->group_count, rule->replacement, err, err_size, item);
}

/* One item of the split list: DEFAULT, a complete RULE, or empty. */
static int rule_parse(struct principal_rules *rules, const char *item, size_t len, char *err,
                      size_t err_size) {
  char text[1024];
  if (len == 0) return 0;
  if (len >= sizeof(text))
    return rules_fail(err, err_size, "invalid rule `%.60s...`: longer than %zu characters", item,
                      sizeof(text) - 1);
  memcpy(text, item, len);
  text[len] = '\0';
  size_t matched = 0;
  if (strncmp(text, "DEFAULT", 7) == 0) {
    matched = 7;
  } else if (strncmp(text, "RULE:", 5) == 0) {
    size_t j = scan_part(text, len, 5);
    if (j < len && text[j] == '/') {
      size_t k = scan_part(text, len, j + 1);
      if (k < len && text[k] == '/') {
        matched = k + 1;
        if (matched < len && (text[matched] == 'L' || text[matched] == 'U')) matched++;
      }
    }
  }
  if (matched != len)
    return rules_fail(err, err_size,
                      "invalid rule `%s`, unmatched substring: `%s` (rules are DEFAULT or "
                      "RULE:pattern/replacement/[LU], separated by commas)",
                      text, text + matched);
  if (rules->count >= PRINCIPAL_RULES_MAX)
    return rules_fail(err, err_size, "more than %d rules", PRINCIPAL_RULES_MAX);
  struct principal_rule *rule = &rules->items[rules->count++];
  memset(rule, 0, sizeof(*rule));
  if (matched == 7 && text[0] == 'D') {
    rule->is_default = true;
    return 0;
  }
  return rule_compile(rule, text, len, err, err_size);
}

int principal_rules_parse(const char *text, struct principal_rules **out, char *err,
                          size_t err_size) {
  struct principal_rules *rules = calloc(1, sizeof(*rules));
  if (rules == NULL) return rules_fail(err, err_size, "out of memory");
  if (text == NULL) text = "DEFAULT";
  /* Java's String.trim(): every character up to ' ' */
  size_t n = strlen(text);
  while (n > 0 && (unsigned char)text[n - 1] <= ' ') n--;
  while (n > 0 && (unsigned char)*text <= ' ') {
    text++;
    n--;
  }
  for (size_t pos = 0;;) {
    size_t start, end, next;
    split_next(text, n, pos, &start, &end, &next);
    if (rule_parse(rules, text + start, end - start, err, err_size) != 0) goto fail;
    if (next == pos) break; /* the empty match at the end */
    pos = next;
  }
  *out = rules;
  return 0;
fail:
  principal_rules_free(rules);
  return -1;
}

void principal_rules_free(struct principal_rules *rules) {
  if (rules == NULL) return;
  for (int i = 0; i < rules->count; i++) {
    pcre2_code_free(rules->items[i].re);
    free(rules->items[i].replacement);
  }
  free(rules);
}

int principal_rules_count(const struct principal_rules *rules) { return rules->count; }

/* ---- applying a rule ---------------------------------------------------------------------- */

struct outbuf {
  char *p;
  size_t len, cap;
  bool overflow;
};

static void out_add(struct outbuf *o, const char *s, size_t n) {
  if (o->overflow || n >= o->cap - o->len) {
    o->overflow = true;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void out_group(struct outbuf *o, const char *subject, const PCRE2_SIZE *ov, uint32_t g) {
  if (ov[2 * g] == PCRE2_UNSET) return; /* a group that did not take part appends nothing */
  out_add(o, subject + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
}

/* Matcher.appendReplacement's expansion (syntax checked at parse time). */
static void expand(struct outbuf *o, const struct principal_rule *rule, const char *subject,
                   const PCRE2_SIZE *ov) {
  const char *r = rule->replacement;
  uint32_t groups = rule->group_count;
  for (size_t i = 0; r[i] != '\0'; i++) {
    if (r[i] == '\\') {
      out_add(o, &r[i + 1], 1);
      i++;
    } else if (r[i] == '$' && r[i + 1] == '{') {
      const char *close = strchr(r + i + 2, '}');
      char name[64];
      size_t len = (size_t)(close - (r + i + 2));
      memcpy(name, r + i + 2, len);
      name[len] = '\0';
      int g = pcre2_substring_number_from_name(rule->re, (PCRE2_SPTR)name);
      if (g >= 0) out_group(o, subject, ov, (uint32_t)g);
      i = (size_t)(close - r);
    } else if (r[i] == '$' && (uint32_t)(r[i + 1] - '0') > groups) {
      out_add(o, "$", 1); /* Kafka escapes a back reference to a group that does not exist */
    } else if (r[i] == '$') {
      uint32_t g = (uint32_t)(r[++i] - '0');
      while (isdigit((unsigned char)r[i + 1]) && g * 10 + (uint32_t)(r[i + 1] - '0') <= groups)
        g = g * 10 + (uint32_t)(r[++i] - '0');
      out_group(o, subject, ov, g);
    } else {
      out_add(o, &r[i], 1);
    }
  }
}

/* 0: applied (result in o), 1: the pattern does not match the whole DN, -1: PCRE2 failure. */
static int rule_apply(const struct principal_rule *rule, const char *dn, struct outbuf *o) {
  size_t n = strlen(dn);
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(rule->re, NULL);
  if (md == NULL) return -1;
  int result = 1;
  if (pcre2_match(rule->re, (PCRE2_SPTR)dn, n, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL) < 0)
    goto done;
  /* String.replaceAll: Matcher.find() from the left; after an empty match the next search
   * starts one character further on. */
  size_t copied = 0, prev_start = SIZE_MAX, prev_end = 0;
  for (;;) {
    size_t from = prev_end;
    if (from == prev_start) {
      from++;
      while (from < n && ((unsigned char)dn[from] & 0xC0) == 0x80) from++; /* UTF-8 */
    }
    if (from > n) break;
    int rc = pcre2_match(rule->re, (PCRE2_SPTR)dn, n, from, 0, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      result = -1;
      goto done;
    }
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    out_add(o, dn + copied, ov[0] - copied);
    expand(o, rule, dn, ov);
    copied = ov[1];
    prev_start = ov[0];
    prev_end = ov[1];
  }
  out_add(o, dn + copied, n - copied);
  for (size_t i = 0; i < o->len; i++) {
    unsigned char c = (unsigned char)o->p[i];
    if (rule->lower && c < 0x80) o->p[i] = (char)tolower(c);
    if (rule->upper && c < 0x80) o->p[i] = (char)toupper(c);
  }
  result = 0;
done:
  pcre2_match_data_free(md);
  return result;
}

enum principal_map_result principal_rules_map(const struct principal_rules *rules, const char *dn,
                                              char *out, size_t out_size) {
  if (out_size == 0) return PRINCIPAL_TOO_LONG;
  for (int i = 0; i < rules->count; i++) {
    const struct principal_rule *rule = &rules->items[i];
    struct outbuf o = {out, 0, out_size, false};
    out[0] = '\0';
    if (rule->is_default) {
      out_add(&o, dn, strlen(dn));
      return o.overflow ? PRINCIPAL_TOO_LONG : PRINCIPAL_MAPPED;
    }
    int rc = rule_apply(rule, dn, &o);
    if (rc < 0) return PRINCIPAL_BAD_RULE;
    if (rc == 0) return o.overflow ? PRINCIPAL_TOO_LONG : PRINCIPAL_MAPPED;
  }
  out[0] = '\0';
  return PRINCIPAL_NO_RULE;
}
