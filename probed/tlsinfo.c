/*
 * tlsinfo.c: facts of a TLS handshake for the checks' verdicts. OpenSSL's
 * message callback sees the server hello (its protocol version) and the
 * verify callback sees each certificate of the chain (the peer's expiry,
 * the first verification error); neither changes what OpenSSL decides.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "conf.h"
#include "result.h"

#include "tlsinfo.h"

#define SERVER_HELLO	2	/* handshake message type */

static int	 ex_index(int);
static struct tlsinfo *info_of(SSL *);
static void	 on_msg(int, int, int, const void *, size_t, SSL *, void *);
static int	 on_verify(int, X509_STORE_CTX *);
static void	 on_info(const SSL *, int, int);
static void	 peer_expiry(struct tlsinfo *, X509 *);
static const char *version_name(int);
static void	 date(time_t, char *, size_t);

/*
 * The ex_data slots that point an SSL (conn.c's) or an SSL_CTX (curl's,
 * one per connection) at its info; each class has its own indexes.
 */
static int
ex_index(int class)
{
	static int ssl_idx = -1, ctx_idx = -1;
	int *idx = class == CRYPTO_EX_INDEX_SSL ? &ssl_idx : &ctx_idx;

	if (*idx == -1)
		*idx = CRYPTO_get_ex_new_index(class, 0, NULL, NULL, NULL,
		    NULL);
	return *idx;
}

static struct tlsinfo *
info_of(SSL *ssl)
{
	struct tlsinfo *ti;

	if ((ti = SSL_get_ex_data(ssl, ex_index(CRYPTO_EX_INDEX_SSL))) != NULL)
		return ti;
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    ex_index(CRYPTO_EX_INDEX_SSL_CTX));
}

/*
 * Every handshake message read or written: keep the version of the
 * server hello (its legacy_version field; TLS 1.3 says 1.2 there and
 * is never refused for its version).
 */
static void
on_msg(int write_p, int version, int type, const void *buf, size_t len,
    SSL *ssl, void *arg)
{
	struct tlsinfo		*ti = arg;
	const unsigned char	*b = buf;

	(void)version;
	(void)ssl;
	if (write_p || type != SSL3_RT_HANDSHAKE || len < 6 ||
	    b[0] != SERVER_HELLO || ti == NULL)
		return;
	ti->version = b[4] << 8 | b[5];
}

/*
 * Each certificate of the chain as OpenSSL verifies it: the peer's
 * (depth 0) expiry, and the first error. Returns OpenSSL's own verdict.
 */
static int
on_verify(int ok, X509_STORE_CTX *x)
{
	SSL		*ssl;
	struct tlsinfo	*ti;
	X509		*cert;

	ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl == NULL || (ti = info_of(ssl)) == NULL)
		return ok;
	if (X509_STORE_CTX_get_error_depth(x) == 0 &&
	    (cert = X509_STORE_CTX_get_current_cert(x)) != NULL)
		peer_expiry(ti, cert);
	if (!ok && ti->verify_err == 0)
		ti->verify_err = X509_STORE_CTX_get_error(x);
	return ok;
}

/* Keep cert's expiry as the peer's. */
static void
peer_expiry(struct tlsinfo *ti, X509 *cert)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
		ti->not_after = timegm(&tm);
		ti->have_cert = 1;
	}
}

/*
 * A handshake done: a resumed session verifies nothing, so its peer
 * certificate (kept in the session) is read here.
 */
static void
on_info(const SSL *ssl, int where, int ret)
{
	struct tlsinfo	*ti;
	X509		*cert;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE) ||
	    (ti = info_of((SSL *)ssl)) == NULL || ti->have_cert)
		return;
	if ((cert = SSL_get0_peer_certificate(ssl)) != NULL)
		peer_expiry(ti, cert);
}

/* Watch the handshake of ssl (conn.c's own SSL) into ti. */
void
tlsinfo_attach(struct tlsinfo *ti, SSL *ssl)
{
	memset(ti, 0, sizeof(*ti));
	SSL_set_ex_data(ssl, ex_index(CRYPTO_EX_INDEX_SSL), ti);
	SSL_set_msg_callback(ssl, on_msg);
	SSL_set_msg_callback_arg(ssl, ti);
	SSL_set_verify(ssl, SSL_get_verify_mode(ssl), on_verify);
	SSL_set_info_callback(ssl, on_info);
}

