"""Infrastructure every domain stands on: database, tenancy context, time, ids, errors, logs."""
