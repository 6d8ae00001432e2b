"""Browser tests of the shop-floor pages (Playwright on Chromium)."""