/*
 * Watch every handshake of ctx into ti: for curl, which makes an SSL_CTX
 * per connection and hands it to its SSL_CTX_FUNCTION once its own
 * options, the verification mode among them, are set.
 */
void
tlsinfo_attach_ctx(struct tlsinfo *ti, SSL_CTX *ctx)
{
	memset(ti, 0, sizeof(*ti));
	SSL_CTX_set_ex_data(ctx, ex_index(CRYPTO_EX_INDEX_SSL_CTX), ti);
	SSL_CTX_set_msg_callback(ctx, on_msg);
	SSL_CTX_set_msg_callback_arg(ctx, ti);
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), on_verify);
	SSL_CTX_set_info_callback(ctx, on_info);
}

static const char *
version_name(int v)
{
	switch (v) {
	case SSL3_VERSION:
		return "SSLv3";
	case TLS1_VERSION:
		return "TLSv1.0";
	case TLS1_1_VERSION:
		return "TLSv1.1";
	}
	return NULL;
}

static void
date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "?");
}

/*
 * Why a handshake or its verification failed, in words that name the
 * cause: an old protocol version the server insists on, an expired
 * certificate (with its date), a name the certificate does not hold (a
 * chain that verified while the connection was still refused can only
 * have failed on the name: curl checks the name itself, after OpenSSL),
 * or OpenSSL's reason. host is the name checked; verify_failed says the
 * failure was the certificate's (else only the version is a clue).
 * Writes buf and returns 1, or returns 0 when the handshake left no clue.
 */
int
tlsinfo_failure(const struct tlsinfo *ti, const char *host,
    int verify_failed, char *buf, size_t len)
{
	char		 d[32];
	const char	*v;

	if (ti->version != 0 && (v = version_name(ti->version)) != NULL) {
		snprintf(buf, len, "TLS handshake failed: server offers only "
		    "%s", v);
		return 1;
	}
	if (!verify_failed)
		return 0;
	switch (ti->verify_err) {
	case 0:
		if (!ti->have_cert)
			return 0;
		snprintf(buf, len, "TLS certificate name mismatch: the "
		    "certificate does not name %s", host);
		return 1;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		date(ti->not_after, d, sizeof(d));
		snprintf(buf, len, "TLS certificate expired on %s", d);
		return 1;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(buf, len, "TLS certificate name mismatch: the "
		    "certificate does not name %s", host);
		return 1;
	}
	snprintf(buf, len, "TLS certificate not trusted: %s",
	    X509_verify_cert_error_string(ti->verify_err));
	return 1;
}

/*
 * `cert-days` on a check that passed so far: with it set, a certificate
 * already expired is critical (also with `insecure`), one with fewer
 * days left than the critical threshold critical, than the warning one
 * a warning. what opens the message ("HTTP 200"). Returns 1 when it set
 * r, 0 when the certificate is fine or cert-days is not set.
 */
int
tlsinfo_cert_days(const struct tlsinfo *ti, const struct server_conf *sc,
    struct check_result *r, const char *what)
{
	unsigned long	 warn = sc->o.cert_days_warn;
	unsigned long	 crit = sc->o.cert_days_crit;
	time_t		 now = time(NULL);
	long long	 days;
	char		 d[32];

	if (ti->have_cert)
		r->cert_not_after = (int64_t)ti->not_after;
	if ((warn == 0 && crit == 0) || !ti->have_cert)
		return 0;
	date(ti->not_after, d, sizeof(d));
	if (ti->not_after <= now) {
		result_set(r, CHECK_CRITICAL, "%s, certificate expired on %s",
		    what, d);
		return 1;
	}
	days = (long long)(ti->not_after - now) / 86400;
	if (days >= (long long)warn && days >= (long long)crit)
		return 0;
	result_set(r, days < (long long)crit ? CHECK_CRITICAL : CHECK_WARNING,
	    "%s, certificate expires in %lld day%s (%s)", what, days,
	    days == 1 ? "" : "s", d);
	return 1;
}
