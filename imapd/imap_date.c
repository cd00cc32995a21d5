/*
 * imap_date: IMAP date and date-time strings (imap_date.h).
 *
 * Days are counted from the civil calendar directly (the well-known
 * days-from-civil arithmetic), so neither timegm() nor the TZ
 * environment is involved and the result is the same in every zone.
 *
 * SECURITY: the strings come from clients (SEARCH, APPEND). Fields are
 * read digit by digit with fixed widths and range checks; no sscanf, no
 * overflow.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_date.h"

/* 1900-01-02 and 9999-12-30, so that no zone moves out of range. */
#define IMAP_DATE_MIN ((time_t)-2208902400LL)
#define IMAP_DATE_MAX ((time_t)253402128000LL)

static const char *const imap_months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool imap_date_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int imap_date_mdays(int y, int m)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && imap_date_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of y-m-d (proleptic Gregorian). */
static int64_t imap_date_days(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void imap_date_civil(int64_t z, int *y_r, int *m_r, int *d_r)
{
	int64_t era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = (int)(y + (*m_r <= 2));
}

/* n digits at *sp into *v_r. */
static bool imap_date_digits(const char **sp, int n, int *v_r)
{
	const char *s = *sp;
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*v_r = v;
	return true;
}

/* "Feb-1994" after the day's '-': month and year, then the rest. */
static bool imap_date_month_year(const char **sp, int day, int *y_r,
				 int *m_r)
{
	const char *s = *sp;
	int m, y;

	for (m = 0; m < 12; m++)
		if (strncasecmp(s, imap_months[m], 3) == 0)
			break;
	if (m == 12 || s[3] != '-')
		return false;
	s += 4;
	if (!imap_date_digits(&s, 4, &y) || y < 1900)
		return false;
	if (day < 1 || day > imap_date_mdays(y, m + 1))
		return false;
	*sp = s;
	*y_r = y;
	*m_r = m + 1;
	return true;
}

bool imap_date_parse_day(const char *s, time_t *t_r)
{
	int d, m, y;

	if (!imap_date_digits(&s, 1, &d))
		return false;
	if (*s != '-') {
		int d2;

		if (!imap_date_digits(&s, 1, &d2))
			return false;
		d = d * 10 + d2;
	}
	if (*s++ != '-' || !imap_date_month_year(&s, d, &y, &m) || *s != '\0')
		return false;
	*t_r = (time_t)(imap_date_days(y, m, d) * 86400);
	return true;
}

bool imap_date_parse_datetime(const char *s, time_t *t_r, int *tz_r)
{
	int d, m, y, hh, mm, ss, zh, zm, sign;

	if (*s == ' ') {
		s++;
		if (!imap_date_digits(&s, 1, &d))
			return false;
	} else if (!imap_date_digits(&s, 2, &d)) {
		return false;
	}
	if (*s++ != '-' || !imap_date_month_year(&s, d, &y, &m) ||
	    *s++ != ' ')
		return false;
	if (!imap_date_digits(&s, 2, &hh) || *s++ != ':' ||
	    !imap_date_digits(&s, 2, &mm) || *s++ != ':' ||
	    !imap_date_digits(&s, 2, &ss) || *s++ != ' ')
		return false;
	if (hh > 23 || mm > 59 || ss > 60)
		return false;
	if (*s != '+' && *s != '-')
		return false;
	sign = *s++ == '-' ? -1 : 1;
	if (!imap_date_digits(&s, 2, &zh) || !imap_date_digits(&s, 2, &zm) ||
	    *s != '\0' || zm > 59)
		return false;
	*tz_r = sign * (zh * 60 + zm);
	*t_r = (time_t)(imap_date_days(y, m, d) * 86400 + hh * 3600 +
			mm * 60 + ss - *tz_r * 60);
	return true;
}

/* Skip white space and (nested) comments. */
static const char *imap_date_cfws(const char *s)
{
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '(')
			depth++;
		else if (*s == ')' && depth > 0)
			depth--;
		else if (*s == '\\' && depth > 0 && s[1] != '\0')
			s++;
		else if (depth == 0 && *s != ' ' && *s != '\t' &&
			 *s != '\r' && *s != '\n')
			break;
	}
	return s;
}

