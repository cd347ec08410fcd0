"""Herald's storage on PostgreSQL (issue 13): schema, migrations and work-sharing leases."""
