"""Where backups are stored: the `BackupTarget` port and its adapters (a local directory, any
S3-compatible storage, an in-memory twin), plus the stream encryption a backup may pass through."""
