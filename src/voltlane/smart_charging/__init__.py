"""Smart charging: sites (grid connections and nested circuits), their readings and schedules,
and the allocator that divides a site's current among its charging sessions."""
