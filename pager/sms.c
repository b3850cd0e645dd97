/*
 * sms.c: the SMS text: one 160-septet GSM-7 segment saying the state, the
 * server, the time and a short reason; characters GSM-7 lacks become '?'.
 * SMS goes out through an email-to-SMS gateway address (the contact's
 * `sms` holds an '@'), or to a phone number through the HTTP SMS API
 * (smsapi.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pager.h"

/* The GSM 03.38 basic set beyond ASCII, as UTF-8, one septet each. */
static const char *gsm_latin[] = {
	"£", "¥", "è", "é", "ù", "ì", "ò", "Ç", "Ø", "ø", "Å", "å", "Δ", "Φ",
	"Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "Æ", "æ", "ß", "É", "¤",
	"¡", "Ä", "Ö", "Ñ", "Ü", "§", "¿", "ä", "ö", "ñ", "ü", "à", NULL
};

/* 1 if the contact's sms value is a gateway email address (else a phone
 * number for the SMS API). */
int
sms_is_gateway(const char *sms)
{
	return strchr(sms, '@') != NULL;
}

/* Septets an ASCII character costs: 1, 2 (the escape table) or 0 (not in
 * GSM-7). */
static int
ascii_septets(unsigned char c)
{
	if (c == '\n' || c == '\r')
		return 1;
	if (c < 0x20 || c == 0x7f || c == '`')
		return 0;
	if (strchr("^{}\\[~]|", c) != NULL)
		return 2;
	return 1;
}

/* Length of the UTF-8 sequence at s (1 for a stray byte). */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;

	if (*s < 0xc0)
		return 1;
	n = *s < 0xe0 ? 2 : *s < 0xf0 ? 3 : 4;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

/*
 * Copy utf8 into out keeping what GSM-7 has, '?' for the rest, and stop
 * before max_septets would be passed (or out is full). Returns the septets
 * used.
 */
size_t
sms_gsm7(const char *utf8, char *out, size_t outlen, size_t max_septets)
{
	const unsigned char	*s = (const unsigned char *)utf8;
	size_t			 o = 0, used = 0, n, i;
	int			 cost;

	if (outlen == 0)
		return 0;
	while (*s != '\0') {
		n = utf8_len(s);
		if (n == 1 && *s < 0x80) {
			cost = ascii_septets(*s);
			if (cost == 0) {
				cost = 1;
				if (used + 1 > max_septets || o + 1 >= outlen)
					break;
				out[o++] = '?';
			} else {
				if (used + cost > max_septets ||
				    o + 1 >= outlen)
					break;
				out[o++] = *s;
			}
			used += cost;
			s++;
			continue;
		}
		for (i = 0; gsm_latin[i] != NULL; i++)
			if (strlen(gsm_latin[i]) == n &&
			    memcmp(gsm_latin[i], s, n) == 0)
				break;
		if (used + 1 > max_septets)
			break;
		if (gsm_latin[i] != NULL) {
			if (o + n >= outlen)
				break;
			memcpy(out + o, s, n);
			o += n;
		} else {
			if (o + 1 >= outlen)
				break;
			out[o++] = '?';
		}
		used++;
		s += n;
	}
	out[o] = '\0';
	return used;
}

/* "DOWN shop/web1 01:02 UTC: connect: Connection refused", one segment. */
void
sms_text(const struct spool_event *ev, int flap_stopped, char *out,
    size_t len)
{
	struct tm	 tm;
	time_t		 t = ev->time;
	char		 raw[600], subj[512], hm[16] = "";

	format_subject(ev, flap_stopped, subj, sizeof(subj));
	if (gmtime_r(&t, &tm) != NULL)
		strftime(hm, sizeof(hm), "%H:%M UTC", &tm);
	/* "01:02 UTC DOWN shop/web1: reason": time first, so a long reason
	 * is what gets cut. */
	snprintf(raw, sizeof(raw), "%s %s", hm, subj);
	sms_gsm7(raw, out, len, SMS_MAX);
}
