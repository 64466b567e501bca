/* TLS listeners. Design note:
 *   - Settings: every ssl.* key is read through tls_setting(), which answers
 *     listener.name.<listener, lower case>.<key> when set (Kafka's per-listener override; the
 *     upper-case spelling is accepted too) and the plain key otherwise. Prefixed values are
 *     checked here with the plain key's rules, since the config loader skips prefixed keys.
 *   - Stores are PEM only, as Kafka 2.7+ reads them: the keystore is a file with the private key
 *     and the certificate chain (leaf first), or the two as PEM text in ssl.keystore.key and
 *     ssl.keystore.certificate.chain; the truststore is a file or ssl.truststore.certificates.
 *     PEM text from a properties file often lost its line breaks (backslash continuations), so
 *     every PEM block is re-wrapped before OpenSSL reads it (pem_normalize). An encrypted key
 *     takes ssl.key.password; ssl.keystore.password and ssl.truststore.password are refused for
 *     PEM as Kafka refuses them.
 *   - Versions: ssl.enabled.protocols picks the versions (min/max plus SSL_OP_NO_* for gaps).
 *     ssl.protocol only names the Java SSLContext; a Java server context still accepts every
 *     enabled version, so it is checked and otherwise has no effect.
 *   - Cipher suites: ssl.cipher.suites takes IANA names as Java does (TLS_ECDHE_RSA_WITH_..., the
 *     TLS 1.3 TLS_AES_128_GCM_SHA256, Java's SSL_ prefix for TLS_) or OpenSSL names; they are
 *     split into the TLS 1.2 cipher list and the TLS 1.3 ciphersuites. Empty: OpenSSL defaults.
 *   - Client auth: none, requested (SSL_VERIFY_PEER) or required (plus FAIL_IF_NO_PEER_CERT),
 *     against the truststore (or the system's CAs when none is set). The principal is
 *     "User:" + ssl.principal.mapping.rules applied to the subject in RFC 2253 form, or
 *     User:ANONYMOUS without a client certificate (Kafka's DefaultKafkaPrincipalBuilder). */
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <event2/bufferevent_ssl.h>

#include "file.h"
#include "log.h"
#include "net.h"
#include "principal.h"

#define TLS_PEM_FILE_BYTES_MAX (1 << 20)
#define TLS_CIPHERS_MAX 4096

struct tls_ctx {
  SSL_CTX *ssl_ctx;
  struct principal_rules *rules;
  char listener[64];
};

struct tls_settings {
  const struct config *cfg;
  char prefix_lower[96], prefix_upper[96];
  char used_key[192]; /* the key the last tls_setting answered from, for messages */
};

static int tls_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int tls_fail(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_size, fmt, ap);
  va_end(ap);
  return -1;
}

/* OpenSSL's most recent error reason (and clears the queue), for messages. */
static const char *tls_openssl_reason(char *buf, size_t size) {
  unsigned long e = ERR_peek_last_error();
  const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;
  if (reason != NULL)
    snprintf(buf, size, "%s", reason);
  else if (e != 0)
    ERR_error_string_n(e, buf, size);
  else
    snprintf(buf, size, "unknown error");
  ERR_clear_error();
  return buf;
}

/* ---- settings ----------------------------------------------------------------------------- */

static const char *tls_setting(struct tls_settings *ts, const char *key) {
  snprintf(ts->used_key, sizeof(ts->used_key), "%s%s", ts->prefix_lower, key);
  if (config_is_set(ts->cfg, ts->used_key)) return config_get(ts->cfg, ts->used_key);
  snprintf(ts->used_key, sizeof(ts->used_key), "%s%s", ts->prefix_upper, key);
  if (config_is_set(ts->cfg, ts->used_key)) return config_get(ts->cfg, ts->used_key);
  snprintf(ts->used_key, sizeof(ts->used_key), "%s", key);
  return config_get(ts->cfg, key);
}

/* A setting, with a listener-prefixed value checked against the plain key's rules; NULL when
 * unset (or set to the empty string for a key without default). */
static int tls_setting_checked(struct tls_settings *ts, const char *key, const char **out,
                               char *err, size_t err_size) {
  const char *v = tls_setting(ts, key);
  *out = v != NULL && v[0] != '\0' ? v : NULL;
  if (v == NULL || strcmp(ts->used_key, key) == 0) return 0;
  const struct config_key *k = config_key_find(key);
  char msg[512];
  if (k != NULL && config_value_check(k, v, msg, (int)sizeof(msg)) != 0)
    return tls_fail(err, err_size, "%s: %s", ts->used_key, msg);
  return 0;
}

