"""The JSON templates of Conduit API: DRF serializers that decide the shape of every request and
response, and through drf-spectacular, of the schema."""
