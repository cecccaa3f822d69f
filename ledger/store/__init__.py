"""Where the log lives: the append pipeline, tables and migrations, snapshots, group commit, projection, packing, recovery."""