/* ---- PEM ---------------------------------------------------------------------------------- */

static int buf_add(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap * 2 : 4096;
    while (c < *len + n + 1) c *= 2;
    char *p = realloc(*buf, c);
    if (p == NULL) return -1;
    *buf = p;
    *cap = c;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

/* Every "-----BEGIN X-----...-----END X-----" block of text, its base64 body re-wrapped at 64
 * columns (blocks with headers, such as "Proc-Type:", are kept as they are). Text outside blocks
 * is dropped. Returns the number of blocks (out malloc'd), or -1. */
static int pem_normalize(const char *text, char **out, size_t *out_len) {
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int blocks = 0;
  const char *p = text;
  for (;;) {
    const char *begin = strstr(p, "-----BEGIN ");
    if (begin == NULL) break;
    const char *label = begin + 11, *label_end = strstr(label, "-----");
    if (label_end == NULL || label_end - label > 64) break;
    char end_marker[96];
    snprintf(end_marker, sizeof(end_marker), "-----END %.*s-----", (int)(label_end - label), label);
    const char *body = label_end + 5, *end = strstr(body, end_marker);
    if (end == NULL) break;
    bool has_headers = memchr(body, ':', (size_t)(end - body)) != NULL;
    if (buf_add(&buf, &len, &cap, begin, (size_t)(body - begin)) != 0 ||
        buf_add(&buf, &len, &cap, "\n", 1) != 0)
      goto fail;
    if (has_headers) {
      if (buf_add(&buf, &len, &cap, body, (size_t)(end - body)) != 0 ||
          buf_add(&buf, &len, &cap, "\n", 1) != 0)
        goto fail;
    } else {
      int col = 0;
      for (const char *c = body; c < end; c++) {
        if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n') continue;
        if (buf_add(&buf, &len, &cap, c, 1) != 0) goto fail;
        if (++col == 64) {
          if (buf_add(&buf, &len, &cap, "\n", 1) != 0) goto fail;
          col = 0;
        }
      }
      if (col > 0 && buf_add(&buf, &len, &cap, "\n", 1) != 0) goto fail;
    }
    if (buf_add(&buf, &len, &cap, end_marker, strlen(end_marker)) != 0 ||
        buf_add(&buf, &len, &cap, "\n", 1) != 0)
      goto fail;
    blocks++;
    p = end + strlen(end_marker);
  }
  *out = buf;
  *out_len = len;
  return blocks;
fail:
  free(buf);
  return -1;
}

/* PEM text from a file (from_file) or a config value, normalised; what names it in messages. */
static int pem_load(const char *value, bool from_file, const char *what, char **out,
                    size_t *out_len, char *err, size_t err_size) {
  char *raw = NULL;
  size_t raw_len;
  if (from_file) {
    int rc = file_read_all(value, TLS_PEM_FILE_BYTES_MAX, &raw, &raw_len);
    if (rc != 0)
      return tls_fail(err, err_size, "cannot read %s %s: %s", what, value,
                      rc == -EFBIG ? "larger than 1 MiB" : strerror(-rc));
    value = raw;
  }
  int blocks = pem_normalize(value, out, out_len);
  free(raw);
  if (blocks < 0) return tls_fail(err, err_size, "out of memory");
  if (blocks == 0) {
    free(*out);
    *out = NULL;
    return tls_fail(err, err_size, "%s has no PEM block (-----BEGIN ...-----)", what);
  }
  return 0;
}

static int tls_password_cb(char *buf, int size, int rwflag, void *arg) {
  const char *password = arg;
  (void)rwflag;
  if (password == NULL) return -1;
  size_t n = strlen(password);
  if (n > (size_t)size) return -1;
  memcpy(buf, password, n);
  return (int)n;
}

/* Reads every certificate of a PEM text; *count of them into certs (caller frees each). */
static int pem_certs(const char *pem, size_t len, X509 **certs, int certs_max, int *count) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL) return -1;
  *count = 0;
  X509 *x;
  while (*count < certs_max && (x = PEM_read_bio_X509(bio, NULL, tls_password_cb, NULL)) != NULL)
    certs[(*count)++] = x;
  BIO_free(bio);
  ERR_clear_error(); /* the end of the text reads as an error */
  return 0;
}

/* ---- keystore and truststore -------------------------------------------------------------- */

#define TLS_CHAIN_MAX 16

