/* TLS for SSL listeners: OpenSSL under libevent's OpenSSL bufferevents, so the framing code reads
 * and writes plaintext whatever the listener. One tls_ctx per SSL listener, built at start-up from
 * the ssl.* keys (listener.name.<name>.ssl.* wins for that listener, as in Kafka).
 *
 * Connection states on an SSL listener: HANDSHAKE (bufferevent accepting; nothing is read) ->
 * OPEN (BEV_EVENT_CONNECTED: tls_conn_event sets the principal; frames flow) -> closed. A failed
 * handshake, a refused or unmapped client certificate, or a TLS error closes the connection with
 * a warning naming the peer and OpenSSL's reason. */
#ifndef QUIRE_BROKER_TLS_H
#define QUIRE_BROKER_TLS_H

#include <stddef.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/x509.h>

#include "config.h"

struct tls_ctx;
struct connection;

/* The TLS context of the SSL listener named listener_name (upper case, as in struct
 * config_listener). On a bad or missing setting returns -1 with a message naming the key. */
int tls_ctx_create(struct tls_ctx **out, const struct config *cfg, const char *listener_name,
                   char *err, size_t err_size);
void tls_ctx_destroy(struct tls_ctx *tls);

/* A bufferevent that does the server side of the handshake on fd and closes fd and the SSL object
 * when freed. NULL on failure, and then fd is still the caller's to close. */
struct bufferevent *tls_bufferevent_new(struct tls_ctx *tls, struct event_base *base,
                                        evutil_socket_t fd);

/* The TLS part of a connection's event callback (c on an SSL listener): on BEV_EVENT_CONNECTED
 * derives c->principal from the client certificate; on errors and EOF logs why. Returns -1 when
 * the connection must be closed now, 0 to carry on. */
int tls_conn_event(struct connection *c, short events);

/* The subject as Java's X500Principal.getName() (RFC 2253) writes it, which is what Kafka maps:
 * "CN=client,OU=Eng,O=Quire,C=US" (last RDN first; CN C L ST O OU STREET DC UID by keyword, other
 * attributes as OID=#hex of the DER value; ,=+<>#;"\ and outer spaces escaped). Returns -1 when
 * it does not fit in size. */
int tls_dn_format(const X509_NAME *name, char *out, size_t size);

#endif
