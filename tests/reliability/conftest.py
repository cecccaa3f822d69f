"""The API fixtures (the app in-process over the test's ledger, a client, API keys per party), for the
reliability tests that drive the app without a server process."""

from tests.api.conftest import auth, client, world  # noqa: F401 - fixtures
