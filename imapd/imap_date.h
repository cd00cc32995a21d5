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
/* Append t as a quoted date-time in the zone tz (minutes east of UTC):
 * "\"01-Feb-1994 21:52:25 -0800\"". */
void imap_date_format(time_t t, int tz, struct str *out);

#endif