static int tls_load_keystore(SSL_CTX *ctx, struct tls_settings *ts, char *err, size_t err_size) {
  const char *location, *key_text, *chain_text, *key_password, *store_password;
  char keys[5][192];
  if (tls_setting_checked(ts, "ssl.keystore.location", &location, err, err_size) != 0) return -1;
  snprintf(keys[0], sizeof(keys[0]), "%s", ts->used_key);
  if (tls_setting_checked(ts, "ssl.keystore.key", &key_text, err, err_size) != 0) return -1;
  snprintf(keys[1], sizeof(keys[1]), "%s", ts->used_key);
  if (tls_setting_checked(ts, "ssl.keystore.certificate.chain", &chain_text, err, err_size) != 0)
    return -1;
  snprintf(keys[2], sizeof(keys[2]), "%s", ts->used_key);
  if (tls_setting_checked(ts, "ssl.key.password", &key_password, err, err_size) != 0) return -1;
  snprintf(keys[3], sizeof(keys[3]), "%s", ts->used_key);
  if (tls_setting_checked(ts, "ssl.keystore.password", &store_password, err, err_size) != 0)
    return -1;
  snprintf(keys[4], sizeof(keys[4]), "%s", ts->used_key);

  if (store_password != NULL)
    return tls_fail(err, err_size,
                    "%s cannot be used with PEM keystores; set the password of an encrypted "
                    "private key in ssl.key.password",
                    keys[4]);
  if ((key_text != NULL) != (chain_text != NULL))
    return tls_fail(err, err_size, "%s and %s must be set together", keys[1], keys[2]);
  if (key_text != NULL && location != NULL)
    return tls_fail(err, err_size, "%s and %s are both set; give the keystore one way", keys[0],
                    keys[1]);
  if (key_text == NULL && location == NULL)
    return tls_fail(err, err_size,
                    "an SSL listener needs a keystore: ssl.keystore.location (a PEM file with the "
                    "private key and the certificate chain) or ssl.keystore.key with "
                    "ssl.keystore.certificate.chain");

  char *key_pem = NULL, *chain_pem = NULL;
  size_t key_len = 0, chain_len = 0;
  X509 *certs[TLS_CHAIN_MAX];
  int cert_count = 0, rc = -1;
  EVP_PKEY *pkey = NULL;
  char reason[256];
  const char *key_what = location != NULL ? location : keys[1];
  if (location != NULL) {
    if (pem_load(location, true, keys[0], &key_pem, &key_len, err, err_size) != 0) goto done;
  } else if (pem_load(key_text, false, keys[1], &key_pem, &key_len, err, err_size) != 0 ||
             pem_load(chain_text, false, keys[2], &chain_pem, &chain_len, err, err_size) != 0) {
    goto done;
  }

  BIO *bio = BIO_new_mem_buf(key_pem, (int)key_len);
  if (bio == NULL) goto oom;
  char password[1024];
  snprintf(password, sizeof(password), "%s", key_password != NULL ? key_password : "");
  pkey =
      PEM_read_bio_PrivateKey(bio, NULL, tls_password_cb, key_password != NULL ? password : NULL);
  OPENSSL_cleanse(password, sizeof(password));
  BIO_free(bio);
  if (pkey == NULL) {
    tls_fail(err, err_size, "cannot read the private key in %s: %s%s", key_what,
             tls_openssl_reason(reason, sizeof(reason)),
             key_password == NULL ? " (an encrypted key needs ssl.key.password)"
                                  : " (is ssl.key.password right?)");
    goto done;
  }
  const char *chain_what = chain_pem != NULL ? keys[2] : location;
  if (pem_certs(chain_pem != NULL ? chain_pem : key_pem, chain_pem != NULL ? chain_len : key_len,
                certs, TLS_CHAIN_MAX, &cert_count) != 0)
    goto oom;
  if (cert_count == 0) {
    tls_fail(err, err_size, "%s has no certificate (-----BEGIN CERTIFICATE-----)", chain_what);
    goto done;
  }
  if (SSL_CTX_use_certificate(ctx, certs[0]) != 1 || SSL_CTX_use_PrivateKey(ctx, pkey) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    tls_fail(err, err_size, "the key and the first certificate of %s do not go together: %s",
             chain_what, tls_openssl_reason(reason, sizeof(reason)));
    goto done;
  }
  for (int i = 1; i < cert_count; i++) {
    if (SSL_CTX_add1_chain_cert(ctx, certs[i]) != 1) {
      tls_fail(err, err_size, "certificate %d of %s: %s", i + 1, chain_what,
               tls_openssl_reason(reason, sizeof(reason)));
      goto done;
    }
  }
  rc = 0;
  goto done;
oom:
  tls_fail(err, err_size, "out of memory");
done:
  for (int i = 0; i < cert_count; i++) X509_free(certs[i]);
  EVP_PKEY_free(pkey);
  if (key_pem != NULL) OPENSSL_cleanse(key_pem, key_len);
  free(key_pem);
  free(chain_pem);
  return rc;
}

