"""The project's test support (testing/) as fixtures for every app's tests."""

pytest_plugins = ["testing.fixtures", "testing.browser"]
