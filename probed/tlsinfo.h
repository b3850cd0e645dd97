/*
 * tlsinfo.h: what a TLS check learns of the server during the handshake
 * (the protocol version it chose, its certificate's expiry, why the
 * certificate failed verification), gathered through OpenSSL's callbacks
 * for both the curl checks and conn.c, and the verdicts drawn from it:
 * messages that name the failure, and `cert-days`.
 */
#ifndef TOCSIN_TLSINFO_H
#define TOCSIN_TLSINFO_H

#include <time.h>

#include <openssl/ssl.h>

struct check_result;
struct server_conf;

struct tlsinfo {
	int		 version;	/* the server hello's; 0 before */
	int		 verify_err;	/* first X509_V_ERR_*; 0 none */
	int		 have_cert;	/* not_after is the peer's */
	time_t		 not_after;	/* peer certificate, Unix s */
};

void		 tlsinfo_attach(struct tlsinfo *, SSL *);
void		 tlsinfo_attach_ctx(struct tlsinfo *, SSL_CTX *);
int		 tlsinfo_failure(const struct tlsinfo *, const char *host,
		    int verify_failed, char *buf, size_t len);
int		 tlsinfo_cert_days(const struct tlsinfo *,
		    const struct server_conf *, struct check_result *,
		    const char *what);

#endif
