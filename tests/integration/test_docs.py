#!/usr/bin/env python3
"""Every correo.conf parameter is documented in correo.conf(5).

The key table (common/cfg_keys.c) is the single source of parameters;
`correo config -d` prints it. A parameter missing from the man page is a
documentation bug, and this test names it.
"""
import os
import subprocess
import sys
import unittest

BUILD = os.environ.get("CORREO_BUILDDIR", ".")
SRC = os.environ.get("CORREO_SRCDIR", ".")


class DocsTest(unittest.TestCase):
    def test_every_parameter_in_man_page(self):
        out = subprocess.run([os.path.join(BUILD, "correo"), "config", "-d"],
                             check=True, capture_output=True,
                             text=True).stdout
        keys = [line.split("=", 1)[0].strip() for line in out.splitlines()
                if "=" in line]
        self.assertGreater(len(keys), 30)
        with open(os.path.join(SRC, "doc/man/correo.conf.5")) as f:
            page = f.read()
        missing = [k for k in keys if "\\fB%s\\fP" % k not in page]
        self.assertEqual(missing, [], "not in correo.conf(5): %s"
                         % ", ".join(missing))


if __name__ == "__main__":
    unittest.main()