/* Client certificates are checked against the truststore; without one, against the system's CAs
 * (loaded only when client auth is on: that takes a while). */
static int tls_load_truststore(SSL_CTX *ctx, struct tls_settings *ts, bool client_auth, char *err,
                               size_t err_size) {
  const char *location, *certs_text, *password;
  char loc_key[192], text_key[192];
  if (tls_setting_checked(ts, "ssl.truststore.location", &location, err, err_size) != 0) return -1;
  snprintf(loc_key, sizeof(loc_key), "%s", ts->used_key);
  if (tls_setting_checked(ts, "ssl.truststore.certificates", &certs_text, err, err_size) != 0)
    return -1;
  snprintf(text_key, sizeof(text_key), "%s", ts->used_key);
  if (tls_setting_checked(ts, "ssl.truststore.password", &password, err, err_size) != 0) return -1;
  if (password != NULL)
    return tls_fail(err, err_size, "%s cannot be used with PEM truststores", ts->used_key);
  if (location != NULL && certs_text != NULL)
    return tls_fail(err, err_size, "%s and %s are both set; give the truststore one way", loc_key,
                    text_key);
  if (location == NULL && certs_text == NULL) {
    /* Java would use the JVM's default CAs; the system's are the equivalent here */
    if (client_auth && SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
    return 0;
  }
  char *pem = NULL;
  size_t len = 0;
  const char *what = location != NULL ? loc_key : text_key;
  if (pem_load(location != NULL ? location : certs_text, location != NULL, what, &pem, &len, err,
               err_size) != 0)
    return -1;
  X509 *certs[256];
  int count = 0, rc = 0;
  if (pem_certs(pem, len, certs, 256, &count) != 0) {
    free(pem);
    return tls_fail(err, err_size, "out of memory");
  }
  free(pem);
  if (count == 0) rc = tls_fail(err, err_size, "%s has no certificate", what);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  for (int i = 0; i < count; i++) {
    if (rc == 0 &&
        (X509_STORE_add_cert(store, certs[i]) != 1 || SSL_CTX_add_client_CA(ctx, certs[i]) != 1)) {
      char reason[256];
      rc = tls_fail(err, err_size, "certificate %d of %s: %s", i + 1, what,
                    tls_openssl_reason(reason, sizeof(reason)));
    }
    X509_free(certs[i]);
  }
  return rc;
}

/* ---- versions and cipher suites ----------------------------------------------------------- */

struct tls_version_name {
  const char *name;
  int version;
  unsigned long no_option;
};
static const struct tls_version_name tls_versions[] = {
    {"TLSv1", TLS1_VERSION, SSL_OP_NO_TLSv1},
    {"TLSv1.1", TLS1_1_VERSION, SSL_OP_NO_TLSv1_1},
    {"TLSv1.2", TLS1_2_VERSION, SSL_OP_NO_TLSv1_2},
    {"TLSv1.3", TLS1_3_VERSION, SSL_OP_NO_TLSv1_3},
};
#define TLS_VERSION_COUNT 4

static int tls_set_protocols(SSL_CTX *ctx, struct tls_settings *ts, char *err, size_t err_size) {
  const char *protocol, *enabled;
  if (tls_setting_checked(ts, "ssl.protocol", &protocol, err, err_size) != 0) return -1;
  static const char *const contexts[] = {"TLS",     "TLSv1", "TLSv1.1", "TLSv1.2",
                                         "TLSv1.3", "SSL",   "SSLv3",   "DTLS"};
  bool known = protocol == NULL;
  for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]) && !known; i++)
    known = strcasecmp(protocol, contexts[i]) == 0;
  if (!known)
    return tls_fail(err, err_size, "invalid value for %s: '%s' is not TLS, TLSv1.2 or TLSv1.3",
                    ts->used_key, protocol);

  if (tls_setting_checked(ts, "ssl.enabled.protocols", &enabled, err, err_size) != 0) return -1;
  bool on[TLS_VERSION_COUNT] = {false, false, false, false};
  const char *p = enabled != NULL ? enabled : "";
  while (*p != '\0') {
    size_t n = strcspn(p, ",");
    const char *s = p, *e = p + n;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    bool found = s == e;
    for (int i = 0; i < TLS_VERSION_COUNT && !found; i++) {
      if (strlen(tls_versions[i].name) == (size_t)(e - s) &&
          strncasecmp(tls_versions[i].name, s, (size_t)(e - s)) == 0) {
        on[i] = true;
        found = true;
      }
    }
    if (!found)
      return tls_fail(err, err_size, "invalid value for %s: '%.*s' is not a TLS version",
                      ts->used_key, (int)(e - s), s);
    p += n;
    if (*p == ',') p++;
  }
  int lo = -1, hi = -1;
  for (int i = 0; i < TLS_VERSION_COUNT; i++) {
    if (!on[i]) continue;
    if (lo < 0) lo = i;
    hi = i;
  }
  if (lo < 0)
    return tls_fail(err, err_size, "%s names no TLS version (TLSv1.2, TLSv1.3)", ts->used_key);
  if (SSL_CTX_set_min_proto_version(ctx, tls_versions[lo].version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, tls_versions[hi].version) != 1)
    return tls_fail(err, err_size, "%s: OpenSSL refuses the range %s-%s", ts->used_key,
                    tls_versions[lo].name, tls_versions[hi].name);
  for (int i = lo; i <= hi; i++)
    if (!on[i]) SSL_CTX_set_options(ctx, tls_versions[i].no_option);
  if (lo < 2)
    log_warn("tls",
             "%s enables %s: OpenSSL's default security level refuses TLS versions before 1.2, "
             "so clients will not get them",
             ts->used_key, tls_versions[lo].name);
  return 0;
}

