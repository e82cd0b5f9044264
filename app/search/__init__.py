"""Search. For now a plain database query; the Whoosh index (search issue) lives here too."""
