/*
 * imap-park: the park process of one mailbox owner's idle IMAP
 * sessions (imapd_parkd.c; correo-imapd(8)). Started by the imapd
 * spawner's child as the user, with its listening socket on fd 0 and
 * its parameters on fd 1; never by hand.
 *
 * SECURITY: as imapd_parkd.c: runs as the mailbox owner (never root),
 * holds only that user's clients.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "imapd.h"

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--park") != 0) {
		fprintf(stderr, "imap-park: started by imapd only\n");
		return 64;
	}
	imapd_park_main();
}