/* Whether an IANA name matches a name Kafka accepts for it (Java's, where SSL_ means TLS_). */
static bool tls_iana_name_matches(const char *iana, const char *name) {
  if (iana == NULL) return false;
  if (strncmp(name, "SSL_", 4) == 0)
    return strncmp(iana, "TLS_", 4) == 0 && strcmp(iana + 4, name + 4) == 0;
  return strcmp(iana, name) == 0;
}

/* Finds a cipher by IANA name or OpenSSL name. */
static const SSL_CIPHER *tls_cipher_find(STACK_OF(SSL_CIPHER) * all, const char *name) {
  for (int i = 0; i < sk_SSL_CIPHER_num(all); i++) {
    const SSL_CIPHER *c = sk_SSL_CIPHER_value(all, i);
    if (tls_iana_name_matches(SSL_CIPHER_standard_name(c), name) ||
        strcmp(SSL_CIPHER_get_name(c), name) == 0)
      return c;
  }
  return NULL;
}

static int tls_set_ciphers(SSL_CTX *ctx, struct tls_settings *ts, char *err, size_t err_size) {
  const char *suites;
  if (tls_setting_checked(ts, "ssl.cipher.suites", &suites, err, err_size) != 0) return -1;
  if (suites == NULL) return 0; /* OpenSSL's defaults */
  char key[192];
  snprintf(key, sizeof(key), "%s", ts->used_key);
  /* every cipher this OpenSSL knows, both generations */
  SSL_CTX *all_ctx = SSL_CTX_new(TLS_server_method());
  if (all_ctx == NULL) return tls_fail(err, err_size, "out of memory");
  int rc = -1;
  char *v12 = calloc(2, TLS_CIPHERS_MAX), *v13 = v12 + TLS_CIPHERS_MAX;
  if (v12 == NULL) {
    tls_fail(err, err_size, "out of memory");
    goto done;
  }
  if (SSL_CTX_set_cipher_list(all_ctx, "ALL:COMPLEMENTOFALL") != 1 ||
      SSL_CTX_set_ciphersuites(all_ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                        "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:"
                                        "TLS_AES_128_CCM_8_SHA256") != 1) {
    char reason[256];
    tls_fail(err, err_size, "OpenSSL lists no ciphers: %s",
             tls_openssl_reason(reason, sizeof(reason)));
    goto done;
  }
  STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(all_ctx);
  const char *p = suites;
  while (*p != '\0') {
    size_t n = strcspn(p, ",");
    const char *s = p, *e = p + n;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    if (e > s) {
      char name[128];
      if ((size_t)(e - s) >= sizeof(name)) {
        tls_fail(err, err_size, "invalid value for %s: '%.*s' is too long", key, (int)(e - s), s);
        goto done;
      }
      memcpy(name, s, (size_t)(e - s));
      name[e - s] = '\0';
      const SSL_CIPHER *c = tls_cipher_find(all, name);
      if (c == NULL) {
        tls_fail(err, err_size,
                 "invalid value for %s: unknown cipher suite %s (use IANA names such as "
                 "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 or TLS_AES_256_GCM_SHA384)",
                 key, name);
        goto done;
      }
      bool tls13 = strcmp(SSL_CIPHER_get_version(c), "TLSv1.3") == 0;
      char *list = tls13 ? v13 : v12;
      size_t used = strlen(list);
      int w = snprintf(list + used, TLS_CIPHERS_MAX - used, "%s%s", used ? ":" : "",
                       SSL_CIPHER_get_name(c));
      if (w < 0 || (size_t)w >= TLS_CIPHERS_MAX - used) {
        tls_fail(err, err_size, "invalid value for %s: too many cipher suites", key);
        goto done;
      }
    }
    p += n;
    if (*p == ',') p++;
  }
  /* A list of TLS 1.2 suites only leaves TLS 1.3 without suites, as in Java. */
  bool refused = SSL_CTX_set_ciphersuites(ctx, v13) != 1;
  if (!refused && v12[0] != '\0') {
    refused = SSL_CTX_set_cipher_list(ctx, v12) != 1;
  } else if (!refused) {
    /* sets the empty TLS 1.2 list, then reports that it is empty */
    (void)SSL_CTX_set_cipher_list(ctx, "-ALL");
    ERR_clear_error();
  }
  if (refused) {
    char reason[256];
    tls_fail(err, err_size, "%s: OpenSSL refuses the suites: %s", key,
             tls_openssl_reason(reason, sizeof(reason)));
    goto done;
  }
  rc = 0;
done:
  free(v12);
  SSL_CTX_free(all_ctx);
  return rc;
}