/* Up to max digits (at least one) into *v_r. */
static bool imap_date_number(const char **sp, int max, int *v_r, int *n_r)
{
	const char *s = *sp;
	int v = 0, n = 0;

	while (n < max && *s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		n++;
	}
	if (n == 0 || (*s >= '0' && *s <= '9'))
		return false;
	*sp = s;
	*v_r = v;
	if (n_r != NULL)
		*n_r = n;
	return true;
}

/* The zone at s in minutes east of UTC. */
static bool imap_date_zone(const char *s, int *tz_r)
{
	static const struct {
		const char *name;
		int hours;
	} names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "UTC", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	int zh, zm, sign;
	size_t len = 0;

	if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (!imap_date_digits(&s, 2, &zh) ||
		    !imap_date_digits(&s, 2, &zm) || zm > 59)
			return false;
		*tz_r = sign * (zh * 60 + zm);
		return true;
	}
	while ((s[len] >= 'A' && s[len] <= 'Z') ||
	       (s[len] >= 'a' && s[len] <= 'z'))
		len++;
	*tz_r = 0;
	if (len == 0)
		return true;	/* no zone: UTC */
	if (len == 1)
		return true;	/* military: RFC 5322 4.3 says +0000 */
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (strlen(names[i].name) == len &&
		    strncasecmp(s, names[i].name, len) == 0) {
			*tz_r = names[i].hours * 60;
			return true;
		}
	return true;	/* an unknown name: RFC 5322 says -0000 */
}

bool imap_date_parse_rfc5322(const char *s, time_t *t_r)
{
	int d, m, y, ny, hh, mm, ss = 0, tz;

	s = imap_date_cfws(s);
	/* An optional day of week. */
	if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
			s++;
		s = imap_date_cfws(s);
		if (*s != ',')
			return false;
		s = imap_date_cfws(s + 1);
	}
	if (!imap_date_number(&s, 2, &d, NULL))
		return false;
	s = imap_date_cfws(s);
	for (m = 0; m < 12; m++)
		if (strncasecmp(s, imap_months[m], 3) == 0)
			break;
	if (m == 12)
		return false;
	s = imap_date_cfws(s + 3);
	if (!imap_date_number(&s, 4, &y, &ny))
		return false;
	if (ny == 2)
		y += y < 50 ? 2000 : 1900;
	else if (ny == 3)
		y += 1900;
	if (y < 1900 || d < 1 || d > imap_date_mdays(y, m + 1))
		return false;
	s = imap_date_cfws(s);
	if (!imap_date_number(&s, 2, &hh, NULL))
		return false;
	s = imap_date_cfws(s);
	if (*s++ != ':')
		return false;
	s = imap_date_cfws(s);
	if (!imap_date_number(&s, 2, &mm, NULL))
		return false;
	s = imap_date_cfws(s);
	if (*s == ':') {
		s = imap_date_cfws(s + 1);
		if (!imap_date_number(&s, 2, &ss, NULL))
			return false;
		s = imap_date_cfws(s);
	}
	if (hh > 23 || mm > 59 || ss > 60 || !imap_date_zone(s, &tz))
		return false;
	*t_r = (time_t)(imap_date_days(y, m + 1, d) * 86400 + hh * 3600 +
			mm * 60 + ss - tz * 60);
	return true;
}

void imap_date_format(time_t t, int tz, struct str *out)
{
	int64_t local, days, secs;
	int y, m, d, atz = abs(tz);

	if (atz > 23 * 60 + 59)
		tz = atz = 0;
	/* Keep the year within the four digits of the grammar. */
	if (t < IMAP_DATE_MIN)
		t = IMAP_DATE_MIN;
	if (t > IMAP_DATE_MAX)
		t = IMAP_DATE_MAX;
	local = (int64_t)t + tz * 60;
	days = local / 86400;
	secs = local % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	imap_date_civil(days, &y, &m, &d);
	str_printf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", d,
		   imap_months[m - 1], y, (int)(secs / 3600),
		   (int)(secs / 60 % 60), (int)(secs % 60),
		   tz < 0 ? '-' : '+', atz / 60, atz % 60);
}
