"""Shared plumbing: settings, database helpers, migrations, the `eldercare` CLI entry point."""