/* ---- context ------------------------------------------------------------------------------ */

int tls_ctx_create(struct tls_ctx **out, const struct config *cfg, const char *listener_name,
                   char *err, size_t err_size) {
  struct tls_settings ts;
  memset(&ts, 0, sizeof(ts));
  ts.cfg = cfg;
  char lower[64];
  size_t n = strlen(listener_name);
  if (n >= sizeof(lower)) n = sizeof(lower) - 1;
  for (size_t i = 0; i < n; i++) lower[i] = (char)tolower((unsigned char)listener_name[i]);
  lower[n] = '\0';
  snprintf(ts.prefix_lower, sizeof(ts.prefix_lower), "listener.name.%s.", lower);
  snprintf(ts.prefix_upper, sizeof(ts.prefix_upper), "listener.name.%s.", listener_name);

  struct tls_ctx *tls = calloc(1, sizeof(*tls));
  if (tls == NULL) return tls_fail(err, err_size, "out of memory");
  snprintf(tls->listener, sizeof(tls->listener), "%s", listener_name);
  tls->ssl_ctx = SSL_CTX_new(TLS_server_method());
  if (tls->ssl_ctx == NULL) {
    char reason[256];
    tls_fail(err, err_size, "cannot create an OpenSSL context: %s",
             tls_openssl_reason(reason, sizeof(reason)));
    goto fail;
  }
  SSL_CTX *ctx = tls->ssl_ctx;
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  static const unsigned char sid_ctx[] = "quire";
  SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);

  for (const char *const *k =
           (const char *const[]){"ssl.keystore.type", "ssl.truststore.type", NULL};
       *k != NULL; k++) {
    const char *type;
    if (tls_setting_checked(&ts, *k, &type, err, err_size) != 0) goto fail;
    if (type != NULL && strcasecmp(type, "PEM") != 0) {
      tls_fail(err, err_size, "%s=%s: only PEM stores are supported", ts.used_key, type);
      goto fail;
    }
  }
  if (tls_set_protocols(ctx, &ts, err, err_size) != 0) goto fail;
  if (tls_set_ciphers(ctx, &ts, err, err_size) != 0) goto fail;
  if (tls_load_keystore(ctx, &ts, err, err_size) != 0) goto fail;

  const char *client_auth;
  if (tls_setting_checked(&ts, "ssl.client.auth", &client_auth, err, err_size) != 0) goto fail;
  int verify = SSL_VERIFY_NONE;
  if (client_auth != NULL && strcasecmp(client_auth, "required") == 0)
    verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  else if (client_auth != NULL && strcasecmp(client_auth, "requested") == 0)
    verify = SSL_VERIFY_PEER;
  if (tls_load_truststore(ctx, &ts, verify != SSL_VERIFY_NONE, err, err_size) != 0) goto fail;
  SSL_CTX_set_verify(ctx, verify, NULL);

  const char *rules;
  if (tls_setting_checked(&ts, "ssl.principal.mapping.rules", &rules, err, err_size) != 0)
    goto fail;
  char rules_err[512];
  if (principal_rules_parse(rules, &tls->rules, rules_err, sizeof(rules_err)) != 0) {
    tls_fail(err, err_size, "invalid value for %s: %s", ts.used_key, rules_err);
    goto fail;
  }

  char subject[512] = "?";
  X509 *leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf != NULL) tls_dn_format(X509_get_subject_name(leaf), subject, sizeof(subject));
  log_info("tls", "listener %s: certificate %s, client auth %s", listener_name, subject,
           client_auth != NULL ? client_auth : "none");
  *out = tls;
  return 0;
