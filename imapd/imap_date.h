#ifndef IMAPD_IMAP_DATE_H
#define IMAPD_IMAP_DATE_H

#include <stdbool.h>
#include <time.h>

#include "str.h"

/* IMAP dates (RFC 3501 "date" and "date-time"), computed without the
 * process's time zone: everything is UTC plus an explicit offset.
 *
 * A date is "1-Feb-1994" or "01-Feb-1994" (SEARCH BEFORE/ON/SINCE...); a
 * date-time is "01-Feb-1994 21:52:25 -0800" (APPEND, INTERNALDATE), with
 * the day as two digits or a space and one digit. Months are English
 * three-letter names in any case; years are 1900-9999; days must exist in
 * their month; the zone is within +-23:59. */

/* Midnight UTC of the date s. */
bool imap_date_parse_day(const char *s, time_t *t_r);
/* The instant of the date-time s, and its zone in minutes east of UTC. */
bool imap_date_parse_datetime(const char *s, time_t *t_r, int *tz_r);
/* The instant of an RFC 5322 Date: header value (unfolded), for SORT
 * and THREAD's sent date: "[Tue,] 1 Feb 1994 21:52:25 -0800", with
 * comments, optional seconds, two- and three-digit years (RFC 5322
 * 4.3: below 50 is 20xx, else 19xx), and the obsolete zone names (UT,
 * GMT, EST ... PDT; military letters count as +0000, as RFC 5322 says
 * they should be read). The zone may be missing (taken as UTC). False
 * when the text is no date; then the caller uses the internal date. */
bool imap_date_parse_rfc5322(const char *s, time_t *t_r);
/* Append t as a quoted date-time in the zone tz (minutes east of UTC):
 * "\"01-Feb-1994 21:52:25 -0800\"". */
void imap_date_format(time_t t, int tz, struct str *out);

#endif
