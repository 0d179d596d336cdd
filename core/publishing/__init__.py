"""Publishing to WordPress: settings, slots, the WordPress adapter, the publishing service and its jobs."""
