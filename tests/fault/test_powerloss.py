#!/usr/bin/env python3
"""powerloss (fast subset): every third simulated power cut of the
receive -> deliver path, audited (tests/fault/powerloss.py; `make
crashtest` runs every cut)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faults  # noqa: E402
import harness  # noqa: E402
import powerloss  # noqa: E402


class PowerLoss(unittest.TestCase):

    def test_cuts(self):
        if not os.path.exists(faults.SHIM):
            self.skipTest(faults.SHIM + " not built")
        every = int(os.environ.get("CORREO_POWERLOSS_EVERY", "3"))
        results = powerloss.run(report=lambda s: None, every=every)
        self.assertGreater(len(results), 3, "too few cuts recorded")
        # Cuts after the first 250 exist, so the audit is not vacuous.
        self.assertTrue(any(acked for _, acked, _, _ in results))
        bad = ["%s: %s" % (label, "; ".join(p))
               for label, _, _, p in results if p]
        self.assertEqual(bad, [], "\n".join(bad))


if __name__ == "__main__":
    harness.main()
