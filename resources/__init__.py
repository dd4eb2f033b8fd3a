"""The Conduit API application: models, reads, writes, views and routes."""
