/* ssl.principal.mapping.rules: Kafka's SslPrincipalMapper. A rule list maps the subject of a
 * client certificate (an RFC 2253 DN as Java's X500Principal.getName() writes it) to the name
 * of the principal; the first rule that applies wins.
 *
 *   DEFAULT                           the DN itself
 *   RULE:pattern/replacement/[L|U]    when pattern (a PCRE2 regex, close to Java's) matches the
 *                                     whole DN: DN.replaceAll(pattern, replacement) as Java does
 *                                     it, then lower- (L) or upper-cased (U, ASCII letters only)
 *
 * The list is split as Kafka splits it (commas may appear inside a pattern), "/" inside pattern or
 * replacement is written "\/", and the replacement uses Java's syntax: $1, ${name}, \x for a
 * literal x; a $N naming a group the pattern does not have is kept literally (as Kafka does). */
#ifndef QUIRE_BROKER_PRINCIPAL_H
#define QUIRE_BROKER_PRINCIPAL_H

#include <stddef.h>

struct principal_rules;

/* Parses the value of ssl.principal.mapping.rules (NULL means DEFAULT). On error returns -1 with a
 * message naming the offending rule in err. */
int principal_rules_parse(const char *text, struct principal_rules **out, char *err,
                          size_t err_size);
void principal_rules_free(struct principal_rules *rules);
/* Number of rules (empty items are dropped, as Kafka drops them). */
int principal_rules_count(const struct principal_rules *rules);

enum principal_map_result {
  PRINCIPAL_MAPPED = 0,    /* the name is in out */
  PRINCIPAL_NO_RULE = 1,   /* no rule applies (Kafka refuses the client) */
  PRINCIPAL_TOO_LONG = -1, /* the name does not fit in out_size */
  PRINCIPAL_BAD_RULE = -2  /* the replacement refers to a group that does not exist */
};
enum principal_map_result principal_rules_map(const struct principal_rules *rules, const char *dn,
                                              char *out, size_t out_size);

#endif
