"""Identity: staff users and roles, their sessions and sign-in, platform admins."""
