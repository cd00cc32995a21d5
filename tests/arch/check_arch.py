#!/usr/bin/env python3
"""check_arch: keep the layers of the tree honest (make check-arch).

1. common/ is layered (common/Makefile.inc): a file in a layer includes
   only its own layer's headers and those of lower layers; layers of the
   same rank (tables, mail) do not include each other.
2. A daemon folder includes its own headers and common/'s (and the
   mailbox store's, where it is a client of it), never another daemon
   folder's, and never by a relative path.
3. A pre-auth front end (the *-login programs) links no lookup-table,
   password or mailbox code: nm shows none of their symbols.

Exits 0 when every rule holds, 1 with one line per violation otherwise.
Run from the build tree (CORREO_SRCDIR, CORREO_BUILDDIR) or with
--srcdir/--builddir.
"""
import argparse
import os
import re
import subprocess
import sys

RANK = {"util": 0, "ipc": 1, "tables": 2, "mail": 2, "security": 3,
        "login": 4}
# Libraries above common/ that daemon folders may use.
SHARED_DIRS = {"store": 5}
DAEMON_DIRS = ["master", "smtpd", "qmgr", "pickup", "delivery", "auth",
               "pop3d", "imapd", "tools", "anvil", "postscreen",
               "metrics"]
# Symbol prefixes a pre-auth process must not contain: tables, Berkeley
# DB, crypt(3), the password table reader, mailbox code.
FORBIDDEN_IN_LOGIN = re.compile(
    r"^(dict_|db_create|db_env|crypt|auth_passdb|passdb_|maildir_|"
    r"uidlist_|store_|queue_file_|resolve_)")
LOGIN_PROGRAMS = ["libexec/pop3-login", "libexec/imap-login",
                  "libexec/postscreen"]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(folder):
    for root, _dirs, files in os.walk(folder):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(root, f)


def header_owner(src):
    """Map each header name in common/ and shared dirs to its folder."""
    owner = {}
    common = os.path.join(src, "common")
    for layer in os.listdir(common):
        d = os.path.join(common, layer)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith(".h"):
                    owner[f] = "common/" + layer
    for shared in SHARED_DIRS:
        d = os.path.join(src, shared)
        if os.path.isdir(d):
            for f in os.listdir(d):
                if f.endswith(".h"):
                    owner.setdefault(f, shared)
    return owner


def check_common(src, owner, errors):
    common = os.path.join(src, "common")
    for layer in sorted(os.listdir(common)):
        d = os.path.join(common, layer)
        if not os.path.isdir(d):
            continue
        if layer not in RANK:
            errors.append(f"common/{layer}: a layer without a rank "
                          "(add it to tests/arch/check_arch.py)")
            continue
        for path in sources(d):
            rel = os.path.relpath(path, src)
            for inc in INCLUDE.findall(open(path, errors="replace").read()):
                if inc == "config.h":
                    continue
                base = os.path.basename(inc)
                if "/" in inc or base not in owner:
                    errors.append(f"{rel}: includes \"{inc}\", "
                                  "not a common/ header by its bare name")
                    continue
                target = owner[base].split("/", 1)[-1]
                if target == layer:
                    continue
                tr = RANK.get(target, 99)
                if tr > RANK[layer] or (tr == RANK[layer]):
                    errors.append(f"{rel}: layer {layer} includes "
                                  f"{owner[base]}/{base} (not below it)")


def check_daemons(src, owner, errors):
    for daemon in DAEMON_DIRS:
        d = os.path.join(src, daemon)
        if not os.path.isdir(d):
            continue
        own = {f for f in os.listdir(d) if f.endswith(".h")}
        for path in sources(d):
            rel = os.path.relpath(path, src)
            for inc in INCLUDE.findall(open(path, errors="replace").read()):
                if inc == "config.h" or inc in own:
                    continue
                if "/" in inc:
                    errors.append(f"{rel}: includes \"{inc}\" by a path")
                elif inc not in owner:
                    errors.append(f"{rel}: includes \"{inc}\", a header "
                                  "of another daemon folder")


def check_login(build, errors):
    for prog in LOGIN_PROGRAMS:
        path = os.path.join(build, prog)
        if not os.path.exists(path):
            continue
        out = subprocess.run(["nm", "--defined-only", "-j", path],
                             capture_output=True, text=True)
        if out.returncode != 0:
            errors.append(f"{prog}: nm failed: {out.stderr.strip()}")
            continue
        bad = sorted({s for s in out.stdout.split()
                      if FORBIDDEN_IN_LOGIN.match(s)})
        if bad:
            errors.append(f"{prog}: a pre-auth front end links "
                          f"{', '.join(bad[:8])}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--srcdir", default=os.environ.get("CORREO_SRCDIR",
                    os.path.join(os.path.dirname(__file__), "..", "..")))
    ap.add_argument("--builddir", default=os.environ.get("CORREO_BUILDDIR",
                    "."))
    args = ap.parse_args()
    owner = header_owner(args.srcdir)
    errors = []
    check_common(args.srcdir, owner, errors)
    check_daemons(args.srcdir, owner, errors)
    check_login(args.builddir, errors)
    for e in errors:
        print("check-arch: " + e)
    if errors:
        return 1
    print("check-arch: layers, daemon folders and front ends are clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
