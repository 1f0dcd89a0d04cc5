"""End-to-end tests: Chromium against `voltlane run`."""
