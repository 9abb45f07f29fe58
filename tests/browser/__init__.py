"""Browser tests: Debian's Chromium, driven by Playwright, against real workstation pods."""
