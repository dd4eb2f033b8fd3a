"""The production front: the launcher that runs nginx before gunicorn, its nginx configuration
template, the container's entrypoint and health check."""