fail:
  tls_ctx_destroy(tls);
  return -1;
}

void tls_ctx_destroy(struct tls_ctx *tls) {
  if (tls == NULL) return;
  SSL_CTX_free(tls->ssl_ctx);
  principal_rules_free(tls->rules);
  free(tls);
}

struct bufferevent *tls_bufferevent_new(struct tls_ctx *tls, struct event_base *base,
                                        evutil_socket_t fd) {
  SSL *ssl = SSL_new(tls->ssl_ctx);
  if (ssl == NULL) {
    ERR_clear_error();
    return NULL;
  }
  /* Deferred callbacks: an OpenSSL bufferevent may write (and drain its output) inside
   * bufferevent_write, and connection.c must not see on_write run inside its own read callback. */
  struct bufferevent *bev = bufferevent_openssl_socket_new(
      base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (bev == NULL) return NULL; /* out of memory; libevent frees ssl (BEV_OPT_CLOSE_ON_FREE) */
  /* A client that closes the TCP connection without close_notify is closing, not failing. */
  bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
  return bev;
}

/* ---- connections -------------------------------------------------------------------------- */

/* OpenSSL's reasons for a bufferevent's failure, else the socket error, else "". */
static void tls_bev_reason(struct bufferevent *bev, char *out, size_t size) {
  size_t used = 0;
  unsigned long e;
  out[0] = '\0';
  while ((e = bufferevent_get_openssl_error(bev)) != 0) {
    char one[256];
    if (ERR_GET_LIB(e) == 0) continue; /* libevent also queues SSL_get_error()'s code */
    const char *reason = ERR_reason_error_string(e);
    if (reason == NULL) {
      ERR_error_string_n(e, one, sizeof(one));
      reason = one;
    }
    if (used < size) {
      int w = snprintf(out + used, size - used, "%s%s", used ? "; " : "", reason);
      if (w > 0) used += (size_t)w;
    }
  }
  if (used == 0) {
    int se = EVUTIL_SOCKET_ERROR();
    if (se != 0) snprintf(out, size, "%s", evutil_socket_error_to_string(se));
  }
}

static int tls_conn_established(struct connection *c, SSL *ssl) {
  const struct tls_ctx *tls = c->listener->tls;
  X509 *cert = SSL_get0_peer_certificate(ssl);
  if (cert == NULL) {
    snprintf(c->principal, sizeof(c->principal), "User:ANONYMOUS");
  } else {
    char dn[sizeof(c->principal)], name[sizeof(c->principal) - 5];
    if (tls_dn_format(X509_get_subject_name(cert), dn, sizeof(dn)) != 0) {
      log_warn("tls", "closing %s on %s: the subject of its certificate is longer than %zu bytes",
               c->peer, tls->listener, sizeof(dn) - 1);
      return -1;
    }
    enum principal_map_result r = principal_rules_map(tls->rules, dn, name, sizeof(name));
    if (r != PRINCIPAL_MAPPED) {
      log_warn("tls", "closing %s on %s: %s for the certificate subject %s", c->peer, tls->listener,
               r == PRINCIPAL_NO_RULE    ? "no ssl.principal.mapping.rules rule applies"
               : r == PRINCIPAL_TOO_LONG ? "the mapped principal name is too long"
                                         : "the principal mapping failed",
               dn);
      return -1;
    }
    snprintf(c->principal, sizeof(c->principal), "User:%s", name);
  }
  log_debug("tls", "TLS handshake with %s on %s done: %s %s, principal %s", c->peer, tls->listener,
            SSL_get_version(ssl), SSL_get_cipher_name(ssl), c->principal);
  return 0;
}

int tls_conn_event(struct connection *c, short events) {
  SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
  if (ssl == NULL) return 0;
  if (events & BEV_EVENT_CONNECTED) return tls_conn_established(c, ssl);
  if (!(events & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) return 0;
  char reason[512];
  tls_bev_reason(c->bev, reason, sizeof(reason));
  if (!SSL_is_init_finished(ssl)) {
    log_warn("tls", "TLS handshake with %s on %s failed: %s", c->peer, c->listener->name,
             reason[0] ? reason : "the client closed the connection");
  } else if ((events & BEV_EVENT_ERROR) && reason[0]) {
    log_warn("tls", "TLS connection from %s on %s failed: %s", c->peer, c->listener->name, reason);
  } else {
    log_debug("tls", "connection from %s on %s closed", c->peer, c->listener->name);
  }
  ERR_clear_error();
  return -1;
}

/* ---- subjects ----------------------------------------------------------------------------- */

struct dn_out {
  char *p;
  size_t len, size;
  bool overflow;
};

static void dn_add(struct dn_out *o, const char *s, size_t n) {
  if (o->overflow || n >= o->size - o->len) {
    o->overflow = true;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static const char *dn_keyword(int nid) {
  switch (nid) {
  case NID_commonName: return "CN";
  case NID_countryName: return "C";
  case NID_localityName: return "L";
  case NID_stateOrProvinceName: return "ST";
  case NID_organizationName: return "O";
  case NID_organizationalUnitName: return "OU";
  case NID_streetAddress: return "STREET";
  case NID_domainComponent: return "DC";
  case NID_userId: return "UID";
  default: return NULL;
  }
}

static bool dn_is_string(int type) {
  return type == V_ASN1_PRINTABLESTRING || type == V_ASN1_T61STRING || type == V_ASN1_IA5STRING ||
         type == V_ASN1_GENERALSTRING || type == V_ASN1_BMPSTRING || type == V_ASN1_UTF8STRING;
}

/* One attribute type=value as sun.security.x509.AVA.toRFC2253String writes it. */
static void dn_add_ava(struct dn_out *o, const X509_NAME_ENTRY *e) {
  const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
  const ASN1_STRING *value = X509_NAME_ENTRY_get_data(e);
  const char *keyword = dn_keyword(OBJ_obj2nid(obj));
  int type = ASN1_STRING_type(value);
  char oid[128];
  if (keyword == NULL) {
    if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0) snprintf(oid, sizeof(oid), "?");
    keyword = oid;
  }
  dn_add(o, keyword, strlen(keyword));
  dn_add(o, "=", 1);
  if (keyword == oid || !dn_is_string(type) || type > 30) {
    /* '#' and the hex of the DER encoding: tag, length, content */
    int len = ASN1_STRING_length(value);
    const unsigned char *data = ASN1_STRING_get0_data(value);
    unsigned char head[6];
    size_t head_len = 0;
    head[head_len++] = (unsigned char)(type > 0 && type <= 30 ? type : V_ASN1_OCTET_STRING);
    if (len < 0x80) {
      head[head_len++] = (unsigned char)len;
    } else if (len <= 0xff) {
      head[head_len++] = 0x81;
      head[head_len++] = (unsigned char)len;
    } else {
      head[head_len++] = 0x82;
      head[head_len++] = (unsigned char)(len >> 8);
      head[head_len++] = (unsigned char)len;
    }
    dn_add(o, "#", 1);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < head_len + (size_t)len; i++) {
      unsigned char b = i < head_len ? head[i] : data[i - head_len];
      char pair[2] = {hex[b >> 4], hex[b & 15]};
      dn_add(o, pair, 2);
    }
    return;
  }
  unsigned char *utf8 = NULL;
  int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) {
    ERR_clear_error();
    o->overflow = true;
    return;
  }
  /* escape ,=+<>#;"\ and NUL, then the leading and trailing spaces (and CRs) */
  size_t lead = 0, trail = (size_t)n;
  while (lead < (size_t)n && (utf8[lead] == ' ' || utf8[lead] == '\r')) lead++;
  while (trail > lead && (utf8[trail - 1] == ' ' || utf8[trail - 1] == '\r')) trail--;
  for (size_t i = 0; i < (size_t)n; i++) {
    char ch = (char)utf8[i];
    if (ch == '\0') {
      dn_add(o, "\\00", 3);
      continue;
    }
    if (strchr(",=+<>#;\"\\", ch) != NULL || i < lead || i >= trail) dn_add(o, "\\", 1);
    dn_add(o, &ch, 1);
  }
  OPENSSL_free(utf8);
}

int tls_dn_format(const X509_NAME *name, char *out, size_t size) {
  struct dn_out o = {out, 0, size, size == 0};
  if (size > 0) out[0] = '\0';
  int count = X509_NAME_entry_count(name);
  /* RDNs last first; the attributes of a multi-valued RDN joined with '+' */
  for (int i = count - 1; i >= 0;) {
    int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));
    int first = i;
    while (first > 0 && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, first - 1)) == set) first--;
    if (i != count - 1) dn_add(&o, ",", 1);
    for (int j = first; j <= i; j++) {
      if (j != first) dn_add(&o, "+", 1);
      dn_add_ava(&o, X509_NAME_get_entry(name, j));
    }
    i = first - 1;
  }
  return o.overflow ? -1 : 0;
}
